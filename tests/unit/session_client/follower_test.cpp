// Catch-up, SSE and long-poll reading against a scripted transport: offsets advance only
// with delivered data, drops resume without gaps or duplicates.
#include <doctest/doctest.h>

#include "core/clock.hpp"
#include "net/fake_transport.hpp"
#include "session/client/follower.hpp"

using namespace dsx::session::client;
using namespace dsx::net;
using namespace dsx::net::testing;

namespace {

struct Fixture {
  FakeTransport transport;
  dsx::ManualClock clock;
  StreamClient client{transport, StreamRef{"http://h:1/v1/stream/s", "s"}, ""};
  std::string out;
  std::vector<std::string> offsets;
  std::vector<std::string> notices;

  Follower::Options Options(bool follow, LiveMode live = LiveMode::kAuto) {
    Follower::Options o;
    o.follow = follow;
    o.live = live;
    o.clock = &clock;
    o.notice = [this](const std::string& n) { notices.push_back(n); };
    return o;
  }
  dsx::Status Run(Follower& f) {
    return f.Run([this](const Chunk& c) {
      out += c.data;
      offsets.push_back(c.next_offset);
      return dsx::Status::Ok();
    });
  }
  std::string Url(size_t i) const { return transport.requests.at(i).url; }
};

HeaderList Page(const std::string& ct, const std::string& next, bool up_to_date, bool closed = false) {
  HeaderList h{{"Content-Type", ct}, {"Stream-Next-Offset", next}};
  if (up_to_date) h.emplace_back("Stream-Up-To-Date", "true");
  if (closed) h.emplace_back("Stream-Closed", "true");
  return h;
}

HeaderList SseHead(bool base64 = false) {
  HeaderList h{{"Content-Type", "text/event-stream"}};
  if (base64) h.emplace_back("stream-sse-data-encoding", "base64");
  return h;
}

std::string Control(const std::string& next, bool closed = false, const std::string& cursor = "7") {
  std::string j = "{\"streamNextOffset\":\"" + next + "\"";
  if (closed) {
    j += ",\"streamClosed\":true";
  } else {
    j += ",\"streamCursor\":\"" + cursor + "\",\"upToDate\":true";
  }
  return "event: control\ndata:" + j + "}\n\n";
}

}  // namespace

TEST_CASE("catch-up reads pages until up-to-date, then stops without --follow") {
  Fixture f;
  f.transport.script = {Reply(200, Page("text/plain", "0_3", false), "abc"),
                        Reply(200, Page("text/plain", "0_5", true), "de")};
  Follower fl(f.client, f.Options(false));
  REQUIRE(f.Run(fl).ok());
  CHECK(f.out == "abcde");
  CHECK(f.Url(0) == "http://h:1/v1/stream/s?offset=-1");
  CHECK(f.Url(1) == "http://h:1/v1/stream/s?offset=0_3");
  CHECK(fl.offset() == "0_5");
  CHECK_FALSE(fl.closed());
}

TEST_CASE("a first request that cannot connect is an error, not a retry loop") {
  Fixture f;
  f.transport.script = {NetError(false, "couldn't connect to server")};
  Follower fl(f.client, f.Options(true));
  auto s = f.Run(fl);
  CHECK(s.code() == dsx::Code::kUnavailable);
  CHECK(f.transport.requests.size() == 1);
}

TEST_CASE("a missing stream is not found") {
  Fixture f;
  f.transport.script = {Reply(404, {})};
  Follower fl(f.client, f.Options(true));
  CHECK(f.Run(fl).code() == dsx::Code::kNotFound);
}

TEST_CASE("SSE: data is delivered with the offset of the control event that follows it") {
  Fixture f;
  const std::string wire = "event: data\ndata:" + std::string("aGVsbG8=") + "\n\n" + Control("0_5") +
                           "event: data\ndata:IHdvcmxk\n\n" + Control("0_11", true);
  // Split the wire at awkward places.
  f.transport.script = {Reply(200, Page("application/octet-stream", "0_0", true)),
                        SseReply(SseHead(true), {wire.substr(0, 7), wire.substr(7, 30), wire.substr(37)})};
  Follower fl(f.client, f.Options(true));
  REQUIRE(f.Run(fl).ok());
  CHECK(f.out == "hello world");
  CHECK(f.offsets == std::vector<std::string>{"0_5", "0_11"});
  CHECK(fl.closed());
  CHECK(std::string(fl.live_used()) == "sse");
  CHECK(f.Url(1) == "http://h:1/v1/stream/s?offset=0_0&live=sse");
}

TEST_CASE("SSE: a drop between data and control resumes from the last committed offset, no duplicate") {
  Fixture f;
  f.transport.script = {
      Reply(200, Page("application/json", "0_0", true), "[]"),
      // First connection: one confirmed batch, then a data event whose control never comes.
      SseReply(SseHead(), {"event: data\ndata:[1,2]\n\n" + Control("0_2", false, "10"), "event: data\ndata:[3]\n\n"},
               true),
      NetError(false, "couldn't connect to server"),  // server restarting
      SseReply(SseHead(), {"event: data\ndata:[3]\n\n" + Control("0_3", false, "11") + Control("0_3", true)}),
  };
  Follower fl(f.client, f.Options(true));
  REQUIRE(f.Run(fl).ok());
  CHECK(f.out == "[1,2][3]");
  CHECK(f.Url(2) == "http://h:1/v1/stream/s?offset=0_2&live=sse&cursor=10");
  CHECK(f.Url(3) == "http://h:1/v1/stream/s?offset=0_2&live=sse&cursor=10");
  CHECK(f.clock.sleeps().size() == 2);
  REQUIRE(f.notices.size() == 2);
  CHECK(f.notices[0].find("connection lost") == 0);
  CHECK(f.notices[1].find("reconnected") == 0);
}

TEST_CASE("SSE JSON: several data events before one control are merged into one batch") {
  Fixture f;
  f.transport.script = {
      Reply(200, Page("application/json", "0_0", true), "[]"),
      SseReply(SseHead(), {"event: data\ndata:[{\"a\":1}]\n\nevent: data\ndata:[\"x\"]\n\n" + Control("0_2", true)})};
  Follower fl(f.client, f.Options(true));
  REQUIRE(f.Run(fl).ok());
  CHECK(f.out == "[{\"a\":1},\"x\"]");
}

TEST_CASE("text streams follow with long-poll by default (exact bytes), echoing the cursor") {
  Fixture f;
  HeaderList lp = Page("text/plain", "0_4", true);
  lp.emplace_back("Stream-Cursor", "100");
  HeaderList timeout = Page("text/plain", "0_4", true);
  timeout.emplace_back("Stream-Cursor", "101");
  f.transport.script = {Reply(200, Page("text/plain", "0_2", true), "a\r"), Reply(200, lp, "\nb"), Reply(204, timeout),
                        Reply(204, Page("text/plain", "0_4", true, true))};
  Follower fl(f.client, f.Options(true));
  REQUIRE(f.Run(fl).ok());
  CHECK(f.out == "a\r\nb");
  CHECK(std::string(fl.live_used()) == "long-poll");
  CHECK(f.Url(1) == "http://h:1/v1/stream/s?offset=0_2&live=long-poll");
  CHECK(f.Url(2) == "http://h:1/v1/stream/s?offset=0_4&live=long-poll&cursor=100");
  CHECK(f.Url(3) == "http://h:1/v1/stream/s?offset=0_4&live=long-poll&cursor=101");
  CHECK(fl.closed());
}

TEST_CASE("a server that refuses SSE makes the follower fall back to long-poll") {
  Fixture f;
  f.transport.script = {Reply(200, Page("application/octet-stream", "0_0", true)), Reply(400, {}),
                        Reply(204, Page("application/octet-stream", "0_0", true, true))};
  Follower fl(f.client, f.Options(true));
  REQUIRE(f.Run(fl).ok());
  CHECK(std::string(fl.live_used()) == "long-poll");
  CHECK(f.Url(2).find("live=long-poll") != std::string::npos);
}

TEST_CASE("long-poll rides out outages and 503s, then resumes at the same offset") {
  Fixture f;
  f.transport.script = {Reply(200, Page("text/plain", "0_1", true), "a"), NetError(true), Reply(503, {}),
                        NetError(false), Reply(200, Page("text/plain", "0_2", true, true), "b")};
  Follower fl(f.client, f.Options(true));
  REQUIRE(f.Run(fl).ok());
  CHECK(f.out == "ab");
  for (size_t i = 1; i < 5; ++i) CHECK(f.Url(i).find("offset=0_1&") != std::string::npos);
  CHECK(f.clock.sleeps().size() == 3);
}

TEST_CASE("--retry-for bounds an outage") {
  Fixture f;
  f.transport.script.push_back(Reply(200, Page("text/plain", "0_1", true), "a"));
  for (int i = 0; i < 200; ++i) f.transport.script.push_back(NetError(false));
  auto o = f.Options(true);
  o.retry_for = Millis(3000);
  Follower fl(f.client, o);
  auto s = f.Run(fl);
  CHECK(s.code() == dsx::Code::kUnavailable);
  // The outage was waited out on the injected clock (virtual time), and no longer than allowed.
  CHECK(f.clock.sleeps().size() >= 4);
  CHECK(f.clock.SteadyMs() > 1000);
  CHECK(f.clock.SteadyMs() <= 3000);
}

TEST_CASE("a sink error stops reading and the offset stays before the refused chunk") {
  Fixture f;
  f.transport.script = {Reply(200, Page("text/plain", "0_1", false), "a"),
                        Reply(200, Page("text/plain", "0_2", true), "b")};
  Follower fl(f.client, f.Options(false));
  int calls = 0;
  auto s =
      fl.Run([&](const Chunk&) { return ++calls == 2 ? dsx::Status::Failed("output closed") : dsx::Status::Ok(); });
  CHECK(s.code() == dsx::Code::kFailed);
  CHECK(fl.offset() == "0_1");
}

TEST_CASE("a closed stream ends catch-up immediately") {
  Fixture f;
  f.transport.script = {Reply(200, Page("text/plain", "0_3", true, true), "end")};
  Follower fl(f.client, f.Options(true));
  REQUIRE(f.Run(fl).ok());
  CHECK(fl.closed());
  CHECK(f.transport.requests.size() == 1);
}

TEST_CASE("SSE: an expired token ends the follow with a clear error and the offset to resume from") {
  Fixture f;
  f.transport.script = {
      Reply(200, Page("text/plain", "0_0", true), ""),
      SseReply(SseHead(), {"event: data\ndata:hello\n\n" + Control("0_5") +
                           "event: error\ndata:{\"status\":401,\"error\":\"token expired\"}\n\n"}),
  };
  Follower fl(f.client, f.Options(true, LiveMode::kSse));
  dsx::Status st = f.Run(fl);
  CHECK_FALSE(st.ok());
  INFO(st.message());
  CHECK(st.message().find("token expired") != std::string::npos);
  CHECK(st.message().find("--from 0_5") != std::string::npos);
  CHECK(f.out == "hello");
  CHECK(f.transport.requests.size() == 2);  // no reconnect with the dead token
}

// Regression: a server sending one endless SSE event made `dsx session tail` buffer all of it.
TEST_CASE("SSE: an endless event ends the follow with a protocol error, not unbounded memory") {
  Fixture f;
  std::vector<std::string> chunks = {"event: data\ndata:"};
  const std::string mib(1 << 20, 'A');
  for (int i = 0; i < 18; ++i) chunks.push_back(mib);  // never a newline
  f.transport.script = {Reply(200, Page("application/octet-stream", "0_0", true)),
                        SseReply(SseHead(true), std::move(chunks))};
  Follower fl(f.client, f.Options(true));
  dsx::Status st = f.Run(fl);
  REQUIRE(!st.ok());
  CHECK(st.code() == dsx::Code::kFailed);
  CHECK(st.message().find("larger than 16 MiB") != std::string::npos);
  CHECK(f.out.empty());
  CHECK(f.transport.requests.size() == 2);  // not retried
}
