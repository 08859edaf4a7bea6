// Token expiry on Durable Streams live reads, the pure parts: the expiry travels from the auth
// gate to the LiveRead (and a client cannot forge it), the steady-clock deadline, and the
// final SSE chunk / long-poll 401 a read gets when its token runs out. The sockets and timers
// are covered by auth_expiry_test.py against the real server.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "session/auth/jwt.hpp"
#include "session/server/auth_gate.hpp"
#include "session/server/router.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::server;
using namespace std::chrono;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

auth::Principal Reader() {
  auth::Principal p;
  p.sub = "reader";
  p.grants.push_back({"*", {auth::Right::kRead}});
  return p;
}

std::int64_t NowS() { return duration_cast<seconds>(system_clock::now().time_since_epoch()).count(); }

struct Fixture {
  StreamService service{MakeMemoryStore(), ServiceOptions{}};
  RouterOptions options;
  std::unique_ptr<auth::TokenKey> key;
  Fixture() {
    REQUIRE(service.Open().ok());
    auto k = auth::TokenKey::FromBytes(kSecret);
    REQUIRE(k.ok());
    key = std::move(k).value();
    // The gate as session_routes.cpp runs it: authenticate, answer 401, else pass on.
    options.intercept = [this](Request& req, RouteDone& done) {
      AuthResult a = Authenticate(key.get(), req, "");
      if (a.status == 200) return false;
      RouteOutcome o;
      o.response = JsonError(req, a.status, a.error);
      done(std::move(o));
      return true;
    };
    Request put{http::verb::put, "/v1/stream/s", 11};
    put.set(http::field::content_type, "text/plain");
    put.set(http::field::authorization, "Bearer " + Token(3600));
    put.body() = "abc";
    put.prepare_payload();
    Route(service, options, std::move(put), [](RouteOutcome o) { REQUIRE(o.response.result_int() == 201); });
  }
  std::string Token(std::int64_t ttl) {
    auto t = key->Mint(Reader(), NowS(), ttl);
    REQUIRE(t.ok());
    return *t;
  }
  RouteOutcome Get(const std::string& target, std::initializer_list<std::pair<const char*, std::string>> headers) {
    Request req{http::verb::get, target, 11};
    for (const auto& [k, v] : headers) req.set(k, v);
    std::optional<RouteOutcome> out;
    Route(service, options, std::move(req), [&out](RouteOutcome o) { out = std::move(o); });
    REQUIRE(out);
    return std::move(*out);
  }
};

}  // namespace

TEST_CASE("the gate carries the verified token's expiry into SSE and long-poll reads") {
  Fixture f;
  const std::int64_t before = NowS();
  const std::string token = f.Token(120);
  auto sse = f.Get("/v1/stream/s?offset=-1&live=sse", {{"Authorization", "Bearer " + token}});
  REQUIRE(sse.kind == RouteOutcome::Kind::kSse);
  CHECK(sse.live.token_exp_s >= before + 120);
  CHECK(sse.live.token_exp_s <= NowS() + 120);
  auto poll = f.Get("/v1/stream/s?offset=now&live=long-poll", {{"Authorization", "Bearer " + token}});
  REQUIRE(poll.kind == RouteOutcome::Kind::kLongPoll);
  CHECK(poll.live.token_exp_s == sse.live.token_exp_s);
}

TEST_CASE("a client cannot set the expiry itself") {
  Fixture f;
  const std::string token = f.Token(120);
  // Sent with a valid token: the gate's value wins.
  auto sse = f.Get("/v1/stream/s?offset=-1&live=sse",
                   {{"Authorization", "Bearer " + token}, {"Dsx-Internal-Token-Exp", "99999999999"}});
  REQUIRE(sse.kind == RouteOutcome::Kind::kSse);
  CHECK(sse.live.token_exp_s <= NowS() + 120);
  // Open server (no gate): a forged field is dropped, the read has no expiry.
  f.options.intercept = nullptr;
  auto open = f.Get("/v1/stream/s?offset=-1&live=sse", {{"Dsx-Internal-Token-Exp", "1"}});
  REQUIRE(open.kind == RouteOutcome::Kind::kSse);
  CHECK(open.live.token_exp_s == 0);
}

TEST_CASE("expired and missing tokens are refused before any live read starts") {
  Fixture f;
  auto none = f.Get("/v1/stream/s?offset=-1&live=sse", {});
  REQUIRE(none.kind == RouteOutcome::Kind::kResponse);
  CHECK(none.response.result_int() == 401);
  auto stale = f.key->Mint(Reader(), NowS() - 100, 10);
  REQUIRE(stale.ok());
  auto expired = f.Get("/v1/stream/s?offset=-1&live=long-poll", {{"Authorization", "Bearer " + *stale}});
  REQUIRE(expired.kind == RouteOutcome::Kind::kResponse);
  CHECK(expired.response.result_int() == 401);
  CHECK(expired.response.body().find("token expired") != std::string::npos);
}

TEST_CASE("Set/TokenExpiry round trip; zero and junk mean none") {
  Request req{http::verb::get, "/", 11};
  CHECK(TokenExpiry(req) == 0);
  SetTokenExpiry(req, 1764151200);
  CHECK(TokenExpiry(req) == 1764151200);
  SetTokenExpiry(req, 0);
  CHECK(TokenExpiry(req) == 0);
  req.set("Dsx-Internal-Token-Exp", "12x");
  CHECK(TokenExpiry(req) == 0);
  req.set("Dsx-Internal-Token-Exp", "99999999999999999999999");
  CHECK(TokenExpiry(req) == 0);
}

TEST_CASE("TokenDeadline: the token's instant on the steady clock") {
  const auto sys = system_clock::time_point(milliseconds(1764151200500));  // x.500 s
  const auto steady = steady_clock::time_point(seconds(1000));
  CHECK_FALSE(TokenDeadline(0, sys, steady));
  CHECK_FALSE(TokenDeadline(-5, sys, steady));
  // Expired from the first millisecond of second exp (Verify: exp <= now is expired).
  CHECK(*TokenDeadline(1764151202, sys, steady) == steady + milliseconds(1500));
  CHECK(*TokenDeadline(1764151200, sys, steady) == steady - milliseconds(500));  // already past
  // Tokens valid for years, or absurd exp values, arm nothing (and do not overflow).
  CHECK_FALSE(TokenDeadline(1764151200 + 400LL * 24 * 3600, sys, steady));
  CHECK_FALSE(TokenDeadline(std::numeric_limits<std::int64_t>::max(), sys, steady));
  CHECK(TokenDeadline(1764151200 + 300LL * 24 * 3600, sys, steady));
}

TEST_CASE("SSE ends with one error event and the chunked terminator") {
  const std::string events = "event: error\ndata:{\"status\":401,\"error\":\"token expired\"}\n\n";
  const std::string chunk = SseTokenExpired();
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", events.size());
  CHECK(chunk == std::string(size) + events + "\r\n0\r\n\r\n");
  const auto data = nlohmann::json::parse(events.substr(events.find("data:") + 5));
  CHECK(data["status"] == 401);
  CHECK(data["error"] == "token expired");
}

TEST_CASE("a long-poll that outlives its token answers 401 with the reason") {
  LiveRead live;
  live.version = 11;
  live.keep_alive = true;
  Response res = TokenExpiredResponse(live);
  CHECK(res.result_int() == 401);
  CHECK(res.keep_alive());
  CHECK(std::string(res[http::field::www_authenticate]).find("invalid_token") != std::string::npos);
  const auto body = nlohmann::json::parse(res.body());
  CHECK(body["status"] == 401);
  CHECK(body["error"] == "token expired");
}
