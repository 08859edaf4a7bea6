// RunAgent against a fake session server, a scripted agent and a ManualClock: cancel, steer,
// lease renewal and a server restart mid-run, with no wall-clock sleeps.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "fake_session.hpp"
#include "session/client/agent_runner.hpp"

using namespace dsx::session::client;
using nlohmann::json;

TEST_CASE("UTF-8: fragments never end inside a sequence") {
  CHECK(CompleteUtf8Prefix("abc") == 3);
  const std::string e = "a\xc3\xa9";  // aé
  CHECK(CompleteUtf8Prefix(e) == 3);
  CHECK(CompleteUtf8Prefix(e.substr(0, 2)) == 1);
  const std::string smile = "\xf0\x9f\x99\x82";
  CHECK(CompleteUtf8Prefix(smile.substr(0, 3)) == 0);
  CHECK(CompleteUtf8Prefix(smile) == 4);
  CHECK(CompleteUtf8Prefix("") == 0);
}

// ---------------------------------------------------------------- RunAgent

namespace {

using dsx::ManualClock;
using testing::AgentScript;
using testing::FakeSessionServer;
using Fault = FakeSessionServer::Fault;

// RunAgent on a thread of its own, talking to `server` through fresh transports, starting the
// scripted `agent`, paced by `clock`.
struct Rig {
  ManualClock clock;
  FakeSessionServer server{clock};
  std::shared_ptr<AgentScript> agent = std::make_shared<AgentScript>();
  std::atomic<int> agents_started{0};
  AgentRunOptions options;
  AgentRunEnv env;
  std::optional<dsx::Result<AgentRunResult>> result;
  std::thread runner;

  Rig() {
    options.server = "http://fake";
    options.session = "s1";
    options.argv = {"agent"};
    options.lease_ms = 15000;
    env.clock = &clock;
    env.clock_poll_ms = 1;
    env.transport = [this] { return server.Connect(); };
    env.start_agent = [this](const std::vector<std::string>&,
                             std::chrono::milliseconds) -> dsx::Result<std::unique_ptr<Agent>> {
      ++agents_started;
      return agent->Connect();
    };
  }
  ~Rig() {
    agent->Exit(99);  // a test that failed half-way must not leave the runner waiting for its agent
    if (runner.joinable()) runner.join();
  }
  // Starts the run and waits until the agent runs and its message is open.
  AgentScript& Start() {
    runner = std::thread([this] { result.emplace(RunAgent(options, env)); });
    REQUIRE(server.WaitUntil([&] { return server.Count("msg.start") == 1; }));
    return *agent;
  }
  const AgentRunResult& Finish() {
    runner.join();
    REQUIRE(result.has_value());
    REQUIRE(result->ok());
    return result->value();
  }
  std::string Run() const { return server.EventsOfType("run.start").at(0).value("run", ""); }
  std::string Texts() const {
    std::string all;
    for (const auto& e : server.EventsOfType("msg.append")) all += e["data"]["text"].get<std::string>() + "|";
    return all;
  }
};

}  // namespace

TEST_CASE("RunAgent: stdout becomes appends of one message; exit 0 ends the run done") {
  Rig rig;
  AgentScript& agent = rig.Start();
  agent.Print("hello ");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("msg.append") == 1; }));
  agent.Print("w\xc3");  // ends inside a UTF-8 sequence: held back until it is complete
  agent.Print("\xa9rld");
  agent.Exit(0);
  const AgentRunResult& r = rig.Finish();
  CHECK(r.reason == "done");
  CHECK(rig.Texts() == "hello |w|\xc3\xa9rld|");
  CHECK(r.bytes == 12);
  CHECK(r.fragments == 3);
  const auto end = rig.server.EventsOfType("run.end");
  REQUIRE(end.size() == 1);
  CHECK(end[0]["data"]["reason"] == "done");
  CHECK(end[0]["data"]["exit_code"] == 0);
  CHECK(rig.server.Count("msg.end") == 1);
}

TEST_CASE("RunAgent: a cancel stops the agent's process group and is acknowledged applied") {
  Rig rig;
  AgentScript& agent = rig.Start();
  agent.Print("working");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("msg.append") == 1; }));
  rig.server.Inject({{"type", "control.cancel"}, {"run", rig.Run()}, {"id", "k-1"}, {"data", json::object()}});
  const AgentRunResult& r = rig.Finish();
  CHECK(agent.record().stopped_before_exit);  // the stop came from the cancel, not from the end
  CHECK(agent.record().stop_requests >= 1);
  const auto acks = rig.server.EventsOfType("control.ack");
  REQUIRE(acks.size() == 1);
  CHECK(acks[0]["id"] == "k-1");
  CHECK(acks[0]["run"] == rig.Run());
  CHECK(acks[0]["data"]["outcome"] == "applied");
  CHECK(r.reason == "cancelled");
  CHECK(r.cancels == 1);
  const auto end = rig.server.EventsOfType("run.end");
  REQUIRE(end.size() == 1);
  CHECK(end[0]["data"]["reason"] == "cancelled");
  CHECK(end[0]["data"]["signal"] == SIGTERM);
}

TEST_CASE("RunAgent: a cancel of another run is not ours to answer") {
  Rig rig;
  AgentScript& agent = rig.Start();
  rig.server.Inject({{"type", "control.cancel"}, {"run", "r-other"}, {"id", "k-9"}, {"data", json::object()}});
  rig.server.Inject({{"type", "control.steer"}, {"run", rig.Run()}, {"id", "k-2"}, {"data", {{"text", "x"}}}});
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 1; }));
  agent.Exit(0);
  const AgentRunResult& r = rig.Finish();
  CHECK(r.reason == "done");
  CHECK(r.cancels == 0);
  CHECK(agent.record().stop_requests == 0);
  CHECK(rig.server.EventsOfType("control.ack").at(0)["id"] == "k-2");
}

TEST_CASE("RunAgent: steer text and JSON reach the agent's stdin; a closed stdin is rejected") {
  Rig rig;
  AgentScript& agent = rig.Start();
  const std::string run = rig.Run();
  rig.server.Inject({{"type", "control.steer"}, {"run", run}, {"id", "k-1"}, {"data", {{"text", "go left"}}}});
  rig.server.Inject({{"type", "control.steer"}, {"run", run}, {"id", "k-2"}, {"data", {{"json", {{"speed", 2}}}}}});
  REQUIRE(agent.WaitUntil([](const AgentScript::Record& rec) { return rec.stdin_text.size() >= 20; }));
  CHECK(agent.record().stdin_text == "go left\n{\"speed\":2}\n");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 2; }));
  agent.CloseStdin();
  rig.server.Inject({{"type", "control.steer"}, {"run", run}, {"id", "k-3"}, {"data", {{"text", "late"}}}});
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 3; }));
  agent.Exit(0);
  const AgentRunResult& r = rig.Finish();
  const auto acks = rig.server.EventsOfType("control.ack");
  CHECK(acks[0]["data"]["outcome"] == "applied");
  CHECK(acks[1]["data"]["outcome"] == "applied");
  CHECK(acks[2]["id"] == "k-3");
  CHECK(acks[2]["data"]["outcome"] == "rejected");
  CHECK(acks[2]["data"]["reason"].get<std::string>().find("stdin is closed") != std::string::npos);
  CHECK(r.steers == 3);
  CHECK(r.reason == "done");
}

TEST_CASE("RunAgent: heartbeats renew the lease every third of it, by the clock") {
  Rig rig;  // lease 15 s: a heartbeat 5 s after the run starts, then 5 s after each one
  AgentScript& agent = rig.Start();
  const std::int64_t t0 = rig.clock.SteadyMs();
  rig.clock.Advance(4999);
  rig.clock.Advance(1);
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Heartbeats().size() == 1; }));
  agent.Print("x");
  agent.Print("y");  // sent once "x" has been answered and counted: the runner is streaming
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("msg.append") == 2; }));
  rig.clock.Advance(5000);
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Heartbeats().size() == 2; }));
  agent.Exit(0);
  rig.Finish();
  const auto beats = rig.server.Heartbeats();
  REQUIRE(beats.size() == 2);  // none without the clock moving, none after the end
  CHECK(beats[0].steady_ms == t0 + 5000);
  CHECK(beats[0].state == "thinking");
  CHECK(beats[1].steady_ms == t0 + 10000);
  CHECK(beats[1].state == "streaming");
}

TEST_CASE("RunAgent: a lease the server ended (heartbeat 409) stops the agent; exit 4, no run.end") {
  Rig rig;
  rig.options.lease_ms = 3000;  // heartbeats every second
  AgentScript& agent = rig.Start();
  rig.server.SetHeartbeatStatus(409);
  rig.clock.Advance(1000);
  rig.runner.join();
  REQUIRE(rig.result.has_value());
  REQUIRE_FALSE(rig.result->ok());
  CHECK(rig.result->status().exit_code() == 4);
  CHECK(rig.result->status().message().find("agent_lost") != std::string::npos);
  CHECK(agent.record().stopped_before_exit);
  CHECK(rig.server.Count("run.end") == 0);  // the server ended it already
}

TEST_CASE("RunAgent: a server restart mid-run: appends retried exactly once, control resumes") {
  Rig rig;
  AgentScript& agent = rig.Start();
  agent.Print("a");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("msg.append") == 1; }));
  const int streams = rig.server.streams_opened();
  // The server goes away: open SSE connections reset; the next writes are refused, answered 503,
  // then stored with the answer lost on the way back.
  rig.server.DropStreams();
  rig.server.FailNextPosts({Fault::kRefused, Fault::k503, Fault::kAnswerLost});
  agent.Print("b");
  agent.Print("c");
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("msg.append") == 3; }));
  // The control follower reconnects (Last-Event-ID) and sees a steer sent after the restart once.
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.streams_opened() > streams; }));
  rig.server.Inject({{"type", "control.steer"}, {"run", rig.Run()}, {"id", "k-1"}, {"data", {{"text", "s"}}}});
  REQUIRE(rig.server.WaitUntil([&] { return rig.server.Count("control.ack") == 1; }));
  agent.Exit(0);
  const AgentRunResult& r = rig.Finish();
  CHECK(rig.Texts() == "a|b|c|");  // nothing lost, nothing twice
  CHECK(agent.record().stdin_text == "s\n");
  CHECK(r.reason == "done");
  CHECK(rig.server.Count("control.ack") == 1);
  CHECK(rig.server.Count("run.end") == 1);
  // The retries waited on the clock (100 + 200 + 400 ms of backoff), not on the wall.
  CHECK(rig.clock.SteadyMs() >= 700);
}

TEST_CASE("RunAgent: a 503 that outlasts --retry-for exits 5 (unavailable), like every client") {
  Rig rig;
  rig.options.retry_for_ms = 0;
  rig.server.FailNextPosts({Fault::k503});
  auto r = RunAgent(rig.options, rig.env);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().exit_code() == 5);
  CHECK(r.status().message() == "cannot start a run: restarting");
  CHECK(rig.agents_started == 0);  // refused before the agent was started
}
