// WebSocket client frames (ws_frame.hpp): every op's documented shape, wrong types in each
// field, deep frames, and what an in-band token refresh keeps. Issue 11: `heartbeat` and
// `subscribe` with wrong types threw type_error out of the socket's read handler.
#include <doctest/doctest.h>

#include "session/server/ws_frame.hpp"

using namespace dsx::session;
using namespace dsx::session::server;
using nlohmann::json;

namespace {

// Answered with an ack carrying this status (0: valid).
int StatusOf(const std::string& text) { return ParseWsFrame(text).status; }

}  // namespace

TEST_CASE("ws frames: valid frames of every op") {
  WsFrame s =
      ParseWsFrame(R"({"op":"subscribe","req":"s1","offset":"-1","mode":"compacted","lanes":["main"],"credit":8})");
  REQUIRE(s.status == 0);
  CHECK(s.op == WsFrame::Op::kSubscribe);
  CHECK(s.req == "s1");
  CHECK(s.compacted);
  CHECK(s.lanes == std::vector<std::string>{"main"});
  CHECK(s.credit == 8);
  CHECK(s.offset.kind == OffsetParam::Kind::kStart);
  WsFrame now = ParseWsFrame(R"({"op":"subscribe","offset":"now"})");
  CHECK((now.status == 0 && now.offset.kind == OffsetParam::Kind::kNow && !now.credit));
  WsFrame a =
      ParseWsFrame(R"({"op":"append","req":{"k":[1]},"event":{"type":"x"},"producer":{"id":"p","epoch":1,"seq":2}})");
  REQUIRE(a.status == 0);
  CHECK(a.req == json::parse(R"({"k":[1]})"));
  CHECK(a.event == json::parse(R"({"type":"x"})"));
  REQUIRE(a.producer);
  CHECK((a.producer->id == "p" && a.producer->epoch == 1 && a.producer->seq == 2));
  CHECK(ParseWsFrame(R"({"op":"auth","token":"t"})").token == "t");
  CHECK(ParseWsFrame(R"({"op":"credit","n":4})").n == 4);
  CHECK(ParseWsFrame(R"({"op":"credit","n":9223372036854775807})").n == kMaxWsCredit);
  WsFrame h = ParseWsFrame(R"({"op":"heartbeat","req":"h1","run":"r-1","state":"streaming"})");
  CHECK((h.status == 0 && h.run == "r-1" && h.state == "streaming"));
  WsFrame p = ParseWsFrame(R"({"op":"presence","device":"phone"})");
  CHECK((p.status == 0 && p.state == "online" && p.device == "phone"));
  CHECK(ParseWsFrame(R"({"op":"ping","req":"p1"})").status == 0);
}

TEST_CASE("ws frames: each field of the wrong type is a 400 ack naming it, never a throw") {
  for (const char* text : {R"({"op":"heartbeat","run":5})",
                           R"({"op":"heartbeat","run":"r-1","state":5})",
                           R"({"op":"heartbeat","run":[],"state":"x"})",
                           R"({"op":"heartbeat"})",
                           R"({"op":"subscribe","offset":5})",
                           R"({"op":"subscribe","mode":5})",
                           R"({"op":"subscribe","mode":[]})",
                           R"({"op":"subscribe","lanes":"main"})",
                           R"({"op":"subscribe","lanes":[1]})",
                           R"({"op":"subscribe","lanes":[""]})",
                           R"({"op":"subscribe","credit":"8"})",
                           R"({"op":"subscribe","credit":0})",
                           R"({"op":"subscribe","credit":1.5})",
                           R"({"op":"subscribe","credit":18446744073709551615})",
                           R"({"op":"subscribe","offset":"bad"})",
                           R"({"op":"presence","state":5})",
                           R"({"op":"presence","device":{}})",
                           R"({"op":"presence","state":null})",
                           R"({"op":"credit","n":"4"})",
                           R"({"op":"credit","n":-1})",
                           R"({"op":"credit","n":0})",
                           R"({"op":"credit"})",
                           R"({"op":"auth","token":5})",
                           R"({"op":"auth"})",
                           R"({"op":"append"})",
                           R"({"op":"append","event":{},"producer":"p"})",
                           R"({"op":"append","event":{},"producer":{"id":5,"epoch":1,"seq":2}})",
                           R"({"op":"append","event":{},"producer":{"id":"p","epoch":-1,"seq":2}})",
                           R"({"op":"append","event":{},"producer":{"id":"p","epoch":1}})",
                           R"({"op":"nope"})"}) {
    CAPTURE(text);
    WsFrame f;
    CHECK_NOTHROW(f = ParseWsFrame(text));
    CHECK(f.status == 400);
    CHECK_FALSE(f.framing);
    CHECK_FALSE(f.error.empty());
  }
  CHECK(ParseWsFrame(R"({"op":"heartbeat","run":"r-1","state":5})").error ==
        "field 'state' must be a string (got number)");
  CHECK(ParseWsFrame(R"({"op":"subscribe","offset":5,"req":"s"})").req == "s");  // echoed on errors too
}

TEST_CASE("ws frames: not an object with an op, or too deep, is an error frame") {
  for (const char* text : {"", "nope", "[]", "5", R"({"op":5})", R"({"op":null})", R"({"req":"x"})", "{"}) {
    CAPTURE(text);
    WsFrame f = ParseWsFrame(text);
    CHECK(f.status == 400);
    CHECK(f.framing);
  }
  const std::string deep = R"({"op":"append","req":"a","event":{"type":"x","data":{"v":)" + std::string(100000, '[') +
                           std::string(100000, ']') + "}}}";
  WsFrame f = ParseWsFrame(deep);
  CHECK((f.status == 400 && f.framing));
  CHECK(f.error.find("nested deeper than 64") != std::string::npos);
  CHECK(StatusOf(R"({"op":"ping","req":)" + std::string(100000, '{') + "}") == 400);
}

TEST_CASE("ws token refresh: same sub required; what the new token no longer covers is dropped (issue 11)") {
  auth::Principal old_p;
  old_p.sub = "alice";
  old_p.grants.push_back({"work/*", {auth::Right::kRead, auth::Right::kPresence}});
  auth::Principal other = old_p;
  other.grants = {{"other/*", {auth::Right::kRead, auth::Right::kPresence, auth::Right::kAdmin}}};
  WsRefresh r = CheckRefresh(old_p, other, "work/s1");
  CHECK(r.status == 200);
  CHECK_FALSE(r.keep_subscription);
  CHECK_FALSE(r.keep_presence);
  CHECK(r.dropped == "subscription ended: token for 'alice' lacks 'read' on 'work/s1'");

  auth::Principal same = old_p;
  same.exp_s = 2000000000;
  r = CheckRefresh(old_p, same, "work/s1");
  CHECK((r.status == 200 && r.keep_subscription && r.keep_presence && r.dropped.empty()));

  auth::Principal read_only = old_p;
  read_only.grants = {{"work/s1", {auth::Right::kRead}}};
  r = CheckRefresh(old_p, read_only, "work/s1");
  CHECK((r.keep_subscription && !r.keep_presence));

  auth::Principal bob = old_p;
  bob.sub = "bob";
  r = CheckRefresh(old_p, bob, "work/s1");
  CHECK(r.status == 403);
}
