// Issue 18, `dsx session tail` and `info`: --envelope gives every message its offset; --follow
// waits for a stream that does not exist yet (bounded by --timeout, ManualClock, no real sleep);
// a --from the server refuses is a usage error (exit 2); --until-run-end's decision;
// --text labels an agent's reply with the agent, dims control lines only on a colour terminal
// and draws progress, metric and table events; the session URLs of a stream.
#include <doctest/doctest.h>
#include <unistd.h>

#include "core/clock.hpp"
#include "net/fake_transport.hpp"
#include "session/client/follower.hpp"
#include "session/client/run_end_watch.hpp"
#include "session/client/stream_ref.hpp"
#include "session/client/tail_output.hpp"
#include "session/client/text_render.hpp"

using namespace dsx::session::client;
using namespace dsx::net;
using namespace dsx::net::testing;
using nlohmann::json;

namespace {

Chunk JsonChunk(std::string data, std::string start, std::string next) {
  Chunk c;
  c.data = std::move(data);
  c.start_offset = std::move(start);
  c.next_offset = std::move(next);
  c.json = true;
  return c;
}

std::string Env(const Chunk& c) { return TailOutput::Format(c, TailFormat::kEnvelope, "application/json").value(); }

HeaderList Page(const std::string& next) {
  return HeaderList{{"Content-Type", "application/json"}, {"Stream-Next-Offset", next}, {"Stream-Up-To-Date", "true"}};
}

}  // namespace

TEST_CASE("--envelope: each message with the offset right after it, from dsx byte offsets") {
  // {"a":1} is 7 bytes, {"bb":22} 9: the messages end at 107 and 116.
  const Chunk c = JsonChunk(R"([{"a":1},{"bb":22}])", "0000000000000000_0000000000000100",
                            "0000000000000000_0000000000000116");
  CHECK(Env(c) ==
        "{\"offset\":\"0000000000000000_0000000000000107\",\"data\":{\"a\":1}}\n"
        "{\"offset\":\"0000000000000000_0000000000000116\",\"data\":{\"bb\":22}}\n");
  // From the start (-1): computed back from the chunk's end.
  CHECK(Env(JsonChunk(R"([{"a":1},{"bb":22}])", "-1", "0000000000000000_0000000000000016"))
            .find("\"0000000000000000_0000000000000007\"") != std::string::npos);
}

TEST_CASE("--envelope: offsets that cannot be split are null except the chunk's last") {
  // Another server's opaque offsets.
  CHECK(Env(JsonChunk(R"([1,2])", "-1", "abc")) == "{\"offset\":null,\"data\":1}\n{\"offset\":\"abc\",\"data\":2}\n");
  // Bytes that do not add up (a re-serializing proxy): no guessing.
  CHECK(Env(JsonChunk(R"([1,2])", "0000000000000000_0000000000000000", "0000000000000000_0000000000000009"))
            .rfind("{\"offset\":null", 0) == 0);
  CHECK_FALSE(TailOutput::Format(Chunk{"x", "0_1", "-1", false}, TailFormat::kEnvelope, "text/plain").ok());
}

TEST_CASE("--follow waits for a stream that does not exist yet, then reads it") {
  FakeTransport transport;
  dsx::ManualClock clock;
  StreamClient client{transport, StreamRef{"http://h:1/v1/stream/s", "s"}, ""};
  transport.script = {Reply(404, {}), Reply(404, {}), Reply(404, {}),
                      Reply(200, HeaderList{{"Content-Type", "application/json"},
                                            {"Stream-Next-Offset", "0000000000000000_0000000000000001"},
                                            {"Stream-Up-To-Date", "true"},
                                            {"Stream-Closed", "true"}},
                            "[1]")};
  Follower::Options o;
  o.follow = true;
  o.clock = &clock;
  o.wait_for_stream = true;
  std::vector<std::string> notices;
  o.notice = [&](const std::string& n) { notices.push_back(n); };
  Follower f(client, o);
  std::string out;
  REQUIRE(f.Run([&](const Chunk& c) {
             out += c.data;
             return dsx::Status::Ok();
           }).ok());
  CHECK(out == "[1]");
  CHECK(clock.sleeps().size() == 3);
  for (auto ms : clock.sleeps()) CHECK(ms <= 1000);
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].find("waiting for it to be created") != std::string::npos);
}

TEST_CASE("--timeout bounds the wait: not found (exit 3) at the limit, the last look at the limit") {
  FakeTransport transport;
  dsx::ManualClock clock;
  StreamClient client{transport, StreamRef{"http://h:1/v1/stream/s", "s"}, ""};
  for (int i = 0; i < 50; ++i) transport.script.push_back(Reply(404, {}));
  Follower::Options o;
  o.follow = true;
  o.clock = &clock;
  o.wait_for_stream = true;
  o.wait_for = Millis(2500);
  Follower f(client, o);
  auto st = f.Run([](const Chunk&) { return dsx::Status::Ok(); });
  CHECK(st.code() == dsx::Code::kNotFound);
  CHECK(st.message().find("not created within 2500 ms") != std::string::npos);
  std::int64_t slept = 0;
  for (auto ms : clock.sleeps()) slept += ms;
  CHECK(slept == 2500);
  // Without --follow a missing stream is still an error at once.
  FakeTransport t2;
  StreamClient c2{t2, StreamRef{"http://h:1/v1/stream/s", "s"}, ""};
  t2.script = {Reply(404, {})};
  Follower::Options o2;
  o2.clock = &clock;
  o2.wait_for_stream = true;
  Follower f2(c2, o2);
  CHECK(f2.Run([](const Chunk&) { return dsx::Status::Ok(); }).code() == dsx::Code::kNotFound);
}

TEST_CASE("an offset the server refuses (400) is a usage error: exit 2, as documented for --from") {
  FakeTransport transport;
  StreamClient client{transport, StreamRef{"http://h:1/v1/stream/s", "s"}, ""};
  transport.script = {Reply(400, {{"Content-Type", "application/json"}}, R"({"error":"bad offset","status":400})")};
  Follower::Options o;
  o.from = "garbage";
  Follower f(client, o);
  auto st = f.Run([](const Chunk&) { return dsx::Status::Ok(); });
  CHECK(st.code() == dsx::Code::kUsage);
  CHECK(st.message().find("offset 'garbage' refused") != std::string::npos);
}

TEST_CASE("the sink can stop the follower after a chunk (--until-run-end)") {
  FakeTransport transport;
  StreamClient client{transport, StreamRef{"http://h:1/v1/stream/s", "s"}, ""};
  transport.script = {Reply(200, Page("0000000000000000_0000000000000001"), "[1]"),
                      Reply(200, Page("0000000000000000_0000000000000002"), "[2]")};
  dsx::ManualClock clock;
  Follower::Options o;
  o.follow = true;
  o.live = LiveMode::kLongPoll;
  o.clock = &clock;
  bool caught_up = false;
  o.on_caught_up = [&] { caught_up = true; };
  Follower f(client, o);
  std::string out;
  REQUIRE(f.Run([&](const Chunk& c) {
             out += c.data;
             if (c.data == "[2]") f.RequestStop();
             return dsx::Status::Ok();
           }).ok());
  CHECK(caught_up);
  CHECK(out == "[1][2]");
  CHECK(f.offset() == "0000000000000000_0000000000000002");
  CHECK(transport.requests.size() == 2);
}

TEST_CASE("--until-run-end: the current run, else the next one; ends before arming do not count") {
  auto ev = [](const char* type, const char* run, const char* reason = "") {
    json e = {{"type", type}, {"run", run}, {"data", json::object()}};
    if (*reason) e["data"]["reason"] = reason;
    return e;
  };
  RunEndWatch current;
  current.Feed(ev("run.start", "r-1"));
  current.Feed(ev("run.end", "r-1", "done"));  // an old run
  current.Feed(ev("run.start", "r-2"));
  current.Arm({});
  current.Feed(ev("msg.append", "r-2"));
  CHECK_FALSE(current.done());
  current.Feed(ev("run.end", "r-2", "cancelled"));
  CHECK(current.done());
  CHECK(current.run() == "r-2");
  CHECK(current.reason() == "cancelled");

  RunEndWatch next;
  next.Feed(ev("run.start", "r-1"));
  next.Feed(ev("run.end", "r-1", "done"));
  next.Arm({"r-1"});  // a server's list that lags behind the log: r-1 already ended
  CHECK_FALSE(next.done());
  next.Feed(ev("run.start", "r-3"));
  next.Feed(ev("run.end", "r-3", "interrupted"));
  CHECK(next.done());
  CHECK(next.reason() == "interrupted");

  RunEndWatch from_now;  // --from now: the run's start was never read; the server names it
  from_now.Arm({"r-9"});
  from_now.Feed(ev("run.start", "r-10"));
  from_now.Feed(ev("run.end", "r-10", "done"));
  CHECK_FALSE(from_now.done());
  from_now.Feed(ev("run.end", "r-9", "error"));
  CHECK(from_now.done());
  CHECK(from_now.run() == "r-9");
}

TEST_CASE("--text: the agent's reply is labelled with the agent, a person's message with the person") {
  TextRenderer r;
  std::string out;
  out += r.Feed({{"type", "user.message"}, {"from", {{"sub", "alice"}}}, {"data", {{"text", "hi"}}}});
  out += r.Feed({{"type", "run.start"}, {"run", "r-1"}, {"from", {{"sub", "alice"}}},
                 {"data", {{"command", "/usr/bin/python3"}}}});
  out += r.Feed({{"type", "msg.start"}, {"run", "r-1"}, {"msg", "m-1"}, {"from", {{"sub", "alice"}}},
                 {"data", {{"role", "assistant"}}}});
  out += r.Feed({{"type", "msg.append"}, {"run", "r-1"}, {"msg", "m-1"}, {"from", {{"sub", "alice"}}},
                 {"data", {{"text", "Hello"}}}});
  out += r.Feed({{"type", "msg.end"}, {"run", "r-1"}, {"msg", "m-1"}, {"from", {{"sub", "alice"}}}});
  out += r.Feed({{"type", "run.start"}, {"run", "r-2"}, {"from", {{"sub", "alice"}}},
                 {"data", {{"source", "llm-proxy"}, {"model", "mock-1"}}}});
  out += r.Feed({{"type", "msg.append"}, {"run", "r-2"}, {"msg", "m-2"}, {"from", {{"sub", "alice"}}},
                 {"data", {{"text", "Hi"}}}});
  CHECK(out ==
        "[alice] hi\n"
        "── run r-1 started by alice (lane main)\n"
        "[python3] Hello\n"
        "── run r-2 started by alice (lane main)\n"
        "[mock-1] Hi");
}

TEST_CASE("--text: control lines dimmed only with colour; no escapes otherwise") {
  const json start = {{"type", "run.start"}, {"run", "r-1"}, {"from", {{"sub", "a"}}}, {"data", json::object()}};
  TextRenderer plain;
  CHECK(plain.Feed(start).find('\x1b') == std::string::npos);
  TextStyle color;
  color.tty = color.color = true;
  TextRenderer dim(color);
  CHECK(dim.Feed(start) == "\x1b[2m── run r-1 started by a (lane main)\x1b[0m\n");
  TextStyle tty_no_color;
  tty_no_color.tty = true;  // NO_COLOR on a terminal
  TextRenderer nc(tty_no_color);
  CHECK(nc.Feed(start).find('\x1b') == std::string::npos);
}

TEST_CASE("--text: progress lines without a terminal, a bar redrawn in place on one; metric; table") {
  const json p1 = {{"type", "progress"}, {"data", {{"done", 3}, {"total", 10}, {"unit", "files"}, {"label", "scan"}}}};
  const json p2 = {{"type", "progress"}, {"data", {{"done", 10}, {"total", 10}, {"unit", "files"}, {"label", "scan"}}}};
  TextRenderer plain;
  CHECK(plain.Feed(p1) == "scan: 3/10 files\n");
  CHECK(plain.Feed({{"type", "progress"}, {"data", {{"done", 2.5}}}}) == "progress: 2.5\n");
  TextStyle tty;
  tty.tty = true;
  tty.bar_width = 10;
  TextRenderer bar(tty);
  CHECK(bar.Feed(p1) == "scan [###-------] 3/10 files 30%");
  CHECK(bar.Feed(p2) == "\r\x1b[2Kscan [##########] 10/10 files 100%\n");
  CHECK(bar.Feed(p1) == "scan [###-------] 3/10 files 30%");
  CHECK(bar.Feed({{"type", "metric"}, {"data", {{"name", "loss"}, {"step", 3}, {"value", 0.25}}}}) ==
        "\nloss step=3 value=0.25\n");
  TextRenderer t;
  CHECK(t.Feed({{"type", "table"},
                {"data",
                 {{"title", "best"},
                  {"columns", {"kernel", "ms", "ok"}},
                  {"rows", {{"tiled", 1.5, true}, {"naive-long-name", 12, nullptr}}}}}}) ==
        "best\n"
        "kernel           ms   ok\n"
        "---------------  ---  ----\n"
        "tiled            1.5  true\n"
        "naive-long-name  12\n");
}

TEST_CASE("session URLs of a stream URL: API, events, view and the web page") {
  auto u = SessionUrlsFor("http://127.0.0.1:4437/v1/stream/chat/42");
  REQUIRE(u);
  CHECK(u->session == "http://127.0.0.1:4437/v1/session/chat/42");
  CHECK(u->events == "http://127.0.0.1:4437/v1/session/chat/42/events");
  CHECK(u->view == "http://127.0.0.1:4437/v1/session/chat/42/view");
  CHECK(u->web == "http://127.0.0.1:4437/ui/chat/42");
  CHECK_FALSE(SessionUrlsFor("http://h/other/path"));
}

TEST_CASE("--text style: a pipe is no terminal, so no escapes and no in-place bars") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const TextStyle s = TextStyle::ForFd(fds[1]);
  CHECK_FALSE(s.tty);
  CHECK_FALSE(s.color);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("--text: an event written through the plain stream (no envelope) shows its fields, bounded") {
  TextRenderer r;
  CHECK(r.Feed({{"type", "gen.start"}, {"task", "rmsnorm"}, {"provider", "template"}}) ==
        "── gen.start {\"provider\":\"template\",\"task\":\"rmsnorm\"}\n");
  const std::string out = r.Feed({{"type", "gen.token"}, {"text", 5}, {"blob", std::string(500, 'x')}});
  CHECK(out.size() < 260);
  CHECK(out.find("…\n") != std::string::npos);
}
