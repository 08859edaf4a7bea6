// HfBackend::Logs over SSE: a stream that never closes (state polled, stops at COMPLETED),
// keep-alive comments, reconnects that replay from the start without duplicates, early empty
// logs, a job that vanishes, auth errors without the token, and a hostile endless line bounded.
#include <doctest/doctest.h>

#include <atomic>

#include "hf_test_util.hpp"

using namespace dsx;
using namespace dsx::jobs;
using namespace dsx::jobs::hf;
using namespace dsx::jobs::hf::testing;
using dsx::net::Outcome;
using dsx::net::testing::NetError;
using dsx::net::testing::Reply;
using dsx::net::testing::SseReply;
using dsx::net::testing::TimedOut;

namespace {

const std::string kLogsUrl = "https://hf.test/api/jobs/alice/687fb701029421ae5549d998/logs";
const std::string kInspectUrl = "https://hf.test/api/jobs/alice/687fb701029421ae5549d998";
const std::string kKeepAlive = ": keep-alive\n\n";

// A connection that delivers `chunks` and then goes silent (the stream never closes).
net::testing::Scripted Silent(std::vector<std::string> chunks) {
  return TimedOut(Outcome::kTimeoutIdle, 200, std::move(chunks));
}

struct Collected {
  std::vector<std::string> lines;
  LogSink sink() {
    return [this](std::string_view l) {
      lines.emplace_back(l);
      return true;
    };
  }
};

std::vector<std::string> Urls(const net::testing::FakeTransport& t) {
  std::vector<std::string> out;
  for (const auto& r : t.requests) out.push_back(r.url);
  return out;
}

}  // namespace

TEST_CASE("without follow: the lines there now, ending at the first silence") {
  Harness h;
  h.t().script.push_back(Silent({LogEvent("===== Job started ====="), LogEvent("step 1")}));
  Collected c;
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", false, c.sink(), nullptr).ok());
  CHECK(c.lines == std::vector<std::string>{"===== Job started =====", "step 1"});
  REQUIRE(h.t().requests.size() == 1);
  CHECK(h.t().requests[0].method == "GET");
  CHECK(h.t().requests[0].url == kLogsUrl);
  CHECK(h.t().Header(0, "Authorization") == std::string("Bearer ") + kToken);
  CHECK(h.t().Header(0, "Accept") == "text/event-stream");
  CHECK(h.t().requests[0].idle_timeout_ms == 5000);
}

TEST_CASE("without follow: a keep-alive after the backlog ends the read") {
  Harness h;
  h.t().script.push_back(SseReply({}, {LogEvent("a"), kKeepAlive, LogEvent("not yet")}));
  Collected c;
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", false, c.sink(), nullptr).ok());
  CHECK(c.lines == std::vector<std::string>{"a"});
}

TEST_CASE("follow: the stream never closes; the state is polled and reading stops at COMPLETED") {
  Harness h;
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(Silent({LogEvent("a"), kKeepAlive, LogEvent("b")}));
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(Silent({LogEvent("a"), LogEvent("b"), LogEvent("c"), kKeepAlive}));  // replayed
  h.t().script.push_back(Reply(200, {}, JobJson("COMPLETED")));
  // Found over after the stream went quiet: one last pass brings what the job wrote last.
  h.t().script.push_back(Silent({LogEvent("a"), LogEvent("b"), LogEvent("c"), LogEvent("done"), kKeepAlive}));
  Collected c;
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", true, c.sink(), nullptr).ok());
  CHECK(c.lines == std::vector<std::string>{"a", "b", "c", "done"});
  CHECK(Urls(h.t()) == std::vector<std::string>{kInspectUrl, kLogsUrl, kInspectUrl, kLogsUrl, kInspectUrl, kLogsUrl});
  CHECK(h.t().script.empty());
  CHECK(h.clock.sleeps().empty());  // each connection brought lines: no extra wait
}

TEST_CASE("follow: while lines keep coming the state is checked every poll interval, then drained") {
  Harness h;
  // Each line takes 3 s: after the second, 6 s have passed and the state is checked on a second
  // connection while this one stays open; COMPLETED, so the stream is read until it goes quiet.
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(Silent({LogEvent("l1"), LogEvent("l2"), LogEvent("l3"), kKeepAlive, LogEvent("never")}));
  h.t().script.push_back(Reply(200, {}, JobJson("COMPLETED")));
  std::vector<std::string> lines;
  auto sink = [&](std::string_view l) {
    lines.emplace_back(l);
    if (l != "l3") h.clock.Advance(3000);
    return true;
  };
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", true, sink, nullptr).ok());
  CHECK(lines == std::vector<std::string>{"l1", "l2", "l3"});
  CHECK(Urls(h.t()) == std::vector<std::string>{kInspectUrl, kLogsUrl, kInspectUrl});
}

TEST_CASE("follow: a terminal job whose stream never goes quiet is cut after drain_ms") {
  Harness h;
  std::vector<std::string> chunks;
  for (int i = 0; i < 20; ++i) chunks.push_back(LogEvent(std::string("x").append(std::to_string(i))));
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(Silent(chunks));
  h.t().script.push_back(Reply(200, {}, JobJson("COMPLETED")));
  int n = 0;
  auto sink = [&](std::string_view) {
    ++n;
    h.clock.Advance(1000);
    return true;
  };
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", true, sink, nullptr).ok());
  // Polled after 5 lines (5 s), then 3 s of draining: lines 6..8.
  CHECK(n == 8);
}

TEST_CASE("follow: a dropped connection reconnects and skips the replayed lines") {
  Harness h;
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(SseReply({}, {LogEvent("one"), LogEvent("two")}, /*then_error=*/true));
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(Silent({LogEvent("one"), LogEvent("two"), LogEvent("three")}));
  h.t().script.push_back(Reply(200, {}, JobJson("COMPLETED")));
  h.t().script.push_back(Silent({LogEvent("one"), LogEvent("two"), LogEvent("three"), kKeepAlive}));
  Collected c;
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", true, c.sink(), nullptr).ok());
  CHECK(c.lines == std::vector<std::string>{"one", "two", "three"});
  CHECK(h.clock.sleeps() == std::vector<std::int64_t>{2000});  // paced on the clock, not the wall
}

TEST_CASE("follow: early empty logs and a 404 before the log exists are retried") {
  Harness h;
  h.t().script.push_back(Reply(200, {}, JobJson("SCHEDULING")));
  h.t().script.push_back(Reply(404, {}, R"({"error":"no logs yet"})"));
  h.t().script.push_back(Reply(200, {}, JobJson("SCHEDULING")));  // checked: the job exists
  h.t().script.push_back(Reply(200, {}, JobJson("SCHEDULING")));
  h.t().script.push_back(Silent({kKeepAlive}));
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(Silent({LogEvent("hello")}));
  h.t().script.push_back(Reply(200, {}, JobJson("COMPLETED")));
  h.t().script.push_back(Silent({LogEvent("hello"), kKeepAlive}));
  Collected c;
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", true, c.sink(), nullptr).ok());
  CHECK(c.lines == std::vector<std::string>{"hello"});
  CHECK(h.t().script.empty());
  CHECK(h.clock.sleeps().size() == 2);
}

TEST_CASE("follow: a job already over gives its log once, in one pass") {
  Harness h;
  h.t().script.push_back(Reply(200, {}, JobJson("ERROR", "exit code 1")));
  h.t().script.push_back(Silent({LogEvent("done"), kKeepAlive, LogEvent("never")}));
  Collected c;
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", true, c.sink(), nullptr).ok());
  CHECK(c.lines == std::vector<std::string>{"done"});
  CHECK(Urls(h.t()) == std::vector<std::string>{kInspectUrl, kLogsUrl});
}

TEST_CASE("follow: a last pass that breaks is tried again, then returns") {
  Harness h;
  h.t().script.push_back(Reply(200, {}, JobJson("COMPLETED")));
  h.t().script.push_back(SseReply({}, {LogEvent("one")}, /*then_error=*/true));
  h.t().script.push_back(Silent({LogEvent("one"), LogEvent("two"), kKeepAlive}));
  Collected c;
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", true, c.sink(), nullptr).ok());
  CHECK(c.lines == std::vector<std::string>{"one", "two"});
  CHECK(Urls(h.t()) == std::vector<std::string>{kInspectUrl, kLogsUrl, kLogsUrl});
  CHECK(h.clock.sleeps() == std::vector<std::int64_t>{2000});
}

TEST_CASE("follow: a job that disappears is kNotFound") {
  Harness h;
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(Silent({LogEvent("a")}));
  h.t().script.push_back(Reply(404, {}, ""));
  Collected c;
  auto st = h.backend->Logs(SubmittedRecord(), "", true, c.sink(), nullptr);
  CHECK(st.code() == Code::kNotFound);
}

TEST_CASE("follow: a server that stays unreachable ends in kUnavailable naming the endpoint") {
  Harness h("alice", kToken, [](HfBackend::Options& o) {
    o.max_stream_failures = 2;
    o.retry.max_attempts = 1;
  });
  h.t().script.push_back(NetError(false, "connection refused"));  // the first state check
  h.t().script.push_back(NetError(false, "connection refused"));
  h.t().script.push_back(NetError(false, "connection refused"));  // the state check
  h.t().script.push_back(NetError(false, "connection refused"));
  Collected c;
  auto st = h.backend->Logs(SubmittedRecord(), "", true, c.sink(), nullptr);
  CHECK(st.code() == Code::kUnavailable);
  CHECK(st.message().find("https://hf.test") != std::string::npos);
}

TEST_CASE("logs: 401 is kConflict without the token") {
  Harness h;
  h.t().script.push_back(Reply(401, {}, std::string(R"({"error":"bad token )") + kToken + "\"}"));
  Collected c;
  auto st = h.backend->Logs(SubmittedRecord(), "", true, c.sink(), nullptr);
  CHECK(st.code() == Code::kConflict);
  CHECK(st.message().find(kToken) == std::string::npos);
}

TEST_CASE("a hostile endless line ends in kFailed, bounded, with nothing partial delivered") {
  Harness h("alice", kToken, [](HfBackend::Options& o) { o.max_log_event_bytes = 4096; });
  std::vector<std::string> chunks = {LogEvent("fine"), "data: "};
  for (int i = 0; i < 100; ++i) chunks.push_back(std::string(1000, 'x'));  // no newline, ever
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(Silent(chunks));
  Collected c;
  auto st = h.backend->Logs(SubmittedRecord(), "", true, c.sink(), nullptr);
  CHECK(st.code() == Code::kFailed);
  CHECK(st.message().find("broke off") != std::string::npos);
  CHECK(c.lines == std::vector<std::string>{"fine"});
  CHECK(h.t().requests.size() == 2);  // the state check, the stream: no reconnect into the flood
}

TEST_CASE("events with several lines, raw data, and CRLF") {
  Harness h;
  h.t().script.push_back(Silent({"data: {\"data\": \"a\\nb\\r\"}\n\n", "data: plain text\r\n\r\n", kKeepAlive}));
  Collected c;
  REQUIRE(h.backend->Logs(SubmittedRecord(), "", false, c.sink(), nullptr).ok());
  CHECK(c.lines == std::vector<std::string>{"a", "b", "plain text"});
}

TEST_CASE("a sink that returns false or the stop flag ends following at once") {
  Harness h;
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h.t().script.push_back(Silent({LogEvent("a"), LogEvent("b"), LogEvent("c")}));
  int n = 0;
  REQUIRE(h.backend
              ->Logs(
                  SubmittedRecord(), "", true, [&](std::string_view) { return ++n < 2; }, nullptr)
              .ok());
  CHECK(n == 2);

  Harness h2;
  std::atomic<bool> stop{false};
  h2.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  h2.t().script.push_back(Silent({LogEvent("a"), LogEvent("b")}));
  std::vector<std::string> got;
  auto sink = [&](std::string_view l) {
    got.emplace_back(l);
    stop = true;
    return true;
  };
  REQUIRE(h2.backend->Logs(SubmittedRecord(), "", true, sink, &stop).ok());
  CHECK(got == std::vector<std::string>{"a"});
  CHECK(h2.t().requests[0].cancel == &stop);  // the state checks stop with it too
  CHECK(h2.t().requests[1].cancel == &stop);
}
