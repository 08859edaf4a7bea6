// Several servers for one client (--server URL1,URL2 / DSX_SERVER): list parsing, resolving a
// stream on each, and the failover policy (which failures move on, when to wait, when to give up).
#include <doctest/doctest.h>

#include "core/clock.hpp"
#include "net/fake_transport.hpp"
#include "session/client/appender.hpp"
#include "session/client/follower.hpp"
#include "session/client/server_list.hpp"

using namespace dsx;
using namespace dsx::session::client;
using namespace dsx::net;
using namespace dsx::net::testing;

TEST_CASE("server lists: one URL, several with commas and spaces, duplicates once, default when empty") {
  CHECK(ParseServerList("").value() == std::vector<std::string>{kDefaultServer});
  CHECK(ParseServerList("  ").value() == std::vector<std::string>{kDefaultServer});
  CHECK(ParseServerList("http://a:1").value() == std::vector<std::string>{"http://a:1"});
  CHECK(ParseServerList("http://a:1/,https://b:2").value() == std::vector<std::string>{"http://a:1", "https://b:2"});
  CHECK(ParseServerList(" http://a:1 , http://b:2 ,http://a:1").value() ==
        std::vector<std::string>{"http://a:1", "http://b:2"});
  CHECK(ParseServerList("http://a:1/base").value() == std::vector<std::string>{"http://a:1/base"});
}

TEST_CASE("server lists: empty entries and non-http entries are usage errors naming the entry") {
  for (const char* bad : {"http://a:1,,http://b:2", "http://a:1,", ",http://a:1"}) {
    Status s = ParseServerList(bad).status();
    CHECK(s.code() == Code::kUsage);
    CHECK(s.message().find("empty entry") != std::string::npos);
  }
  Status s = ParseServerList("http://a:1,redis://b:2").status();
  CHECK(s.code() == Code::kUsage);
  CHECK(s.message().find("'redis://b:2'") != std::string::npos);
  CHECK(ParseServerList("a:1").status().code() == Code::kUsage);
  CHECK(ParseServerList("http://a:1?x=1").status().code() == Code::kUsage);
  CHECK(ParseServerList("http://").status().code() == Code::kUsage);
}

TEST_CASE("a stream name resolves on every server; a full URL names one server") {
  auto refs = ResolveStreamAll("chat/42", {"http://a:1", "http://b:2"});
  REQUIRE(refs.ok());
  REQUIRE(refs->size() == 2);
  CHECK((*refs)[0].url == "http://a:1/v1/stream/chat/42");
  CHECK((*refs)[1].url == "http://b:2/v1/stream/chat/42");
  CHECK((*refs)[1].name == "chat/42");

  auto one = ResolveStreamAll("http://c:3/v1/stream/x", {"http://a:1", "http://b:2"});
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK((*one)[0].url == "http://c:3/v1/stream/x");

  CHECK(ResolveStreamAll("../x", {"http://a:1"}).status().code() == Code::kUsage);
  CHECK(OriginOf("http://a:1/v1/stream/x") == "http://a:1");
}

TEST_CASE("failover: only 'no answer' and 502/503/504 (kUnavailable) move on") {
  CHECK(ShouldFailOver(Status::Unavailable("connection refused")));
  CHECK_FALSE(ShouldFailOver(Status::NotFound("stream not found")));
  CHECK_FALSE(ShouldFailOver(Status::Conflict("producer fenced")));
  CHECK_FALSE(ShouldFailOver(Status::Failed("HTTP 500")));
  Failover f(3);
  CHECK(f.OnFailure(Status::Conflict("409"), true) == Failover::Action::kGiveUp);
  CHECK(f.current() == 0);
}

TEST_CASE("failover: one server keeps today's rule (retry after contact, error before)") {
  Failover f(1);
  CHECK(f.OnFailure(Status::Unavailable("down"), false) == Failover::Action::kGiveUp);
  CHECK(f.OnFailure(Status::Unavailable("down"), true) == Failover::Action::kRetryLater);
  CHECK(f.OnFailure(Status::Unavailable("down"), true) == Failover::Action::kRetryLater);
  CHECK(f.current() == 0);
}

TEST_CASE("failover: switch at once until every server failed, then with backoff, round the list") {
  const Status down = Status::Unavailable("connection refused");
  Failover f(3);
  CHECK(f.OnFailure(down, true) == Failover::Action::kSwitchNow);
  CHECK(f.current() == 1);
  CHECK(f.OnFailure(down, true) == Failover::Action::kSwitchNow);
  CHECK(f.current() == 2);
  CHECK(f.OnFailure(down, true) == Failover::Action::kSwitchLater);  // all three failed: wait
  CHECK(f.current() == 0);
  CHECK(f.OnFailure(down, true) == Failover::Action::kSwitchLater);
  CHECK(f.current() == 1);
  f.OnSuccess();  // server 1 answered: a fresh round
  CHECK(f.OnFailure(down, true) == Failover::Action::kSwitchNow);
  CHECK(f.current() == 2);
}

TEST_CASE("failover: first contact tries every server once, then gives up") {
  const Status down = Status::Unavailable("connection refused");
  Failover f(2);
  CHECK(f.OnFailure(down, false) == Failover::Action::kSwitchNow);
  CHECK(f.current() == 1);
  CHECK(f.OnFailure(down, false) == Failover::Action::kGiveUp);
}

namespace {

HeaderList Page(const std::string& next, bool up_to_date, bool closed = false) {
  HeaderList h{{"Content-Type", "text/plain"}, {"Stream-Next-Offset", next}};
  if (up_to_date) h.emplace_back("Stream-Up-To-Date", "true");
  if (closed) h.emplace_back("Stream-Closed", "true");
  return h;
}

std::string HeaderOf(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

std::vector<StreamRef> TwoNodes() {
  return {StreamRef{"http://a:1/v1/stream/s", "s"}, StreamRef{"http://b:2/v1/stream/s", "s"}};
}

}  // namespace

TEST_CASE("follower: a node that dies mid-follow; the next node resumes from the same offset, no gap, no repeat") {
  FakeTransport transport;
  ManualClock clock;
  StreamClient client(transport, TwoNodes(), "");
  transport.script = {
      Reply(200, Page("0_3", true), "abc"),       // a: catch-up
      Reply(200, Page("0_5", false), "de"),       // a: long-poll
      NetError(true, "connection reset"),         // a: killed
      Reply(200, Page("0_8", false), "fgh"),      // b: resumes at 0_5
      NetError(false, "connection refused"),      // b: killed too
      Reply(200, Page("0_9", false, true), "i"),  // a (restarted): closes
  };
  Follower::Options o;
  o.follow = true;
  o.live = LiveMode::kLongPoll;
  o.clock = &clock;
  std::vector<std::string> notices;
  o.notice = [&](const std::string& n) { notices.push_back(n); };
  Follower f(client, o);
  std::string out;
  REQUIRE(f.Run([&](const Chunk& c) {
             out += c.data;
             return Status::Ok();
           }).ok());
  CHECK(out == "abcdefghi");
  REQUIRE(transport.requests.size() == 6);
  CHECK(transport.requests[2].url.rfind("http://a:1/v1/stream/s?offset=0_5&live=long-poll", 0) == 0);
  CHECK(transport.requests[3].url.rfind("http://b:2/v1/stream/s?offset=0_5&live=long-poll", 0) == 0);
  CHECK(transport.requests[5].url.rfind("http://a:1/v1/stream/s?offset=0_8&live=long-poll", 0) == 0);
  CHECK(clock.SteadyMs() == 0);  // each switch was at once: another node had not failed yet
  REQUIRE_FALSE(notices.empty());
  CHECK(notices[0].find("trying http://b:2 from offset 0_5") != std::string::npos);
}

TEST_CASE("follower: a 503 moves on too; a 404 does not") {
  FakeTransport transport;
  ManualClock clock;
  StreamClient client(transport, TwoNodes(), "");
  transport.script = {Reply(503, {}, "redis unreachable"), Reply(200, Page("0_2", true), "ok")};
  Follower::Options o;
  o.clock = &clock;
  Follower f(client, o);
  std::string out;
  REQUIRE(f.Run([&](const Chunk& c) {
             out += c.data;
             return Status::Ok();
           }).ok());
  CHECK(out == "ok");
  CHECK(transport.requests[1].url.rfind("http://b:2/", 0) == 0);

  FakeTransport t2;
  StreamClient c2(t2, TwoNodes(), "");
  t2.script = {Reply(404)};
  Follower f2(c2, o);
  CHECK(f2.Run([](const Chunk&) { return Status::Ok(); }).code() == Code::kNotFound);
  CHECK(t2.requests.size() == 1);
}

TEST_CASE("follower: first contact with every node down is an error after one try each") {
  FakeTransport transport;
  ManualClock clock;
  StreamClient client(transport, TwoNodes(), "");
  transport.script = {NetError(false, "connection refused"), NetError(false, "connection refused")};
  Follower::Options o;
  o.follow = true;
  o.clock = &clock;
  Follower f(client, o);
  Status s = f.Run([](const Chunk&) { return Status::Ok(); });
  CHECK(s.code() == Code::kUnavailable);
  CHECK(transport.requests.size() == 2);
  CHECK(transport.requests[1].url.rfind("http://b:2/", 0) == 0);
}

TEST_CASE("follower: every node down after contact waits with backoff, going round the list") {
  FakeTransport transport;
  ManualClock clock;
  StreamClient client(transport, TwoNodes(), "");
  transport.script = {Reply(200, Page("0_1", true), "a"),          // a
                      NetError(false, "connection refused"),       // a: long-poll
                      NetError(false, "connection refused"),       // b: at once
                      NetError(false, "connection refused"),       // a: after backoff
                      Reply(200, Page("0_2", false, true), "b")};  // b: after backoff
  Follower::Options o;
  o.follow = true;
  o.live = LiveMode::kLongPoll;
  o.clock = &clock;
  Follower f(client, o);
  std::string out;
  REQUIRE(f.Run([&](const Chunk& c) {
             out += c.data;
             return Status::Ok();
           }).ok());
  CHECK(out == "ab");
  CHECK(clock.SteadyMs() > 0);
  CHECK(transport.requests[3].url.rfind("http://a:1/", 0) == 0);
  CHECK(transport.requests[4].url.rfind("http://b:2/", 0) == 0);
}

TEST_CASE("appender: a producer retry goes to the next node with the same epoch and seq") {
  FakeTransport transport;
  ManualClock clock;
  StreamClient client(transport, TwoNodes(), "");
  Appender::Options o;
  o.content_type = "text/plain";
  o.producer = ProducerId{"p", 7, false};
  o.clock = &clock;
  Appender a(client, o);
  transport.script = {Reply(200, {{"Stream-Next-Offset", "0_1"}}),
                      NetError(true, "connection reset"),            // a died: maybe applied
                      Reply(204, {{"Stream-Next-Offset", "0_2"}})};  // b: duplicate, it had landed
  REQUIRE(a.Append("x").ok());
  auto r = a.Append("y");
  REQUIRE(r.ok());
  CHECK(r->duplicate);
  REQUIRE(transport.requests.size() == 3);
  CHECK(transport.requests[1].url == "http://a:1/v1/stream/s");
  CHECK(transport.requests[2].url == "http://b:2/v1/stream/s");
  CHECK(HeaderOf(transport.requests[2], "Producer-Seq") == "1");
  CHECK(HeaderOf(transport.requests[2], "Producer-Epoch") == "7");
  CHECK(transport.requests[2].body == "y");
}

TEST_CASE("appender: without a producer only a request that never left moves to the next node") {
  FakeTransport transport;
  ManualClock clock;
  StreamClient client(transport, TwoNodes(), "");
  Appender::Options o;
  o.content_type = "text/plain";
  o.clock = &clock;
  Appender a(client, o);
  transport.script = {NetError(false, "connection refused"), Reply(200, {{"Stream-Next-Offset", "0_1"}}),
                      NetError(true, "connection reset")};
  REQUIRE(a.Append("x").ok());
  CHECK(transport.requests[1].url == "http://b:2/v1/stream/s");
  Status s = a.Append("y").status();
  CHECK(s.code() == Code::kUnavailable);
  CHECK(s.message().find("may or may not have been applied") != std::string::npos);
  CHECK(transport.requests.size() == 3);
}

TEST_CASE("stream client: HEAD tries the next node on an outage; DELETE only when it cannot have applied") {
  FakeTransport transport;
  StreamClient client(transport, TwoNodes(), "");
  transport.script = {NetError(true, "connection reset"),
                      Reply(200, {{"Content-Type", "text/plain"}, {"Stream-Next-Offset", "0_4"}})};
  auto info = client.Head();
  REQUIRE(info.ok());
  CHECK(info->next_offset == "0_4");
  CHECK(client.active_server() == 1);

  transport.script = {NetError(true, "connection reset")};
  CHECK(client.Delete().code() == Code::kUnavailable);  // may have been deleted: not resent
  transport.script = {Reply(503), Reply(204)};
  CHECK(client.Delete().ok());
}

// ---------------------------------------------------------------- SessionClient (run, cancel, steer, who)

#include "session/client/session_client.hpp"

TEST_CASE("session client: one URL as before; a list moves GETs to the next node at once") {
  FakeTransport transport;
  ManualClock clock;
  SessionClient one(transport, "http://a:1/", "s1", "", clock);
  CHECK(one.Url("") == "http://a:1/v1/session/s1");
  CHECK(one.server() == "http://a:1");

  SessionClient two(transport, "http://a:1,http://b:2", "s1", "", clock);
  transport.script = {NetError(true, "connection reset"), Reply(200, {}, "{\"presence\":[]}")};
  auto info = two.Info();
  REQUIRE(info.ok());
  CHECK(info->status == 200);
  REQUIRE(transport.requests.size() == 2);
  CHECK(transport.requests[0].url == "http://a:1/v1/session/s1");
  CHECK(transport.requests[1].url == "http://b:2/v1/session/s1");
  CHECK(two.server() == "http://b:2");  // stays on the node that answered

  transport.script = {Reply(404, {}, "{\"error\":\"no session\"}")};  // an answer: no move
  CHECK(two.Info()->status == 404);
  CHECK(transport.requests.back().url == "http://b:2/v1/session/s1");
}

TEST_CASE("session client: an event POST without a producer is re-sent elsewhere only if it never left") {
  FakeTransport transport;
  ManualClock clock;
  SessionClient c(transport, "http://a:1,http://b:2", "s1", "", clock);
  transport.script = {NetError(false, "connection refused"), Reply(201, {}, "{}")};
  auto a = c.Post({{"type", "msg.append"}});
  REQUIRE(a.ok());
  CHECK(transport.requests[1].url == "http://b:2/v1/session/s1/events");

  transport.script = {NetError(true, "connection reset")};  // may have been applied: reported
  auto b = c.Post({{"type", "msg.append"}});
  CHECK(b.status().code() == Code::kUnavailable);
  CHECK(transport.requests.size() == 3);
  CHECK(c.server() == "http://a:1");  // but the next request tries the other node
}

TEST_CASE("session client: producer retries go round the nodes with the same seq") {
  FakeTransport transport;
  ManualClock clock;
  SessionClient c(transport, "http://a:1,http://b:2", "s1", "", clock);
  Producer p{"agent", 3, 5};
  transport.script = {NetError(true, "connection reset"), Reply(503), Reply(204, {}, "")};
  auto a = c.Post({{"type", "msg.append"}}, &p, 10000);
  REQUIRE(a.ok());
  CHECK(a->status == 204);
  CHECK(p.seq == 6);
  REQUIRE(transport.requests.size() == 3);
  CHECK(transport.requests[0].url.rfind("http://a:1/", 0) == 0);
  CHECK(transport.requests[1].url.rfind("http://b:2/", 0) == 0);
  CHECK(transport.requests[2].url.rfind("http://a:1/", 0) == 0);  // after a backoff pause
  for (const auto& r : transport.requests) CHECK(HeaderOf(r, "Producer-Seq") == "5");
}

TEST_CASE("session client: Follow resumes on the next node with Last-Event-ID") {
  FakeTransport transport;
  ManualClock clock;
  SessionClient c(transport, "http://a:1,http://b:2", "s1", "", clock);
  transport.script = {
      SseReply({{"Content-Type", "text/event-stream"}}, {"id: 7\ndata: {\"type\":\"x\",\"n\":1}\n\n"}, true),
      SseReply({{"Content-Type", "text/event-stream"}}, {"id: 8\ndata: {\"type\":\"x\",\"n\":2}\n\n"})};
  std::vector<int> seen;
  Status st = c.Follow(
      "-1", false, "",
      [&](const nlohmann::json& j) {
        seen.push_back(j.value("n", 0));
        return seen.size() < 2;
      },
      [] { return false; }, 60000);
  CHECK(st.ok());
  CHECK(seen == std::vector<int>{1, 2});
  REQUIRE(transport.requests.size() == 2);
  CHECK(transport.requests[1].url.rfind("http://b:2/v1/session/s1/events", 0) == 0);
  CHECK(HeaderOf(transport.requests[1], "Last-Event-ID") == "7");
}

TEST_CASE("session client: Follow tries each node once at first contact") {
  FakeTransport transport;
  ManualClock clock;
  SessionClient c(transport, "http://a:1,http://b:2", "s1", "", clock);
  transport.script = {NetError(false, "connection refused"), NetError(false, "connection refused")};
  Status st = c.Follow(
      "-1", false, "", [](const nlohmann::json&) { return true; }, [] { return false; }, 60000);
  CHECK(st.code() == Code::kUnavailable);
  CHECK(transport.requests.size() == 2);
}
