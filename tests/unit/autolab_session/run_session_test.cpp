// RunSession against a real `dsx session serve` (serve_process.hpp), read back through the
// session API as the web UI and `dsx session tail` read it: events and their readable lines land
// in autolab/<run>; Stop (control.cancel, what the UI's Stop button and `dsx session cancel`
// send) reaches TakeControl as kStop and is acked applied; pause/resume arrive by steer as
// `dsx session steer` sends them (session/client/run_control, the code behind that command);
// a server down at the start, killed mid-run and restarted (file store: nothing lost or twice;
// memory: a new run), and gone at Close: Publish never blocks and the queue stays bounded.
// Waits are bounded polls on conditions (serve_process.hpp WaitUntil), never sleeps that assert.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "autolab/session/run_session.hpp"
#include "net/curl_transport.hpp"
#include "serve_process.hpp"
#include "session/client/run_control.hpp"
#include "session/client/session_client.hpp"

using namespace dsx;
using namespace dsx::autolab;
using dsx::autolab::testing::ServeProcess;
using dsx::autolab::testing::TempDir;
using dsx::autolab::testing::WaitUntil;
using nlohmann::json;
namespace sc = dsx::session::client;

namespace {

// The session's log as a reader sees it (catch-up pages from the start until up to date).
std::vector<json> ReadLog(const std::string& server, const std::string& session, const std::string& token = "") {
  net::CurlTransport t;
  sc::SessionClient c(t, server, session, token);
  std::vector<json> out;
  std::string offset = "-1";
  for (int page = 0; page < 1000; ++page) {
    auto a = c.Events(offset);
    if (!a.ok() || a->status != 200 || !a->body.is_object()) return out;
    for (const auto& e : a->body.value("events", json::array())) out.push_back(e);
    offset = a->body.value("offset", offset);
    if (a->body.value("up_to_date", true)) break;
  }
  return out;
}

std::vector<json> OfType(const std::vector<json>& log, const std::string& type) {
  std::vector<json> out;
  for (const auto& e : log) {
    if (e.value("type", "") == type) out.push_back(e);
  }
  return out;
}

// The text of the run's message(s): what the web UI shows in the run's reply.
std::string Text(const std::vector<json>& log) {
  std::string out;
  for (const auto& e : OfType(log, "msg.append")) out += e["data"].value("text", "");
  return out;
}

json Experiment(const std::string& id, const std::string& state) {
  return {{"type", "autolab.experiment"}, {"id", id}, {"state", state}};
}

// Events of `type` whose data.id is `id`.
int CountId(const std::vector<json>& log, const std::string& type, const std::string& id) {
  int n = 0;
  for (const auto& e : OfType(log, type)) {
    if (e.contains("data") && e["data"].value("id", "") == id) ++n;
  }
  return n;
}

RunSessionOptions Options(const std::string& server, const std::string& run) {
  RunSessionOptions o;
  o.server = server;
  o.run_name = run;
  o.backoff_initial_ms = 20;
  o.backoff_max_ms = 300;
  o.log = [](const std::string&) {};  // the tests' stderr stays quiet
  return o;
}

// The session run, once the first event has started it.
std::string WaitRun(RunSession& rs) {
  std::string run;
  WaitUntil([&] {
    run = rs.run();
    return !run.empty();
  });
  return run;
}

std::optional<Control> WaitControl(RunSession& rs) {
  std::optional<Control> got;
  WaitUntil([&] {
    got = rs.TakeControl();
    return got.has_value();
  });
  return got;
}

}  // namespace

TEST_CASE("published events and their readable lines land in autolab/<run>, then the run ends done") {
  ServeProcess server;
  auto rs = RunSession::Open(server.url(), "", "digits", Clock::System());  // the CLI's call
  REQUIRE_MESSAGE(rs.ok(), rs.status().message());
  CHECK((*rs)->session() == "autolab/digits");
  CHECK((*rs)->run().empty());  // the session run starts with the first event

  (*rs)->Publish({{"type", "autolab.run"},
                  {"state", "started"},
                  {"run", "digits"},
                  {"plan", "digits.yaml"},
                  {"objective", {{"metric", "val_loss"}}},
                  {"budget", {{"max_experiments", 6}}}});
  (*rs)->Publish({{"type", "autolab.experiment"},
                  {"id", "e-1234"},
                  {"state", "running"},
                  {"params", {{"lr", 0.01}}},
                  {"seed", 0}});
  (*rs)->Publish({{"type", "autolab.metric"}, {"id", "e-1234"}, {"step", 10}, {"value", 1.5}});
  (*rs)->Publish({{"type", "autolab.experiment"}, {"id", "e-1234"}, {"state", "finished"}, {"metric", 0.123}});
  (*rs)->Publish({{"type", "autolab.promoted"}, {"id", "e-1234"}, {"mean", 0.123}, {"ci", {0.1, 0.15}}});
  (*rs)->Publish({{"type", "autolab.report"}, {"path", "/runs/digits/report.md"}});
  (*rs)->Publish({{"type", "autolab.run"}, {"state", "done"}, {"run", "digits"}});
  const std::string run = WaitRun(**rs);
  REQUIRE(run.rfind("r-", 0) == 0);

  const std::vector<std::string> types = {"autolab.run",        "autolab.experiment", "autolab.metric",
                                          "autolab.experiment", "autolab.promoted",   "autolab.report",
                                          "autolab.run"};
  std::vector<json> log;
  REQUIRE(WaitUntil([&] {
    log = ReadLog(server.url(), "autolab/digits");
    return OfType(log, "autolab.report").size() == 1 && OfType(log, "autolab.run").size() == 2;
  }));
  std::vector<json> app;
  for (const auto& e : log) {
    if (e.value("type", "").rfind("autolab.", 0) == 0) app.push_back(e);
  }
  REQUIRE(app.size() == types.size());
  for (std::size_t i = 0; i < types.size(); ++i) {
    CHECK(app[i]["type"] == types[i]);
    CHECK(app[i]["run"] == run);  // the session run of this invocation
  }
  CHECK(app[3]["data"]["id"] == "e-1234");
  CHECK(app[3]["data"]["metric"] == 0.123);
  CHECK(app[0]["data"]["run"] == "digits");  // the event's own "run" (the AutoLab run) stays in data

  const std::string text = Text(log);
  CHECK(text.find("run digits started (plan digits.yaml; budget max_experiments=6)\n") != std::string::npos);
  CHECK(text.find("e-1234 running (lr=0.01 seed=0)\n") != std::string::npos);
  CHECK(text.find("e-1234 step 10: val_loss=1.5\n") != std::string::npos);
  CHECK(text.find("e-1234 finished val_loss=0.123\n") != std::string::npos);
  CHECK(text.find("e-1234 promoted: val_loss mean 0.123 [0.1, 0.15]\n") != std::string::npos);
  CHECK(text.find("report written: /runs/digits/report.md\n") != std::string::npos);
  const auto starts = OfType(log, "run.start");
  REQUIRE(starts.size() == 1);
  CHECK(starts[0]["data"]["command"] == "dsx autolab run digits");
  CHECK(OfType(log, "msg.start").at(0)["data"]["kind"] == "autolab.log");
  {
    // What the web UI renders: the compacted view, the run's lines as one message item.
    net::CurlTransport t;
    sc::SessionClient c(t, server.url(), "autolab/digits", "");
    net::HttpRequest r;
    r.url = c.Url("/view");
    r.timeout_ms = 10000;
    auto ex = t.Send(r);
    REQUIRE(ex.ok());
    REQUIRE(ex.response.status == 200);
    const json view = json::parse(ex.response.body);
    std::string shown;
    for (const auto& item : view["items"]) {
      if (item.value("type", "") == "msg") shown += item["data"].value("text", "");
    }
    CHECK(shown.find("e-1234 finished val_loss=0.123\n") != std::string::npos);
  }

  CHECK((*rs)->Close().ok());
  log = ReadLog(server.url(), "autolab/digits");
  const auto ends = OfType(log, "run.end");
  REQUIRE(ends.size() == 1);
  CHECK(ends[0]["data"]["reason"] == "done");
  CHECK(ends[0]["data"]["state"] == "done");
  CHECK(OfType(log, "msg.end").size() == 1);
  const RunSessionStats st = (*rs)->stats();
  CHECK(st.published == 7);
  CHECK(st.sent == 7);
  CHECK(st.dropped == 0);
  CHECK(st.rejected == 0);
  CHECK(st.runs_opened == 1);
  CHECK((*rs)->Close().ok());  // idempotent
}

TEST_CASE("Stop from the session (control.cancel, as the web UI's Stop sends it) arrives as kStop, acked applied") {
  ServeProcess server;
  auto rs = RunSession::Open(Options(server.url(), "digits"));
  REQUIRE_MESSAGE(rs.ok(), rs.status().message());
  (*rs)->Publish({{"type", "autolab.run"}, {"state", "started"}, {"run", "digits"}});
  const std::string run = WaitRun(**rs);
  CHECK_FALSE((*rs)->TakeControl().has_value());

  // `dsx session cancel autolab/digits`: every active run, then waits for the acks.
  net::CurlTransport t;
  sc::SessionClient client(t, server.url(), "autolab/digits", "");
  sc::ControlRequest q;
  q.reason = "stop pressed";
  q.wait_ms = 60000;
  auto asked = std::async(std::launch::async, [&] { return sc::SendControl(client, Clock::System(), q); });
  const auto got = WaitControl(**rs);
  REQUIRE(got.has_value());
  CHECK(*got == Control::kStop);
  auto report = asked.get();
  REQUIRE(report.ok());
  REQUIRE(report->results.size() == 1);
  CHECK(report->results[0].run == run);
  CHECK(report->results[0].outcome == "applied");
  CHECK(report->status.ok());

  // The driver stops: its last events still land, their lines are cut by the server's rule.
  (*rs)->Publish(Experiment("e-7", "cancelled"));
  (*rs)->Publish({{"type", "autolab.run"}, {"state", "stopped"}, {"run", "digits"}});
  std::vector<json> log;
  REQUIRE(WaitUntil([&] {
    log = ReadLog(server.url(), "autolab/digits");
    return OfType(log, "autolab.run").size() == 2;
  }));
  CHECK(CountId(log, "autolab.experiment", "e-7") == 1);
  CHECK(Text(log).find("e-7") == std::string::npos);
  CHECK((*rs)->Close().ok());
  CHECK((*rs)->stats().lines_cut == 2);
  log = ReadLog(server.url(), "autolab/digits");
  REQUIRE(OfType(log, "run.end").size() == 1);
  CHECK(OfType(log, "run.end")[0]["data"]["reason"] == "cancelled");
  CHECK(OfType(log, "control.ack").at(0)["data"]["outcome"] == "applied");
}

TEST_CASE("pause and resume arrive by steer, as `dsx session steer` sends them; other steers are rejected") {
  ServeProcess server;
  auto rs = RunSession::Open(Options(server.url(), "tiny-lm"));
  REQUIRE_MESSAGE(rs.ok(), rs.status().message());
  (*rs)->Publish({{"type", "autolab.run"}, {"state", "started"}, {"run", "tiny-lm"}});
  REQUIRE(!WaitRun(**rs).empty());
  net::CurlTransport t;
  sc::SessionClient client(t, server.url(), "autolab/tiny-lm", "");
  auto steer = [&](json data) {
    sc::ControlRequest q;
    q.steer = true;
    q.data = std::move(data);
    q.wait_ms = 60000;
    return std::async(std::launch::async, [&client, q] { return sc::SendControl(client, Clock::System(), q); });
  };

  // dsx session steer autolab/tiny-lm pause
  auto pause = steer({{"text", "pause"}});
  auto got = WaitControl(**rs);
  REQUIRE(got.has_value());
  CHECK(*got == Control::kPause);
  auto r1 = pause.get();
  REQUIRE(r1.ok());
  CHECK(r1->results.at(0).outcome == "applied");

  // dsx session steer autolab/tiny-lm --json-data '{"control":"resume"}'
  auto resume = steer({{"json", {{"control", "Resume"}}}});
  got = WaitControl(**rs);
  REQUIRE(got.has_value());
  CHECK(*got == Control::kRun);
  CHECK(resume.get()->results.at(0).outcome == "applied");

  // Anything else: rejected at once, saying what is taken; the driver sees nothing.
  auto other = steer({{"text", "try a bigger model"}});
  auto r3 = other.get();
  REQUIRE(r3.ok());
  CHECK(r3->results.at(0).outcome == "rejected");
  CHECK(r3->results.at(0).reason.find("'stop', 'pause' or 'resume'") != std::string::npos);
  CHECK(r3->status.code() == Code::kConflict);
  CHECK_FALSE((*rs)->TakeControl().has_value());

  // Two requests before the driver looks: the latest wins, the earlier one is superseded.
  const std::string run = (*rs)->run();
  auto p1 = client.Post(json{{"type", "control.steer"}, {"run", run}, {"data", {{"text", "pause"}}}});
  auto p2 = client.Post(json{{"type", "control.steer"}, {"run", run}, {"data", {{"text", " STOP "}}}});
  REQUIRE((p1.ok() && p2.ok()));
  const std::string id1 = p1->body["outcome"]["id"], id2 = p2->body["outcome"]["id"];
  REQUIRE(WaitUntil([&] { return (*rs)->stats().controls == 5; }));
  got = (*rs)->TakeControl();
  REQUIRE(got.has_value());
  CHECK(*got == Control::kStop);
  std::map<std::string, json> acks;
  REQUIRE(WaitUntil([&] {
    for (const auto& e : OfType(ReadLog(server.url(), "autolab/tiny-lm"), "control.ack")) acks[e["id"]] = e["data"];
    return acks.count(id1) && acks.count(id2);
  }));
  CHECK(acks[id1]["outcome"] == "rejected");
  CHECK(acks[id1]["reason"] == "superseded by " + id2);
  CHECK(acks[id2]["outcome"] == "applied");
  CHECK((*rs)->stats().controls_taken == 3);
}

TEST_CASE(
    "server down at the start: Open succeeds, Publish never blocks, the queue stays bounded, then it catches up") {
  const int port = testing::FreePort();
  RunSessionOptions o = Options("http://127.0.0.1:" + std::to_string(port), "digits");
  o.max_queued = 50;
  std::vector<std::string> said;
  std::mutex said_mu;
  o.log = [&](const std::string& line) {
    std::lock_guard lock(said_mu);
    said.push_back(line);
  };
  auto rs = RunSession::Open(o);
  REQUIRE_MESSAGE(rs.ok(), rs.status().message());
  CHECK((*rs)->run().empty());
  CHECK_FALSE((*rs)->stats().connected);

  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5000; ++i) (*rs)->Publish(Experiment("e-" + std::to_string(i), "finished"));
  const auto took = std::chrono::steady_clock::now() - t0;
  // Only queueing happened: far below one network round trip per event (generous for a loaded machine).
  CHECK(took < std::chrono::seconds(10));
  RunSessionStats st = (*rs)->stats();
  CHECK(st.published == 5000);
  CHECK(st.queued == 50);
  CHECK(st.dropped == 4950);

  ServeProcess::Options so;
  so.port = port;
  ServeProcess server(so);
  std::vector<json> log;
  REQUIRE(WaitUntil([&] {
    log = ReadLog(server.url(), "autolab/digits");
    return CountId(log, "autolab.experiment", "e-4999") == 1;
  }));
  // The newest 50 went, in order; the older ones were dropped.
  const auto app = OfType(log, "autolab.experiment");
  REQUIRE(app.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(app[i]["data"]["id"] == "e-" + std::to_string(4950 + i));
  CHECK((*rs)->Close().ok());
  std::lock_guard lock(said_mu);
  REQUIRE(said.size() >= 2);
  CHECK(said.front().find("cannot reach the server") != std::string::npos);
  CHECK(said.back().find("publishing again (4950 events dropped meanwhile)") != std::string::npos);
}

TEST_CASE("a full queue drops intermediate points before experiments") {
  const int port = testing::FreePort();
  RunSessionOptions o = Options("http://127.0.0.1:" + std::to_string(port), "digits");
  o.max_queued = 10;
  auto rs = RunSession::Open(o);
  REQUIRE(rs.ok());
  for (int i = 0; i < 5; ++i) (*rs)->Publish(Experiment("e-" + std::to_string(i), "finished"));
  for (int i = 0; i < 20; ++i) (*rs)->Publish({{"type", "autolab.metric"}, {"id", "e-9"}, {"step", i}, {"value", 1.0}});
  CHECK((*rs)->stats().dropped == 15);
  ServeProcess::Options so;
  so.port = port;
  ServeProcess server(so);
  std::vector<json> log;
  REQUIRE(WaitUntil([&] {
    log = ReadLog(server.url(), "autolab/digits");
    return OfType(log, "autolab.metric").size() == 5;
  }));
  CHECK(OfType(log, "autolab.experiment").size() == 5);  // every experiment kept
  const auto points = OfType(log, "autolab.metric");
  for (int i = 0; i < 5; ++i) CHECK(points[i]["data"]["step"] == 15 + i);  // the newest points kept
  CHECK((*rs)->Close().ok());
}

TEST_CASE("server killed mid-run and restarted on its data: every event lands exactly once, in the same run") {
  ServeProcess::Options so;
  so.memory = false;
  ServeProcess server(so);
  auto rs = RunSession::Open(Options(server.url(), "digits"));
  REQUIRE(rs.ok());
  for (int i = 0; i < 20; ++i) (*rs)->Publish(Experiment("e-" + std::to_string(i), "finished"));
  REQUIRE(
      WaitUntil([&] { return CountId(ReadLog(server.url(), "autolab/digits"), "autolab.experiment", "e-19") == 1; }));

  const std::string run = (*rs)->run();
  server.Kill();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 20; i < 50; ++i) {
    (*rs)->Publish(Experiment("e-" + std::to_string(i), "finished"));
    // A stream of events while the writer retries: nothing waits on it.
    (*rs)->Publish({{"type", "autolab.metric"}, {"id", "e-" + std::to_string(i)}, {"step", 1}, {"value", 0.5}});
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  server.Start();

  std::vector<json> log;
  REQUIRE(WaitUntil([&] {
    log = ReadLog(server.url(), "autolab/digits");
    return CountId(log, "autolab.experiment", "e-49") == 1;
  }));
  for (int i = 0; i < 50; ++i) CHECK(CountId(log, "autolab.experiment", "e-" + std::to_string(i)) == 1);
  CHECK(OfType(log, "run.start").size() == 1);  // the lease survived the restart: same run
  CHECK((*rs)->run() == run);
  CHECK((*rs)->stats().dropped == 0);
  CHECK((*rs)->Close().ok());
}

TEST_CASE("server restarted empty: a new run is opened and publishing goes on") {
  ServeProcess server;  // --memory: the restart forgets the session
  auto rs = RunSession::Open(Options(server.url(), "digits"));
  REQUIRE(rs.ok());
  (*rs)->Publish(Experiment("e-1", "finished"));
  REQUIRE(WaitUntil([&] { return (*rs)->stats().sent == 1; }));
  const std::string first = (*rs)->run();
  server.Kill();
  server.Start();
  (*rs)->Publish(Experiment("e-2", "finished"));
  std::vector<json> log;
  REQUIRE(WaitUntil([&] {
    log = ReadLog(server.url(), "autolab/digits");
    return CountId(log, "autolab.experiment", "e-2") == 1;
  }));
  CHECK((*rs)->stats().runs_opened == 2);
  CHECK((*rs)->run() != first);
  CHECK(OfType(log, "autolab.experiment").at(0)["run"] == (*rs)->run());
  CHECK(Text(log).find("e-2 finished") != std::string::npos);

  // Stop reaches the new run too.
  net::CurlTransport t;
  sc::SessionClient client(t, server.url(), "autolab/digits", "");
  REQUIRE(client.Post(json{{"type", "control.cancel"}, {"run", (*rs)->run()}}).ok());
  const auto got = WaitControl(**rs);
  REQUIRE(got.has_value());
  CHECK(*got == Control::kStop);
  CHECK((*rs)->Close().ok());
}

TEST_CASE("Close with the server gone is bounded and says what was not delivered") {
  ServeProcess server;
  RunSessionOptions o = Options(server.url(), "digits");
  o.close_flush_ms = 500;
  auto rs = RunSession::Open(o);
  REQUIRE(rs.ok());
  (*rs)->Publish(Experiment("e-first", "running"));
  REQUIRE(WaitUntil([&] { return (*rs)->stats().sent == 1; }));
  server.Kill();
  for (int i = 0; i < 10; ++i) (*rs)->Publish(Experiment("e-" + std::to_string(i), "finished"));
  const auto t0 = std::chrono::steady_clock::now();
  const Status st = (*rs)->Close();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));  // 0.5 s + 2 s grace, generously
  CHECK(st.code() == Code::kUnavailable);
  CHECK(st.message().find("10 progress events were not delivered to session 'autolab/digits'") != std::string::npos);
  (*rs)->Publish(Experiment("e-late", "finished"));  // after Close: dropped, no crash
  CHECK((*rs)->stats().dropped == 1);
}

TEST_CASE("an invocation that publishes nothing (the run's lease is held elsewhere) leaves the live run alone") {
  ServeProcess server;
  auto live = RunSession::Open(Options(server.url(), "digits"));
  REQUIRE(live.ok());
  (*live)->Publish(Experiment("e-1", "running"));
  const std::string run = WaitRun(**live);
  {
    auto overlapping = RunSession::Open(Options(server.url(), "digits"));  // cron, one hour later
    REQUIRE(overlapping.ok());
    CHECK((*overlapping)->Close().ok());
    CHECK((*overlapping)->stats().runs_opened == 0);
  }
  (*live)->Publish(Experiment("e-1", "finished"));
  std::vector<json> log;
  REQUIRE(WaitUntil([&] {
    log = ReadLog(server.url(), "autolab/digits");
    return CountId(log, "autolab.experiment", "e-1") == 2;
  }));
  CHECK(OfType(log, "run.start").size() == 1);
  CHECK(OfType(log, "run.end").empty());
  CHECK((*live)->run() == run);
  CHECK((*live)->stats().runs_opened == 1);
  CHECK((*live)->Close().ok());
}

TEST_CASE("the plan's metric name reads in the lines before any run event says it") {
  ServeProcess server;
  RunSessionOptions o = Options(server.url(), "digits");
  o.metric = "val_bpb";
  auto rs = RunSession::Open(o);
  REQUIRE(rs.ok());
  (*rs)->Publish({{"type", "autolab.experiment"}, {"id", "e-9"}, {"state", "finished"}, {"metric", 1.25}});
  REQUIRE(WaitUntil([&] {
    return Text(ReadLog(server.url(), "autolab/digits")).find("e-9 finished val_bpb=1.25\n") != std::string::npos;
  }));
  CHECK((*rs)->Close().ok());
}

TEST_CASE("what is not an event is counted and dropped; odd strings are sent, not thrown") {
  ServeProcess server;
  auto rs = RunSession::Open(Options(server.url(), "digits"));
  REQUIRE(rs.ok());
  (*rs)->Publish(json(42));
  (*rs)->Publish({{"no", "type"}});
  (*rs)->Publish({{"type", "run.end"}, {"data", {{"reason", "done"}}}});  // a session type: never from a sink
  (*rs)->Publish({{"type", "control.cancel"}});
  (*rs)->Publish({{"type", "autolab.experiment"}, {"id", "e-big"}, {"reason", std::string(100 * 1024, 'x')}});
  json deep = 1;
  for (int i = 0; i < 70; ++i) deep = json::array({deep});
  (*rs)->Publish({{"type", "autolab.experiment"}, {"id", "e-deep"}, {"params", deep}});
  // Invalid UTF-8 from an experiment's output in a reason: replaced, not an exception on a thread.
  (*rs)->Publish(
      {{"type", "autolab.experiment"}, {"id", "e-utf"}, {"state", "failed"}, {"reason", "bad \xff\xfe bytes"}});
  std::vector<json> log;
  REQUIRE(WaitUntil([&] {
    log = ReadLog(server.url(), "autolab/digits");
    return CountId(log, "autolab.experiment", "e-utf") == 1;
  }));
  // The server stored the batch before the writer read its answer: wait for that too.
  REQUIRE(WaitUntil([&] { return (*rs)->stats().sent == 1; }));
  const RunSessionStats st = (*rs)->stats();
  CHECK(st.rejected == 6);
  CHECK(st.sent == 1);
  CHECK(OfType(log, "autolab.experiment").size() == 1);
  CHECK(OfType(log, "run.end").empty());
  CHECK(OfType(log, "control.cancel").empty());
  CHECK(Text(log).find("e-utf failed: bad ") != std::string::npos);
  CHECK((*rs)->Close().ok());
}

TEST_CASE("Open: bad arguments and a refused token are errors at once; the token is never in a message") {
  CHECK(RunSession::Open("", "", "digits", Clock::System()).status().code() == Code::kUsage);
  CHECK(RunSession::Open("127.0.0.1:1", "", "digits", Clock::System()).status().code() == Code::kUsage);
  for (const char* bad : {"", ".", "..", "a/b", "tab\there"}) {
    CHECK(RunSession::Open("http://127.0.0.1:1", "", bad, Clock::System()).status().code() == Code::kUsage);
  }

  TempDir keys;
  const std::string key = (keys.path() / "hs256.key").string();
  { std::ofstream(key) << "0123456789abcdef0123456789abcdef-autolab-session-test\n"; }
  ServeProcess::Options so;
  so.auth_key_file = key;
  ServeProcess server(so);
  const std::string secret = "eyJhbGciOiJIUzI1NiJ9.not-a-token.SECRET-SIGNATURE";
  std::vector<std::string> said;
  RunSessionOptions o = Options(server.url(), "digits");
  o.token = secret;
  o.log = [&](const std::string& line) { said.push_back(line); };
  auto refused = RunSession::Open(o);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kConflict);  // 401: exit 4, refused
  CHECK(refused.status().message().find("SECRET") == std::string::npos);
  CHECK(refused.status().message().find("autolab/digits") != std::string::npos);

  // A real token (as `dsx session token` mints it) with the rights docs/formats/autolab-session.md lists.
  const std::string out = (keys.path() / "token.txt").string();
  REQUIRE(testing::RunDsx({"session", "token", "--auth-key-file", key, "--sub", "autolab", "--rights",
                           "read,append,run,cancel_own", "--session", "autolab/*"},
                          out) == 0);
  std::string token, line;
  std::ifstream in(out);
  while (std::getline(in, line)) {
    if (!line.empty()) token = line;
  }
  REQUIRE(!token.empty());
  o.token = token;
  auto rs = RunSession::Open(o);
  REQUIRE_MESSAGE(rs.ok(), rs.status().message());
  (*rs)->Publish(Experiment("e-1", "finished"));
  REQUIRE(WaitUntil(
      [&] { return CountId(ReadLog(server.url(), "autolab/digits", token), "autolab.experiment", "e-1") == 1; }));
  CHECK((*rs)->Close().ok());
  for (const auto& l : said) {
    CHECK(l.find("SECRET") == std::string::npos);
    CHECK(l.find(token) == std::string::npos);
  }
}
