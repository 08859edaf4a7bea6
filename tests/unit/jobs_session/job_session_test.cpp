// JobSession against the session clients' in-memory server (tests/unit/session_client/
// fake_session.hpp: producer dedup, the cancel cut, heartbeats on the clock, SSE following) with
// every request recorded, and a ManualClock: the exact requests of a job's run (run.start shape,
// fragments and their producer seqs, heartbeats, acks, run.end per final state), batching by
// size and by time, cancels applied/rejected, and retries that never duplicate a fragment.
// The refusals at Open, where no thread runs yet, use net::FakeTransport's scripted answers.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../session_client/fake_session.hpp"
#include "jobs/session/job_session.hpp"
#include "net/fake_transport.hpp"

using namespace dsx;
using namespace dsx::jobs;
using dsx::session::client::testing::FakeSessionServer;
using nlohmann::json;
using Fault = FakeSessionServer::Fault;

namespace {

constexpr const char* kJob = "j-20261207-013000-3fa9c1";
constexpr const char* kSession = "jobs/j-20261207-013000-3fa9c1";
constexpr const char* kToken = "tok-SECRET-123";

// One request as a transport of the code under test sent it. Transports are numbered in the
// order Open makes them: 0 writer, 1 heartbeat, 2 control follower, 3 control acks.
struct Sent {
  int transport;
  net::HttpRequest request;
  json Body() const { return json::parse(request.body, nullptr, false); }
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : request.headers) {
      if (net::EqualsIgnoreCase(k, name)) return v;
    }
    return "";
  }
};

class Recorder {
 public:
  void Add(int t, const net::HttpRequest& r) {
    std::lock_guard lock(mu_);
    sent_.push_back({t, r});
  }
  std::vector<Sent> All() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  // POSTs to …/events whose body has this type, in order.
  std::vector<Sent> Posts(const std::string& type) const {
    std::vector<Sent> out;
    for (const auto& s : All()) {
      if (s.request.method == "POST" && s.request.url.ends_with("/events") && s.Body().value("type", "") == type)
        out.push_back(s);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Sent> sent_;
};

// Holds the writer's msg.append requests while closed (a server that is slow to answer).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  void Set(bool c) {
    std::lock_guard lock(mu);
    closed = c;
    cv.notify_all();
  }
  void Pass() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !closed; });
  }
};

class RecordingTransport final : public net::Transport {
 public:
  RecordingTransport(std::unique_ptr<net::Transport> inner, Recorder& rec, int index, Gate& gate,
                     std::atomic<int>& fail_streams)
      : inner_(std::move(inner)), rec_(rec), index_(index), gate_(gate), fail_streams_(fail_streams) {}
  net::Exchange Send(const net::HttpRequest& r) override {
    rec_.Add(index_, r);
    if (index_ == 0 && r.body.find("\"msg.append\"") != std::string::npos) gate_.Pass();
    return inner_->Send(r);
  }
  net::Exchange Stream(const net::HttpRequest& r, const net::StreamHandler& h) override {
    rec_.Add(index_, r);
    if (fail_streams_.load() > 0) {  // the server cannot be reached for this connection
      --fail_streams_;
      return net::testing::NetError(false, "connection refused").exchange;
    }
    return inner_->Stream(r, h);
  }

 private:
  std::unique_ptr<net::Transport> inner_;
  Recorder& rec_;
  int index_;
  Gate& gate_;
  std::atomic<int>& fail_streams_;
};

// For a state only another thread's answer changes (nothing the fake server sees): polls with a
// generous bound; not a wait for time to pass.
bool Eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

JobRecord Record() {
  JobRecord r;
  r.id = kJob;
  r.request.name = "sft-qwen-capy";
  r.request.kind = "finetune";
  r.request.backend = "slurm";
  r.request.command = {"uv", "run", "{jobdir}/train.py"};
  r.backend_id = "4242";
  r.session = kSession;
  r.server = "http://fake";
  r.status.state = JobState::kQueued;
  return r;
}

JobStatus St(JobState s, std::string detail = "", std::optional<int> exit = std::nullopt) {
  JobStatus st;
  st.state = s;
  st.backend_state = JobStateName(s);
  st.detail = std::move(detail);
  st.exit_code = exit;
  return st;
}

struct Rig {
  ManualClock clock;
  FakeSessionServer server{clock, "http://fake", kSession};
  Recorder rec;
  Gate gate;
  std::atomic<int> fail_streams{0};
  std::atomic<int> made{0};
  std::mutex cancel_mu;
  std::vector<std::string> cancel_reasons;
  Status cancel_answer;
  JobSessionOptions options;
  std::unique_ptr<JobSession> js;

  Rig() {
    options.server = "http://fake";
    options.token = kToken;
    options.session = kSession;
    options.clock = &clock;
    options.clock_poll_ms = 1;
    options.transport = [this] {
      return std::make_unique<RecordingTransport>(server.Connect(), rec, made++, gate, fail_streams);
    };
    options.on_cancel = [this](const std::string& reason) {
      std::lock_guard lock(cancel_mu);
      cancel_reasons.push_back(reason);
      return cancel_answer;
    };
  }
  JobSession& Open() {
    auto r = JobSession::Open(options, Record());
    REQUIRE(r.ok());
    js = std::move(r).value();
    return *js;
  }
  std::vector<std::string> Fragments() const {
    std::vector<std::string> out;
    for (const auto& e : server.EventsOfType("msg.append")) out.push_back(e["data"]["text"].get<std::string>());
    return out;
  }
  std::string Text() const {
    std::string all;
    for (const auto& f : Fragments()) all += f;
    return all;
  }
  bool WaitFragments(std::size_t n) {
    return server.WaitUntil([&] { return server.Count("msg.append") >= n; });
  }
  void Cancel(const std::string& id, const std::string& reason = "user pressed stop") {
    server.Inject({{"type", "control.cancel"}, {"run", js->run()}, {"id", id}, {"data", {{"reason", reason}}}});
  }
  std::vector<std::string> Reasons() {
    std::lock_guard lock(cancel_mu);
    return cancel_reasons;
  }
};

}  // namespace

TEST_CASE("Open: creates the session, starts a run with the job in its data, opens the job's message") {
  Rig rig;
  JobSession& js = rig.Open();
  REQUIRE(rig.made == 4);
  const auto all = rig.rec.All();
  REQUIRE(all.size() >= 3);
  // The writer's first three requests, exactly.
  CHECK(all[0].transport == 0);
  CHECK(all[0].request.method == "PUT");
  CHECK(all[0].request.url == std::string("http://fake/v1/session/") + kSession);
  CHECK(all[0].Header("Authorization") == std::string("Bearer ") + kToken);

  const auto start = rig.rec.Posts("run.start");
  REQUIRE(start.size() == 1);
  CHECK(start[0].transport == 0);
  CHECK(start[0].Body() == json{{"type", "run.start"},
                                {"run", js.run()},
                                {"data",
                                 {{"lease_ms", 15000},
                                  {"takeover", true},
                                  {"command", "uv run {jobdir}/train.py"},
                                  {"job",
                                   {{"id", kJob},
                                    {"backend", "slurm"},
                                    {"name", "sft-qwen-capy"},
                                    {"kind", "finetune"},
                                    {"backend_id", "4242"}}}}}});
  CHECK(start[0].Header("Producer-Id") == "job-" + js.run());
  CHECK(start[0].Header("Producer-Epoch") == std::to_string(rig.clock.NowMs()));
  CHECK(start[0].Header("Producer-Seq") == "0");
  CHECK(js.run().rfind("r-", 0) == 0);

  const auto ms = rig.rec.Posts("msg.start");
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].Body() == json{{"type", "msg.start"},
                             {"run", js.run()},
                             {"msg", js.msg()},
                             {"data", {{"role", "assistant"}, {"kind", "job.log"}}}});
  CHECK(ms[0].Header("Producer-Seq") == "1");

  // The control follower reads SSE from the run's start on transport 2.
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.streams_opened() >= 1; }));
  bool followed = false;
  for (const auto& s : rig.rec.All()) {
    if (s.transport == 2 && s.request.url.find("live=sse&offset=1") != std::string::npos) followed = true;
  }
  CHECK(followed);
  CHECK(rig.js->End(St(JobState::kSucceeded, "", 0)).ok());
}

TEST_CASE("Log: lines are coalesced into one fragment, sent when flush_ms has passed on the clock") {
  Rig rig;
  JobSession& js = rig.Open();
  CHECK(js.Log("epoch 1 step 10 loss 2.31").ok());
  CHECK(js.Log("epoch 1 step 20 loss 2.02\n").ok());  // its own newline is not doubled
  rig.clock.Advance(199);
  CHECK(js.Log("epoch 1 step 30 loss 1.88\r\n").ok());
  rig.clock.Advance(1);  // 200 ms after the first line
  REQUIRE(rig.WaitFragments(1));
  CHECK(js.Log("epoch 1 step 40 loss 1.70").ok());
  rig.clock.Advance(200);
  REQUIRE(rig.WaitFragments(2));
  CHECK(rig.Fragments() ==
        std::vector<std::string>{"epoch 1 step 10 loss 2.31\nepoch 1 step 20 loss 2.02\nepoch 1 step 30 loss 1.88\n",
                                 "epoch 1 step 40 loss 1.70\n"});
  const auto appends = rig.rec.Posts("msg.append");
  REQUIRE(appends.size() == 2);
  CHECK(appends[0].transport == 0);
  CHECK(appends[0].Header("Producer-Seq") == "2");  // after run.start (0) and msg.start (1)
  CHECK(appends[1].Header("Producer-Seq") == "3");
  CHECK(appends[0].Body() ==
        json{{"type", "msg.append"}, {"run", js.run()}, {"msg", js.msg()}, {"data", {{"text", rig.Fragments()[0]}}}});
  CHECK(js.Flush().ok());  // waits for the flusher's write in flight to be answered and counted
  CHECK(js.stats().lines == 4);
  CHECK(js.stats().fragments == 2);
  CHECK(js.End(St(JobState::kSucceeded, "", 0)).ok());
}

TEST_CASE("Log: a busy job's lines go out in bounded fragments, whole lines, in order, without the clock") {
  Rig rig;
  rig.options.max_fragment_bytes = 32;
  JobSession& js = rig.Open();
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    const std::string line = "line " + std::to_string(1000 + i);  // 9 bytes + newline
    expected += line + "\n";
    REQUIRE(js.Log(line).ok());
  }
  CHECK(js.Flush().ok());
  const auto frags = rig.Fragments();
  CHECK(rig.Text() == expected);
  CHECK(frags.size() == 34);  // 3 lines (30 bytes) per fragment
  for (const auto& f : frags) {
    CHECK(f.size() <= 32);
    CHECK(f.back() == '\n');
  }
  // Producer seqs are consecutive: each fragment went once.
  const auto appends = rig.rec.Posts("msg.append");
  REQUIRE(appends.size() == frags.size());
  for (std::size_t i = 0; i < appends.size(); ++i) CHECK(appends[i].Header("Producer-Seq") == std::to_string(2 + i));
  CHECK(js.End(St(JobState::kSucceeded, "", 0)).ok());
}

TEST_CASE("Log: one line longer than a fragment is split, never inside a UTF-8 sequence") {
  Rig rig;
  rig.options.max_fragment_bytes = 16;
  JobSession& js = rig.Open();
  const std::string e = "\xc3\xa9";                                // é
  const std::string line = "abcdefghijklmno" + e + "pqrstuvwxyz";  // é at bytes 15-16: straddles the 16th
  REQUIRE(js.Log(line).ok());
  CHECK(js.Flush().ok());
  const auto frags = rig.Fragments();
  REQUIRE(frags.size() == 2);
  CHECK(frags[0] == "abcdefghijklmno");
  CHECK(frags[1] == e + "pqrstuvwxyz\n");
  CHECK(js.End(St(JobState::kSucceeded, "", 0)).ok());
}

TEST_CASE("State: a line in the job's message after the lines before it, sent at once; heartbeats carry it") {
  Rig rig;
  JobSession& js = rig.Open();
  const std::int64_t t0 = rig.clock.SteadyMs();
  CHECK(js.State(St(JobState::kQueued, "partition debug")).ok());
  CHECK(js.Log("loading model").ok());
  CHECK(js.State(St(JobState::kRunning, "node gpu01")).ok());
  CHECK(rig.Fragments() ==
        std::vector<std::string>{"[dsx] queued: partition debug\n", "loading model\n[dsx] running: node gpu01\n"});
  rig.clock.Advance(5000);  // lease 15 s: a heartbeat every 5 s
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Heartbeats().size() == 1; }));
  const auto beats = rig.server.Heartbeats();
  CHECK(beats[0].steady_ms == t0 + 5000);
  CHECK(beats[0].state == "streaming");  // the agent state the server takes for a running job
  bool beat_on_its_transport = false;
  for (const auto& s : rig.rec.All()) {
    if (s.request.url.ends_with("/runs/" + js.run() + "/heartbeat")) {
      beat_on_its_transport = s.transport == 1 && s.request.method == "POST" &&
                              s.Header("Authorization") == std::string("Bearer ") + kToken;
    }
  }
  CHECK(beat_on_its_transport);
  CHECK(js.End(St(JobState::kSucceeded, "", 0)).ok());
  CHECK(rig.Fragments().back() == "[dsx] succeeded (exit 0)\n");
  CHECK(rig.server.Heartbeats().size() == 1);  // none after the end
}

TEST_CASE("Heartbeat: a queued job reports waiting; a server refusing the state gets bare heartbeats") {
  Rig rig;
  JobSession& js = rig.Open();  // the record says queued
  rig.clock.Advance(5000);
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Heartbeats().size() == 1; }));
  CHECK(rig.server.Heartbeats()[0].state == "waiting");
  rig.server.SetHeartbeatStatus(400);
  rig.clock.Advance(5000);
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Heartbeats().size() == 3; }));
  rig.server.SetHeartbeatStatus(200);
  rig.clock.Advance(5000);
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Heartbeats().size() == 4; }));
  const auto beats = rig.server.Heartbeats();
  CHECK(beats[1].state == "waiting");
  CHECK(beats[2].state == "");  // the same beat again, without the state the server refused
  CHECK(beats[3].state == "");
  CHECK(js.End(St(JobState::kSucceeded, "", 0)).ok());
}

TEST_CASE("Open: a run.start whose answer was lost is retried under its seq and the run still opens") {
  Rig rig;
  rig.server.FailNextPosts({Fault::kAnswerLost});
  JobSession& js = rig.Open();
  CHECK(rig.server.Count("run.start") == 1);
  const auto starts = rig.rec.Posts("run.start");
  REQUIRE(starts.size() == 2);
  CHECK(starts[1].Header("Producer-Seq") == "0");
  CHECK(starts[1].request.body == starts[0].request.body);
  CHECK(rig.rec.Posts("msg.start").at(0).Header("Producer-Seq") == "1");
  // Without the lost answer's offset the follower reads from the start: still one answer per cancel.
  rig.Cancel("k-1");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 1; }));
  CHECK(js.End(St(JobState::kCancelled)).ok());
  CHECK(rig.server.Count("control.ack") == 1);
  CHECK(rig.Reasons().size() == 1);
}

TEST_CASE("End: run.end's reason and data by final state; buffered lines and msg.end first") {
  struct Case {
    JobStatus final;
    json data;
  };
  const std::vector<Case> cases = {
      {St(JobState::kSucceeded, "", 0), {{"reason", "done"}, {"state", "succeeded"}, {"exit_code", 0}}},
      {St(JobState::kCancelled), {{"reason", "cancelled"}, {"state", "cancelled"}}},
      {St(JobState::kFailed, "OOM at step 120", 137),
       {{"reason", "error"}, {"state", "failed"}, {"exit_code", 137}, {"error", "OOM at step 120"}}},
      {St(JobState::kTimeout), {{"reason", "error"}, {"state", "timeout"}, {"error", "job timeout"}}},
      {St(JobState::kLost), {{"reason", "error"}, {"state", "lost"}, {"error", "job lost"}}},
  };
  for (const Case& c : cases) {
    CAPTURE(JobStateName(c.final.state));
    Rig rig;
    JobSession& js = rig.Open();
    CHECK(js.Log("last words").ok());
    CHECK(js.End(c.final).ok());
    CHECK(js.End(c.final).ok());  // idempotent: nothing more sent
    const auto events = rig.server.Events();
    REQUIRE(events.size() == 5);  // run.start, msg.start, msg.append, msg.end, run.end
    CHECK(events[2]["data"]["text"].get<std::string>().rfind("last words\n[dsx] ", 0) == 0);
    CHECK(events[3] ==
          json{{"type", "msg.end"}, {"run", js.run()}, {"msg", js.msg()}, {"data", json::object()}, {"offset", "4"}});
    json data = c.data;
    data["backend_state"] = JobStateName(c.final.state);
    CHECK(events[4] == json{{"type", "run.end"}, {"run", js.run()}, {"data", data}, {"offset", "5"}});
    const auto ends = rig.rec.Posts("run.end");
    REQUIRE(ends.size() == 1);
    CHECK(ends[0].Header("Producer-Seq") == "4");
    CHECK(js.Log("after the end").code() == Code::kConflict);
  }
}

TEST_CASE("Cancel: acked applied once the backend confirms; the job's last output is cut, not an error") {
  Rig rig;
  JobSession& js = rig.Open();
  CHECK(js.State(St(JobState::kRunning)).ok());
  rig.Cancel("k-1", "user pressed stop");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 1; }));
  const auto ack = rig.server.EventsOfType("control.ack").at(0);
  CHECK(ack == json{{"type", "control.ack"},
                    {"run", js.run()},
                    {"id", "k-1"},
                    {"data", {{"outcome", "applied"}}},
                    {"offset", ack["offset"]}});
  CHECK(rig.Reasons() == std::vector<std::string>{"user pressed stop"});
  const auto acks = rig.rec.Posts("control.ack");
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].transport == 3);
  CHECK(acks[0].Header("Producer-Id") == "control-" + js.run());
  CHECK(acks[0].Header("Producer-Seq") == "0");
  // The job prints while it stops: the server refuses the run's output from the ack on.
  CHECK(js.Log("Terminated").ok());
  CHECK(js.Flush().ok());
  CHECK(js.Log("more").ok());
  CHECK(js.Flush().ok());
  CHECK(js.stats().dropped == 16);  // "Terminated\n" and "more\n"
  CHECK(js.stats().cancels_applied == 1);
  // A second Stop: applied again without asking the backend twice.
  rig.Cancel("k-2");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 2; }));
  CHECK(rig.server.EventsOfType("control.ack").at(1)["data"]["outcome"] == "applied");
  CHECK(rig.Reasons().size() == 1);
  CHECK(js.End(St(JobState::kCancelled, "stopped by the session")).ok());
  const auto end = rig.server.EventsOfType("run.end");
  REQUIRE(end.size() == 1);
  CHECK(end[0]["data"]["reason"] == "cancelled");
  CHECK(rig.Text() == "[dsx] running\n");  // nothing after the cut
}

TEST_CASE("Cancel: a backend that cannot confirm gets the request rejected with its message") {
  Rig rig;
  rig.cancel_answer = Status::Unavailable("scancel: Unable to contact slurm controller");
  JobSession& js = rig.Open();
  rig.Cancel("k-1");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 1; }));
  CHECK(rig.server.EventsOfType("control.ack").at(0)["data"] ==
        json{{"outcome", "rejected"}, {"reason", "scancel: Unable to contact slurm controller"}});
  CHECK(js.Log("still running").ok());  // a rejected cancel cuts nothing
  CHECK(js.Flush().ok());
  CHECK(rig.Text() == "still running\n");
  CHECK(js.stats().cancels == 1);
  CHECK(js.stats().cancels_applied == 0);
  CHECK(js.End(St(JobState::kSucceeded, "", 0)).ok());
}

TEST_CASE("Cancel: after the job ended it is rejected 'job already <state>' without asking the backend") {
  Rig rig;
  JobSession& js = rig.Open();
  CHECK(js.State(St(JobState::kFailed, "exit 3", 3)).ok());
  rig.Cancel("k-1");
  rig.server.Inject({{"type", "control.steer"}, {"run", js.run()}, {"id", "k-2"}, {"data", {{"text", "faster"}}}});
  rig.server.Inject({{"type", "control.cancel"}, {"run", "r-other"}, {"id", "k-3"}, {"data", json::object()}});
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 2; }));
  const auto acks = rig.server.EventsOfType("control.ack");
  CHECK(acks[0]["id"] == "k-1");
  CHECK(acks[0]["data"] == json{{"outcome", "rejected"}, {"reason", "job already failed"}});
  CHECK(acks[1]["id"] == "k-2");
  CHECK(acks[1]["data"] == json{{"outcome", "rejected"}, {"reason", "a job takes no steering"}});
  CHECK(rig.Reasons().empty());
  CHECK(js.End(St(JobState::kFailed, "exit 3", 3)).ok());
  CHECK(rig.server.Count("control.ack") == 2);  // k-3 is another run's
  CHECK(rig.server.EventsOfType("run.end").at(0)["data"]["reason"] == "error");
}

TEST_CASE("Log: a server slower than the job holds Log back at max_buffered_bytes; nothing is dropped") {
  Rig rig;
  rig.options.max_fragment_bytes = 16;
  rig.options.max_buffered_bytes = 64;
  JobSession& js = rig.Open();
  rig.gate.Set(true);
  std::atomic<bool> done{false};
  std::thread job([&] {
    for (int i = 0; i < 40; ++i) CHECK(js.Log("line-" + std::to_string(1000 + i)).ok());  // 10 bytes each
    done = true;
  });
  // The flusher takes one line and waits on the server; Log stops once 64 bytes are waiting.
  REQUIRE(Eventually([&] { return js.stats().lines >= 7; }));
  // A negative can only be seen by giving it time: without back-pressure the 40 lines take
  // microseconds, so 100 ms is ample to fail, and passing costs no more than that.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(js.stats().lines <= 8);
  CHECK_FALSE(done.load());
  rig.gate.Set(false);
  job.join();
  CHECK(js.Flush().ok());
  std::string want;
  for (int i = 0; i < 40; ++i) want += "line-" + std::to_string(1000 + i) + "\n";
  CHECK(rig.Text() == want);
  CHECK(js.stats().dropped == 0);
  CHECK(js.End(St(JobState::kSucceeded, "", 0)).ok());
}

TEST_CASE("Control: a follower that cannot connect, or is cut, resumes after the last event it saw") {
  Rig rig;
  rig.fail_streams = 2;  // the first two connections fail: Follow gives up, the loop starts it again
  JobSession& js = rig.Open();
  rig.Cancel("k-1", "first");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 1; }));
  rig.server.DropStreams();  // a reconnect must not deliver k-1 again
  rig.Cancel("k-2", "second");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 2; }));
  CHECK(js.End(St(JobState::kCancelled)).ok());
  const auto acks = rig.server.EventsOfType("control.ack");
  REQUIRE(acks.size() == 2);
  CHECK(acks[0]["id"] == "k-1");
  CHECK(acks[1]["id"] == "k-2");
  CHECK(rig.Reasons() == std::vector<std::string>{"first"});  // the backend was asked once
  CHECK(rig.server.streams_opened() >= 2);
  int follows = 0;
  for (const auto& s : rig.rec.All()) follows += s.transport == 2 ? 1 : 0;
  CHECK(follows >= 4);  // 2 refused, the one cut, the one after it
}

TEST_CASE("Retries: a lost answer, a refused connection and a 503 re-send the same seq; each line lands once") {
  Rig rig;
  JobSession& js = rig.Open();
  CHECK(js.Log("a").ok());
  CHECK(js.Flush().ok());
  rig.server.FailNextPosts({Fault::kAnswerLost, Fault::kRefused, Fault::k503});
  CHECK(js.Log("b").ok());
  CHECK(js.Flush().ok());
  CHECK(js.Log("c").ok());
  CHECK(js.Flush().ok());
  CHECK(rig.Fragments() == std::vector<std::string>{"a\n", "b\n", "c\n"});
  std::vector<std::string> seqs;
  for (const auto& s : rig.rec.Posts("msg.append"))
    seqs.push_back(s.Body()["data"]["text"].get<std::string>() + s.Header("Producer-Seq"));
  // "b" went four times with seq 3 (landed on the first; the retries were answered 204).
  CHECK(seqs == std::vector<std::string>{"a\n2", "b\n3", "b\n3", "b\n3", "b\n3", "c\n4"});
  CHECK(js.End(St(JobState::kSucceeded, "", 0)).ok());
  CHECK(rig.Fragments() == std::vector<std::string>{"a\n", "b\n", "c\n", "[dsx] succeeded (exit 0)\n"});
}

TEST_CASE("Retries: an outage longer than retry_for_ms breaks the session with a clear error") {
  Rig rig;
  rig.options.retry_for_ms = 1000;
  JobSession& js = rig.Open();
  rig.server.FailNextPosts(std::vector<Fault>(50, Fault::kRefused));
  CHECK(js.Log("x").ok());
  Status st = js.Flush();
  CHECK(st.code() == Code::kUnavailable);
  CHECK(st.message().find("cannot append the job's log to session 'jobs/") != std::string::npos);
  CHECK(st.message().find(kToken) == std::string::npos);
  CHECK(js.Log("y").code() == Code::kUnavailable);  // broken: later calls say so
  CHECK(js.stats().dropped == 2);
}

TEST_CASE("Lease: the server ending the run (heartbeat 409) fails later calls; End sends no run.end") {
  Rig rig;
  rig.options.lease_ms = 3000;
  JobSession& js = rig.Open();
  rig.server.SetHeartbeatStatus(409);
  rig.clock.Advance(1000);
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Heartbeats().size() == 1; }));
  Status st;
  REQUIRE(Eventually([&] {
    st = js.Log("x");
    return !st.ok();
  }));
  CHECK(st.code() == Code::kConflict);
  CHECK(js.End(St(JobState::kSucceeded)).code() == Code::kConflict);
  CHECK(rig.server.Count("run.end") == 0);
}

TEST_CASE("No request carries the token anywhere but the Authorization header") {
  Rig rig;
  JobSession& js = rig.Open();
  CHECK(js.Log(std::string("step 1")).ok());
  rig.Cancel("k-1");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 1; }));
  CHECK(js.End(St(JobState::kCancelled)).ok());
  for (const auto& s : rig.rec.All()) {
    CHECK(s.request.url.find(kToken) == std::string::npos);
    CHECK(s.request.body.find(kToken) == std::string::npos);
    for (const auto& [k, v] : s.request.headers) {
      if (!net::EqualsIgnoreCase(k, "Authorization")) CHECK(v.find(kToken) == std::string::npos);
    }
  }
}

// ---------------------------------------------------------------- refusals at Open

namespace {

// Hands the code under test a transport while the test keeps the FakeTransport (and what it
// recorded) after a failed Open has destroyed everything it made.
class Shared final : public net::Transport {
 public:
  explicit Shared(std::shared_ptr<net::testing::FakeTransport> t) : t_(std::move(t)) {}
  net::Exchange Send(const net::HttpRequest& r) override { return t_->Send(r); }
  net::Exchange Stream(const net::HttpRequest& r, const net::StreamHandler& h) override { return t_->Stream(r, h); }

 private:
  std::shared_ptr<net::testing::FakeTransport> t_;
};

struct ScriptedOpen {
  std::vector<std::shared_ptr<net::testing::FakeTransport>> made;
  JobSessionOptions options;
  std::deque<net::testing::Scripted> first_script;
  ScriptedOpen() {
    options.server = "http://fake";
    options.token = kToken;
    options.session = kSession;
    options.transport = [this] {
      auto t = std::make_shared<net::testing::FakeTransport>();
      if (made.empty()) t->script = first_script;
      made.push_back(t);
      return std::make_unique<Shared>(t);
    };
  }
};

}  // namespace

TEST_CASE("Open: refusals map to exit codes and leave no run open") {
  using net::testing::NetError;
  using net::testing::Reply;
  SUBCASE("a token the server refuses: exit 4, nothing but the PUT sent") {
    ScriptedOpen o;
    o.first_script = {Reply(401, {}, R"({"error":"bad token"})")};
    ManualClock clock;
    o.options.clock = &clock;
    auto r = JobSession::Open(o.options, Record());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kConflict);
    CHECK(r.status().message() == std::string("cannot create session '") + kSession + "': bad token");
    CHECK(o.made.at(0)->requests.size() == 1);
  }
  SUBCASE("a server that cannot be reached: exit 5") {
    ScriptedOpen o;
    o.first_script = {NetError(false, "connection refused")};
    ManualClock clock;
    o.options.clock = &clock;
    auto r = JobSession::Open(o.options, Record());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUnavailable);
  }
  SUBCASE("msg.start refused: the run is ended as an error") {
    ScriptedOpen o;
    o.first_script = {Reply(201, {}, "{}"), Reply(200, {}, R"({"offset":"7","lease_ms":15000})"),
                      Reply(403, {}, R"({"error":"no right 'run'"})"), Reply(200, {}, "{}")};
    ManualClock clock;
    o.options.clock = &clock;
    auto r = JobSession::Open(o.options, Record());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kConflict);
    const auto& reqs = o.made.at(0)->requests;
    REQUIRE(reqs.size() == 4);
    const json end = json::parse(reqs[3].body);
    CHECK(end["type"] == "run.end");
    CHECK(end["data"]["reason"] == "error");
    CHECK(o.made.at(0)->Header(3, "Producer-Seq") == "1");  // run.start took 0; the refused msg.start left 1 free
  }
}
