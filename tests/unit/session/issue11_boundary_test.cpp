// Issue 11, "a boundary that no request crosses into a crash": requests with JSON of the wrong
// shape or too deep, through the real router + session routes + hub over the memory store.
// Each of these threw (std::terminate in the server) or overflowed the stack before the fix.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "session/live/session_hub.hpp"
#include "session/model/json_mode.hpp"
#include "session/server/auth_gate.hpp"
#include "session/server/router.hpp"
#include "session/server/session_routes.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::server;
using auth::Right;

namespace {

std::string Deep(std::size_t depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

struct Server {
  StreamService service{MakeMemoryStore(), ServiceOptions{}};
  std::unique_ptr<live::SessionHub> hub;
  std::unique_ptr<auth::TokenKey> key;
  RouterOptions options;
  explicit Server(bool with_auth = true) {
    REQUIRE(service.Open().ok());
    hub = std::make_unique<live::SessionHub>(service);
    if (with_auth) key = std::move(auth::TokenKey::FromBytes(std::string(40, 'k')).value());
    auto cfg = std::make_shared<SessionRoutesConfig>();
    cfg->hub = hub.get();
    cfg->key = key.get();
    options.intercept = MakeSessionIntercept(cfg);
  }
  std::string Token(const std::string& sub, const std::string& pattern, std::vector<Right> rights) {
    auth::Principal p;
    p.sub = sub;
    p.grants.push_back({pattern, std::move(rights)});
    return key->Mint(p, dsx::NowMs() / 1000, 600).value();
  }
  Response Do(http::verb m, const std::string& target, const std::string& token, std::string body = "",
              const char* content_type = nullptr) {
    Request req{m, target, 11};
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (content_type) req.set(http::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
    std::optional<RouteOutcome> out;
    Route(service, options, std::move(req), [&out](RouteOutcome o) { out = std::move(o); });
    REQUIRE(out);  // the memory store answers synchronously
    REQUIRE(out->kind == RouteOutcome::Kind::kResponse);
    return std::move(out->response);
  }
  int Status(http::verb m, const std::string& target, const std::string& token, std::string body = "",
             const char* content_type = nullptr) {
    return Do(m, target, token, std::move(body), content_type).result_int();
  }
};

}  // namespace

TEST_CASE("issue 11: heartbeat with a non-string state is 400, not a crash") {
  Server s;
  const std::string agent = s.Token("agent", "work/*", {Right::kRun, Right::kRead});
  REQUIRE(s.Status(http::verb::put, "/v1/session/work/s1", agent) == 201);
  auto start = s.Do(http::verb::post, "/v1/session/work/s1/events", agent, R"({"type":"run.start","run":"r-1"})");
  REQUIRE(start.result_int() == 200);
  for (const char* body : {R"({"state":5})", R"({"state":null})", R"({"state":[]})", R"({"state":{"a":1}})",
                           R"({"state":true})", R"([1])", R"("x")", R"(5)"}) {
    CAPTURE(body);
    auto r = s.Do(http::verb::post, "/v1/session/work/s1/runs/r-1/heartbeat", agent, body);
    CHECK(r.result_int() == 400);
  }
  auto named = s.Do(http::verb::post, "/v1/session/work/s1/runs/r-1/heartbeat", agent, R"({"state":5})");
  CHECK(named.body().find("state") != std::string::npos);
  CHECK(s.Status(http::verb::post, "/v1/session/work/s1/runs/r-1/heartbeat", agent, R"({"state":"tool"})") == 204);
  CHECK(s.Status(http::verb::post, "/v1/session/work/s1/runs/r-1/heartbeat", agent, "") == 204);
}

TEST_CASE("issue 11: heartbeat checks rights before it parses the body") {
  Server s;
  const std::string other = s.Token("mallory", "other/*", {Right::kRead, Right::kRun});
  const std::string reader = s.Token("viewer", "any", {Right::kRead});
  CHECK(s.Status(http::verb::post, "/v1/session/any/runs/r-x/heartbeat", other, R"({"state":5})") == 403);
  CHECK(s.Status(http::verb::post, "/v1/session/any/runs/r-x/heartbeat", reader, R"({"state":5})") == 403);
  CHECK(s.Status(http::verb::post, "/v1/session/any/runs/r-x/heartbeat", other, Deep(100000)) == 403);
}

TEST_CASE("issue 11: heartbeat on an open server with a wrong type is 400") {
  Server s(/*with_auth=*/false);
  CHECK(s.Status(http::verb::post, "/v1/session/any/runs/r-x/heartbeat", "", R"({"state":5})") == 400);
}

TEST_CASE("issue 11: presence with wrong types is 400, not a crash") {
  Server s;
  const std::string user = s.Token("alice", "work/*", {Right::kPresence, Right::kRead});
  REQUIRE(s.Status(http::verb::put, "/v1/session/work/s1", s.Token("root", "*", {Right::kAdmin})) == 201);
  for (const char* body :
       {R"({"state":5})", R"({"kind":[]})", R"({"kind":{}})", R"({"state":false})", R"({"device":7})"}) {
    CAPTURE(body);
    CHECK(s.Status(http::verb::post, "/v1/session/work/s1/presence", user, body) == 400);
  }
  CHECK(s.Status(http::verb::post, "/v1/session/work/s1/presence", user, R"({"state":"idle"})") == 204);
  CHECK(s.Status(http::verb::post, "/v1/session/work/s1/presence", user, "") == 204);
}

TEST_CASE("issue 11: run.start with a non-boolean takeover is 400, not a throw") {
  Server s;
  const std::string agent = s.Token("agent", "work/*", {Right::kRun, Right::kRead, Right::kCancelAny});
  REQUIRE(s.Status(http::verb::put, "/v1/session/work/s1", agent) == 201);
  REQUIRE(s.Status(http::verb::post, "/v1/session/work/s1/events", agent, R"({"type":"run.start","run":"r-1"})") ==
          200);
  for (const char* v : {R"("yes")", "1", "null", "[]", "{}"}) {
    CAPTURE(v);
    const std::string body = std::string(R"({"type":"run.start","run":"r-2","data":{"takeover":)") + v + "}}";
    auto r = s.Do(http::verb::post, "/v1/session/work/s1/events", agent, body);
    CHECK(r.result_int() == 400);
    CHECK(r.body().find("takeover") != std::string::npos);
  }
  // The same inside a batch.
  CHECK(
      s.Status(
          http::verb::post, "/v1/session/work/s1/events", agent,
          R"([{"type":"run.start","run":"r-3","lane":"b"},{"type":"run.start","run":"r-4","lane":"b","data":{"takeover":"yes"}}])") ==
      400);
  // A boolean still works.
  CHECK(s.Status(http::verb::post, "/v1/session/work/s1/events", agent,
                 R"({"type":"run.start","run":"r-5","data":{"takeover":true}})") == 200);
}

TEST_CASE("issue 11: a deep event body with a token without rights on the session is 403 before parsing") {
  Server s;
  const std::string root = s.Token("root", "*", {Right::kAdmin});
  REQUIRE(s.Status(http::verb::put, "/v1/session/work/s1", root) == 201);
  const std::string other = s.Token("mallory", "other/*", {Right::kAppend, Right::kRun, Right::kRead});
  const std::string deep = R"({"type":"user.note","data":{"v":)" + Deep(60000) + "}}";
  CHECK(s.Status(http::verb::post, "/v1/session/work/s1/events", other, deep) == 403);
  // Before parsing: even a body that is not JSON gets the 403.
  CHECK(s.Status(http::verb::post, "/v1/session/work/s1/events", other, "not json") == 403);
  const std::string reader = s.Token("viewer", "work/*", {Right::kRead, Right::kPresence});
  CHECK(s.Status(http::verb::post, "/v1/session/work/s1/events", reader, deep) == 403);
  // With the right, the nesting limit answers 400 (and the log is untouched).
  const std::string writer = s.Token("alice", "work/*", {Right::kAppend});
  auto r = s.Do(http::verb::post, "/v1/session/work/s1/events", writer, deep);
  CHECK(r.result_int() == 400);
  CHECK(r.body().find("nest") != std::string::npos);
  CHECK(s.Status(http::verb::post, "/v1/session/work/s1/events", writer, R"({"type":"user.note"})") == 200);
}

TEST_CASE("issue 11: a 100,000-deep array appended to a JSON stream is 400, not a stack overflow") {
  Server s(/*with_auth=*/false);
  REQUIRE(s.Status(http::verb::put, "/v1/stream/j", "", "", "application/json") == 201);
  auto r = s.Do(http::verb::post, "/v1/stream/j", "", Deep(100000), "application/json");
  CHECK(r.result_int() == 400);
  CHECK(s.Status(http::verb::put, "/v1/stream/k", "", Deep(100000), "application/json") == 400);
  CHECK(s.Status(http::verb::post, "/v1/stream/j", "", "[[1,[2]],{\"a\":[3]}]", "application/json") == 204);
}

TEST_CASE("issue 11: error answers that quote client bytes stay valid JSON (no throw from the serializer)") {
  Server s;
  const std::string root = s.Token("root", "*", {Right::kAdmin});
  const std::string viewer = s.Token("viewer", "work/*", {Right::kRead});
  REQUIRE(s.Status(http::verb::put, "/v1/session/work/s1", root) == 201);
  auto r = s.Do(http::verb::get, "/v1/session/work/s1/events?offset=%ff%fe", viewer);
  CHECK(r.result_int() == 400);
  CHECK(nlohmann::json::parse(r.body(), nullptr, false).is_object());
  CHECK(s.Status(http::verb::get, "/v1/session/\xff\xfe/view", viewer) == 403);
  CHECK(s.Status(http::verb::get, "/v1/session/work/\xff/view", viewer) == 404);
}

TEST_CASE("issue 11: JsonError with invalid UTF-8 in its reason is valid JSON, not a throw") {
  // Every route's error answer goes through JsonError; a reason that quotes client bytes must
  // not make the strict serializer throw (type_error 316) out of the handler.
  Request req;
  req.version(11);
  Response res;
  CHECK_NOTHROW(res = JsonError(req, 400, "invalid offset '\xff\xfe'"));
  const auto body = nlohmann::json::parse(res.body(), nullptr, false);
  REQUIRE(body.is_object());
  CHECK(body["status"] == 400);
  CHECK(body["error"].get<std::string>().find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD
}

TEST_CASE(
    "issue 11: an event of an odd shape stored by a raw admin write makes its session unavailable, not the server") {
  Server s;
  const std::string root = s.Token("root", "*", {Right::kAdmin});
  REQUIRE(s.Status(http::verb::put, "/v1/session/work/s1", root) == 201);
  REQUIRE(s.Status(http::verb::put, "/v1/session/work/s2", root) == 201);
  // Raw writes skip the draft checks: here a run.start whose data.epoch is a string.
  REQUIRE(s.Status(http::verb::post, "/v1/stream/work/s1", root,
                   R"([{"type":"run.start","run":"r-9","lane":"main","data":{"epoch":"x","lease_ms":"y"}},
                       {"type":"run.end","run":"r-9","data":{"reason":5}},{"type":5,"msg":[],"data":{"text":7}}])",
                   "application/json") == 204);
  for (const char* target : {"/v1/session/work/s1", "/v1/session/work/s1/view", "/v1/session/work/s1/presence",
                             "/v1/session/work/s1/events?offset=-1"}) {
    CAPTURE(target);
    int status = 0;
    CHECK_NOTHROW(status = s.Status(http::verb::get, target, root));
    CHECK((status == 200 || status == 503));
  }
  int status = 0;
  CHECK_NOTHROW(status = s.Status(http::verb::post, "/v1/session/work/s1/events", root, R"({"type":"user.note"})"));
  CHECK((status == 200 || status == 503));
  CHECK(s.Status(http::verb::post, "/v1/session/work/s2/events", root, R"({"type":"user.note"})") == 200);
}
