// Session routes without sockets: path parsing and the auth gate in front of every route.
#include <doctest/doctest.h>

#include <optional>

#include "core/clock.hpp"
#include "session/live/session_hub.hpp"
#include "session/server/session_routes.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::server;

TEST_CASE("session paths") {
  SessionTarget t;
  REQUIRE(ParseSessionPath("/v1/session/chat/42", &t));
  CHECK(t.id == "chat/42");
  CHECK(t.endpoint.empty());
  REQUIRE(ParseSessionPath("/v1/session/chat/42/events", &t));
  CHECK((t.id == "chat/42" && t.endpoint == "events"));
  REQUIRE(ParseSessionPath("/v1/session/a/ws", &t));
  CHECK((t.id == "a" && t.endpoint == "ws"));
  REQUIRE(ParseSessionPath("/v1/session/a/b/runs/r-1/heartbeat", &t));
  CHECK((t.id == "a/b" && t.endpoint == "heartbeat" && t.run == "r-1"));
  CHECK_FALSE(ParseSessionPath("/v1/session/", &t));
  CHECK_FALSE(ParseSessionPath("/v1/session/a//b", &t));
  CHECK_FALSE(ParseSessionPath("/v1/session/../x", &t));
  CHECK_FALSE((ParseSessionPath("/v1/session/events", &t) && t.endpoint == "events"));
  CHECK_FALSE(ParseSessionPath("/v1/stream/a", &t));
}

namespace {

struct Gate {
  StreamService service{MakeMemoryStore(), ServiceOptions{}};
  std::unique_ptr<live::SessionHub> hub;
  std::unique_ptr<auth::TokenKey> key;
  Intercept intercept;
  Gate() {
    REQUIRE(service.Open().ok());
    hub = std::make_unique<live::SessionHub>(service);
    key = std::move(auth::TokenKey::FromBytes(std::string(40, 'k')).value());
    auto cfg = std::make_shared<SessionRoutesConfig>();
    cfg->hub = hub.get();
    cfg->key = key.get();
    intercept = MakeSessionIntercept(cfg);
  }
  std::string Token(const std::string& sub, std::vector<auth::Right> rights) {
    auth::Principal p;
    p.sub = sub;
    p.grants.push_back({"chat/*", std::move(rights)});
    return key->Mint(p, dsx::NowMs() / 1000, 600).value();
  }
  // nullopt: passed on to the stream routes.
  std::optional<int> Status(http::verb m, const std::string& target, const std::string& token, std::string body = "") {
    Request req{m, target, 11};
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    req.body() = std::move(body);
    req.prepare_payload();
    std::optional<int> status;
    RouteDone done = [&](RouteOutcome o) { status = o.response.result_int(); };
    if (!intercept(req, done)) return std::nullopt;
    REQUIRE(status);
    return status;
  }
};

}  // namespace

TEST_CASE("auth gate: 401 without a valid token, 403 without the right, pass-through when allowed") {
  Gate g;
  const std::string viewer = g.Token("viewer", {auth::Right::kRead});
  const std::string admin = g.Token("root", {auth::Right::kAdmin});
  CHECK(g.Status(http::verb::get, "/health", "") == std::nullopt);
  CHECK(g.Status(http::verb::get, "/v1/stream/chat/1", "") == 401);
  CHECK(g.Status(http::verb::get, "/v1/stream/chat/1", viewer + "x") == 401);
  CHECK(g.Status(http::verb::get, "/v1/stream/chat/1", viewer) == std::nullopt);
  CHECK(g.Status(http::verb::get, "/v1/stream/other/1", viewer) == 403);
  CHECK(g.Status(http::verb::post, "/v1/stream/chat/1", viewer, "[]") == 403);
  CHECK(g.Status(http::verb::post, "/v1/stream/chat/1", admin, "[]") == std::nullopt);
  CHECK(g.Status(http::verb::put, "/v1/session/chat/1", viewer) == 403);
  CHECK(g.Status(http::verb::put, "/v1/session/chat/1", admin) == 201);
  CHECK(g.Status(http::verb::get, "/v1/session/chat/1", viewer) == 200);
  CHECK(g.Status(http::verb::post, "/v1/session/chat/1/events", viewer, R"({"type":"user.message"})") == 403);
  CHECK(g.Status(http::verb::post, "/v1/session/chat/1/events", admin, R"({"type":"user.message"})") == 200);
  CHECK(g.Status(http::verb::post, "/v1/session/chat/1/events", admin, "not json") == 400);
  CHECK(g.Status(http::verb::get, "/v1/session/chat/1/events?offset=-1", viewer) == 200);
  CHECK(g.Status(http::verb::get, "/v1/session/chat/1/events?offset=bad", viewer) == 400);
  CHECK(g.Status(http::verb::get, "/v1/session/chat/1/view", viewer) == 200);
  CHECK(g.Status(http::verb::get, "/v1/session/chat/nope/view", viewer) == 404);
  CHECK(g.Status(http::verb::get, "/metrics", viewer) == 403);
  // Streams outside /v1/stream/ name no session a right could cover: admin on '*' only.
  CHECK(g.Status(http::verb::put, "/other/x", viewer) == 403);
  CHECK(g.Status(http::verb::get, "/other/x", viewer) == 403);
  CHECK(g.Status(http::verb::put, "/other/x", admin) == 403);  // admin of chat/* only
  auth::Principal root;
  root.sub = "root";
  root.grants.push_back({"*", {auth::Right::kAdmin}});
  const std::string everything = g.key->Mint(root, dsx::NowMs() / 1000, 600).value();
  CHECK(g.Status(http::verb::put, "/other/x", everything) == std::nullopt);
  CHECK(g.Status(http::verb::get, "/metrics", everything) == std::nullopt);
}
