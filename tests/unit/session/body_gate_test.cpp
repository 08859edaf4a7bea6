// The gate in front of request bodies (auth_gate.hpp, CheckBeforeBody) and the body type that
// grows with the bytes received (growing_body.hpp).
#include <doctest/doctest.h>

#include <boost/beast/http.hpp>

#include "session/auth/jwt.hpp"
#include "session/server/auth_gate.hpp"
#include "session/server/growing_body.hpp"

using namespace dsx::session;
using namespace dsx::session::server;
namespace http = boost::beast::http;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-body-gate";

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Mint(const auth::TokenKey& key, const std::string& pattern, std::vector<auth::Right> rights) {
  auth::Principal p;
  p.sub = "tester";
  p.grants.push_back(auth::Grant{pattern, std::move(rights)});
  auto t = key.Mint(p, Now(), 3600);
  REQUIRE(t.ok());
  return *t;
}

http::request_header<> Head(http::verb method, const std::string& target, const std::string& token = "") {
  http::request_header<> h;
  h.method(method);
  h.target(target);
  h.version(11);
  if (!token.empty()) h.set(http::field::authorization, "Bearer " + token);
  return h;
}

}  // namespace

TEST_CASE("body gate: open server lets everything through, and tells session routes apart") {
  auto g = CheckBeforeBody(nullptr, Head(http::verb::post, "/v1/session/a/events"));
  CHECK(g.status == 200);
  CHECK(g.session_route);
  g = CheckBeforeBody(nullptr, Head(http::verb::post, "/v1/stream/a"));
  CHECK(g.status == 200);
  CHECK_FALSE(g.session_route);
}

TEST_CASE("body gate: no token 401, no right on the target 403, some right passes") {
  auto key = auth::TokenKey::FromBytes(kSecret);
  REQUIRE(key.ok());
  const auth::TokenKey& k = **key;
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/v1/stream/s")).status == 401);
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/v1/stream/s", "not.a.token")).status == 401);
  auto other = auth::TokenKey::FromBytes(kSecret + "-other");
  REQUIRE(other.ok());
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/v1/stream/s", Mint(**other, "*", {auth::Right::kAdmin}))).status ==
        401);

  const std::string chat_read = Mint(k, "chat/*", {auth::Right::kRead});
  // Some right on the id is enough here (the route checks the exact one after the body).
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/v1/session/chat/1/events", chat_read)).status == 200);
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/v1/session/chat/1/runs/r1/heartbeat", chat_read)).status == 200);
  auto denied = CheckBeforeBody(&k, Head(http::verb::post, "/v1/session/work/s1/events", chat_read));
  CHECK(denied.status == 403);
  CHECK(denied.error.find("work/s1") != std::string::npos);
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/v1/stream/chat/1", chat_read)).status == 200);
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/v1/stream/work/1", chat_read)).status == 403);
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/elsewhere", chat_read)).status == 403);  // needs '*'
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/elsewhere", Mint(k, "*", {auth::Right::kAdmin}))).status == 200);
  // The query token counts, under any spelling the routes decode.
  CHECK(CheckBeforeBody(&k, Head(http::verb::post, "/v1/session/chat/1/events?access%5Ftoken=" + chat_read)).status ==
        200);
  // Open paths: preflight, /health, the UI.
  // They take no body, so none is read there without a token (open_path: limit 0, 413).
  for (const auto& [verb, target] :
       {std::pair{http::verb::options, "/v1/stream/s"}, std::pair{http::verb::post, "/health"},
        std::pair{http::verb::post, "/ui/x"}, std::pair{http::verb::post, "/ui?x=1"}}) {
    const BodyGate open = CheckBeforeBody(&k, Head(verb, target));
    CHECK(open.status == 200);
    CHECK(open.open_path);
  }
  CHECK_FALSE(CheckBeforeBody(&k, Head(http::verb::post, "/v1/stream/s", chat_read)).open_path);
  // An invalid session path is left to the route (400), with the session body limit.
  auto bad = CheckBeforeBody(&k, Head(http::verb::post, "/v1/session/a/../b/events", chat_read));
  CHECK(bad.status == 200);
  CHECK(bad.session_route);
}

TEST_CASE("growing body: a declared length reserves nothing like it, bytes still arrive whole") {
  http::request_parser<GrowingStringBody> parser;
  parser.body_limit(100u << 20);
  parser.eager(true);
  const std::string head = "POST /v1/stream/s HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n";
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(head), ec);
  REQUIRE_FALSE(ec);
  const std::string some(1000, 'q');
  parser.put(boost::asio::buffer(some), ec);
  REQUIRE_FALSE(ec);
  CHECK(parser.get().body().size() == 1000);
  CHECK(parser.get().body().capacity() <= GrowingStringBody::kInitialReserve);

  http::request_parser<GrowingStringBody> whole;
  const std::string body(200000, 'z');
  const std::string msg = "POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + body;
  std::size_t used = 0;
  while (used < msg.size() && !ec) used += whole.put(boost::asio::buffer(msg.data() + used, msg.size() - used), ec);
  REQUIRE_FALSE(ec);
  CHECK(whole.is_done());
  CHECK(whole.get().body() == body);
}
