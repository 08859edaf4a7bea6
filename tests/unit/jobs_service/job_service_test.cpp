// JobService over a fake Backend (written here): submit/poll/cancel flows, what lands in the
// registry (state.json, events.jsonl), unknown ids, damaged and half-written folders, the config
// file and the record update rule. No process is started and no time passes: a ManualClock.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "core/clock.hpp"
#include "jobs/registry.hpp"
#include "jobs/service/job_service.hpp"
#include "jobs/service/jobs_config.hpp"
#include "jobs/service/record_update.hpp"
#include "jobs/service/watcher.hpp"
#include "jobs/service/watcher_process.hpp"

namespace fs = std::filesystem;
using namespace dsx;
using namespace dsx::jobs;

namespace {

// What the fake backend's "cluster" holds, shared by every FakeBackend the factory makes (the
// service opens a fresh backend per call, as it would for a new dsx process).
struct FakeWorld {
  std::mutex mu;
  std::map<std::string, JobStatus> jobs;  // backend id -> state
  std::vector<std::string> submitted_dirs;
  int polls = 0;
  int cancels = 0;
  int next_id = 100;
  Status submit_error;              // non-OK: Submit fails with it
  Status poll_error;                // non-OK: Poll fails with it
  Status cancel_error;              // non-OK: Cancel fails with it
  bool cancel_is_immediate = true;  // Cancel turns the job cancelled at once (else only later)
  int cancel_after_polls = -1;      // with !cancel_is_immediate: cancelled after this many polls
  std::vector<std::string> log_lines;
  // States Poll moves through, one per poll (the last one stays); empty: `jobs` as set.
  std::vector<JobStatus> script;
  int poll_errors_left = 0;  // this many polls fail with kUnavailable first
};

class FakeBackend final : public Backend {
 public:
  explicit FakeBackend(FakeWorld& w) : w_(w) {}
  std::string name() const override { return "local"; }
  Result<std::string> Render(const JobRecord& r) const override {
    std::string s = "fake run:";
    for (const auto& a : r.request.command) s += " " + a;
    return s;
  }
  Result<Submitted> Submit(const JobRecord& r, const std::string& jobdir) override {
    std::lock_guard<std::mutex> l(w_.mu);
    if (!w_.submit_error.ok()) return w_.submit_error;
    CHECK(fs::exists(jobdir + "/job.json"));  // the folder is whole before the backend sees it
    w_.submitted_dirs.push_back(jobdir);
    const std::string id = "fake-" + std::to_string(w_.next_id++);
    w_.jobs[id] = JobStatus{JobState::kQueued, "PENDING", "", std::nullopt};
    return Submitted{id, r.request.name.empty() ? "" : "https://fake/" + id};
  }
  Result<JobStatus> Poll(const JobRecord& r) override {
    std::lock_guard<std::mutex> l(w_.mu);
    ++w_.polls;
    if (!w_.poll_error.ok()) return w_.poll_error;
    if (w_.poll_errors_left > 0) {
      --w_.poll_errors_left;
      return Status::Unavailable("fake: connection refused");
    }
    auto it = w_.jobs.find(r.backend_id);
    if (it == w_.jobs.end()) return Status::NotFound("fake: no job " + r.backend_id);
    if (it != w_.jobs.end() && !w_.script.empty()) {
      it->second = w_.script.front();
      if (w_.script.size() > 1) w_.script.erase(w_.script.begin());
    }
    if (w_.cancel_after_polls > 0 && --w_.cancel_after_polls == 0) {
      it->second = JobStatus{JobState::kCancelled, "CANCELLED", "", std::nullopt};
    }
    return it->second;
  }
  Status Logs(const JobRecord&, const std::string&, bool, const LogSink& sink, const std::atomic<bool>*) override {
    std::vector<std::string> lines;
    {
      std::lock_guard<std::mutex> l(w_.mu);
      lines = w_.log_lines;
    }
    for (const auto& line : lines) {
      if (!sink(line)) break;
    }
    return Status::Ok();
  }
  Status Cancel(const JobRecord& r) override {
    std::lock_guard<std::mutex> l(w_.mu);
    ++w_.cancels;
    if (!w_.cancel_error.ok()) return w_.cancel_error;
    auto it = w_.jobs.find(r.backend_id);
    if (it == w_.jobs.end()) return Status::NotFound("fake: no job " + r.backend_id);
    if (w_.cancel_is_immediate) it->second = JobStatus{JobState::kCancelled, "CANCELLED", "", std::nullopt};
    return Status::Ok();
  }

 private:
  FakeWorld& w_;
};

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dsx-jobs-service-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct Fixture {
  TempDir tmp;
  ManualClock clock{1'800'000'000'000};
  FakeWorld world;
  std::unique_ptr<JobService> service;

  explicit Fixture(const std::string& config_text = "") {
    ServiceOptions o;
    o.registry_root = (tmp.path / "jobs").string();
    o.clock = &clock;
    o.config_path = (tmp.path / "jobs.toml").string();
    std::ofstream(o.config_path) << config_text;
    auto s = JobService::Open(o);
    REQUIRE(s.ok());
    service = std::move(*s);
    service->SetBackendFactoryForTest([this](const std::string& name) -> Result<std::unique_ptr<Backend>> {
      if (name != "local" && name != "slurm") return Status::Usage("unknown backend '" + name + "'");
      return std::unique_ptr<Backend>(std::make_unique<FakeBackend>(world));
    });
  }
  std::string Dir(const std::string& id) const { return (tmp.path / "jobs" / id).string(); }
  std::vector<nlohmann::json> Events(const std::string& id) const {
    std::vector<nlohmann::json> out;
    std::ifstream in(Dir(id) + "/events.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  void SetState(const std::string& backend_id, JobState s, std::optional<int> code = std::nullopt) {
    std::lock_guard<std::mutex> l(world.mu);
    world.jobs[backend_id] = JobStatus{s, JobStateName(s), "", code};
  }
};

JobRequest Echo(const std::string& kind = "generic") {
  JobRequest r;
  r.name = "echo";
  r.kind = kind;
  r.command = {"echo", "hi"};
  return r;
}

}  // namespace

TEST_CASE("submit writes the record, hands it to the backend and logs a queued event") {
  Fixture f;
  auto rec = f.service->Submit(Echo());
  REQUIRE(rec.ok());
  CHECK(IsValidJobId(rec->id));
  CHECK(rec->backend_id == "fake-100");
  CHECK(rec->url == "https://fake/fake-100");
  CHECK(rec->status.state == JobState::kQueued);
  CHECK(rec->session.empty());  // no server: no session
  REQUIRE(f.world.submitted_dirs.size() == 1);
  CHECK(f.world.submitted_dirs[0] == f.Dir(rec->id));
  // A new service (another dsx process) sees the same record.
  Registry reg = *Registry::Open((f.tmp.path / "jobs").string());
  auto loaded = reg.Load(rec->id);
  REQUIRE(loaded.ok());
  CHECK(loaded->backend_id == "fake-100");
  auto events = f.Events(rec->id);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["state"] == "queued");
}

TEST_CASE("status follows the backend; each state change is saved once and appended as one event") {
  Fixture f;
  auto rec = f.service->Submit(Echo());
  REQUIRE(rec.ok());
  f.clock.Advance(1000);
  f.SetState(rec->backend_id, JobState::kRunning);
  auto s1 = f.service->Status(rec->id);
  REQUIRE(s1.ok());
  CHECK(s1->status.state == JobState::kRunning);
  CHECK(s1->started_ms == f.clock.NowMs());
  CHECK(s1->finished_ms == 0);
  auto again = f.service->Status(rec->id);  // no change: no new event
  REQUIRE(again.ok());
  CHECK(f.Events(rec->id).size() == 2);

  f.clock.Advance(5000);
  f.SetState(rec->backend_id, JobState::kSucceeded, 0);
  auto s2 = f.service->Status(rec->id);
  REQUIRE(s2.ok());
  CHECK(s2->status.state == JobState::kSucceeded);
  CHECK(s2->status.exit_code == 0);
  CHECK(s2->finished_ms == f.clock.NowMs());
  CHECK(s2->started_ms == s1->started_ms);
  auto events = f.Events(rec->id);
  REQUIRE(events.size() == 3);
  CHECK(events[1]["state"] == "running");
  CHECK(events[2]["state"] == "succeeded");
  CHECK(events[2]["exit_code"] == 0);

  // Terminal records are final: the backend is not asked again, and forgetting the job later
  // does not turn "succeeded" into "lost".
  const int polls = f.world.polls;
  f.world.jobs.clear();
  auto s3 = f.service->Status(rec->id);
  REQUIRE(s3.ok());
  CHECK(s3->status.state == JobState::kSucceeded);
  CHECK(f.world.polls == polls);
}

TEST_CASE("a backend that forgot a live job makes it lost; an unreachable backend changes nothing") {
  Fixture f;
  auto rec = f.service->Submit(Echo());
  REQUIRE(rec.ok());
  f.world.poll_error = Status::Unavailable("fake: cannot reach the cluster");
  auto down = f.service->Status(rec->id);
  CHECK(down.status().code() == Code::kUnavailable);
  CHECK(f.Events(rec->id).size() == 1);  // nothing recorded for a question with no answer
  f.world.poll_error = Status::Ok();
  f.world.jobs.clear();
  auto lost = f.service->Status(rec->id);
  REQUIRE(lost.ok());
  CHECK(lost->status.state == JobState::kLost);
  CHECK(lost->status.detail.find("no job fake-100") != std::string::npos);
}

TEST_CASE("cancel: the backend's cancel, then polled until terminal") {
  Fixture f;
  auto rec = f.service->Submit(Echo());
  REQUIRE(rec.ok());
  f.SetState(rec->backend_id, JobState::kRunning);
  auto c = f.service->Cancel(rec->id, std::chrono::seconds(30));
  REQUIRE(c.ok());
  CHECK(c->status.state == JobState::kCancelled);
  CHECK(f.world.cancels == 1);
  auto events = f.Events(rec->id);
  bool requested = false;
  for (const auto& e : events) requested = requested || e.value("event", "") == "cancel_requested";
  CHECK(requested);
  CHECK(events.back()["state"] == "cancelled");

  // Cancelling a job that already ended reports it and asks the backend nothing.
  auto again = f.service->Cancel(rec->id, std::chrono::seconds(30));
  REQUIRE(again.ok());
  CHECK(again->status.state == JobState::kCancelled);
  CHECK(f.world.cancels == 1);
}

TEST_CASE("cancel waits on the clock for a backend that stops the job later, and gives up at --wait") {
  Fixture f;
  auto rec = f.service->Submit(Echo());
  REQUIRE(rec.ok());
  f.SetState(rec->backend_id, JobState::kRunning);
  f.world.cancel_is_immediate = false;
  f.world.cancel_after_polls = 3;
  auto c = f.service->Cancel(rec->id, std::chrono::seconds(30));
  REQUIRE(c.ok());
  CHECK(c->status.state == JobState::kCancelled);
  CHECK_FALSE(f.clock.sleeps().empty());

  auto rec2 = f.service->Submit(Echo());
  REQUIRE(rec2.ok());
  f.SetState(rec2->backend_id, JobState::kRunning);
  f.world.cancel_after_polls = -1;  // never stops
  const std::int64_t t0 = f.clock.SteadyMs();
  auto c2 = f.service->Cancel(rec2->id, std::chrono::seconds(5));
  REQUIRE(c2.ok());
  CHECK(c2->status.state == JobState::kRunning);
  CHECK(f.clock.SteadyMs() - t0 == 5000);
}

TEST_CASE("a refused cancel is the backend's error and leaves the job as it was") {
  Fixture f;
  auto rec = f.service->Submit(Echo());
  REQUIRE(rec.ok());
  f.SetState(rec->backend_id, JobState::kRunning);
  f.world.cancel_error = Status::Conflict("fake: 403 forbidden");
  auto c = f.service->Cancel(rec->id, std::chrono::seconds(1));
  CHECK(c.status().code() == Code::kConflict);
  CHECK(c.status().message().find("403") != std::string::npos);
  auto s = f.service->Status(rec->id);
  REQUIRE(s.ok());
  CHECK(s->status.state == JobState::kRunning);
}

TEST_CASE("a submit the backend refuses keeps the folder as a failed job with the reason") {
  Fixture f;
  f.world.submit_error = Status::Conflict("fake: 402 no credit");
  auto rec = f.service->Submit(Echo());
  CHECK(rec.status().code() == Code::kConflict);
  auto all = f.service->List("", nullptr);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].status.state == JobState::kFailed);
  CHECK((*all)[0].status.detail.find("402") != std::string::npos);
}

TEST_CASE("bad requests write nothing: unknown backend, no command") {
  Fixture f;
  JobRequest r = Echo();
  r.backend = "nope";
  CHECK(f.service->Submit(r).status().code() == Code::kUsage);
  CHECK(f.service->Render(r).status().code() == Code::kUsage);
  r = Echo();
  r.command.clear();
  CHECK(f.service->Submit(r).status().code() == Code::kUsage);
  r = Echo();
  r.secret_env = {"DSX_JOBS_SERVICE_TEST_UNSET_SECRET"};
  ::unsetenv("DSX_JOBS_SERVICE_TEST_UNSET_SECRET");
  CHECK(f.service->Submit(r).status().code() == Code::kUsage);
  CHECK(f.world.submitted_dirs.empty());
  auto all = f.service->List("", nullptr);
  REQUIRE(all.ok());
  CHECK(all->empty());
}

TEST_CASE("unknown and invalid ids: kNotFound and kUsage for status, logs and cancel") {
  Fixture f;
  const std::string unknown = "j-20260101-000000-abcdef";
  CHECK(f.service->Status(unknown).status().code() == Code::kNotFound);
  CHECK(f.service->Cancel(unknown, std::chrono::seconds(1)).status().code() == Code::kNotFound);
  CHECK(f.service
            ->Logs(
                unknown, false, [](std::string_view) { return true; }, nullptr)
            .code() == Code::kNotFound);
  CHECK(f.service->Status("../etc").status().code() == Code::kUsage);
  CHECK(f.service->Status("").status().code() == Code::kUsage);
  CHECK_FALSE(fs::exists(f.tmp.path / "etc"));
}

TEST_CASE("logs go from the backend to the sink") {
  Fixture f;
  auto rec = f.service->Submit(Echo());
  REQUIRE(rec.ok());
  f.world.log_lines = {"one", "two", "three"};
  std::vector<std::string> got;
  Status s = f.service->Logs(
      rec->id, false,
      [&](std::string_view l) {
        got.emplace_back(l);
        return got.size() < 2;  // the sink can stop early
      },
      nullptr);
  CHECK(s.ok());
  CHECK(got == std::vector<std::string>{"one", "two"});
}

TEST_CASE("list filters by kind and reports damaged and half-written folders without failing") {
  Fixture f;
  REQUIRE(f.service->Submit(Echo("generic")).ok());
  f.clock.Advance(1000);
  REQUIRE(f.service->Submit(Echo("finetune")).ok());
  // A folder with a job id but no whole job.json: what a crash outside Create could leave.
  const std::string damaged = "j-20260101-000000-a1b2c3";
  fs::create_directories(f.tmp.path / "jobs" / damaged);
  std::ofstream(f.tmp.path / "jobs" / damaged / "job.json") << "{\"id\": \"j-2026";
  // A Create killed half-way long ago.
  const fs::path tmp = f.tmp.path / "jobs" / ".tmp-j-20260101-000000-ffffff";
  fs::create_directories(tmp);
  fs::last_write_time(tmp, fs::file_time_type::clock::now() - std::chrono::hours(2));

  std::vector<std::string> problems;
  auto all = f.service->List("", &problems);
  REQUIRE(all.ok());
  CHECK(all->size() == 2);
  CHECK((*all)[0].request.kind == "finetune");  // newest first
  REQUIRE(problems.size() == 2);
  std::string joined = problems[0] + "\n" + problems[1];
  CHECK(joined.find(damaged) != std::string::npos);
  CHECK(joined.find("half-written") != std::string::npos);

  auto ft = f.service->List("finetune", nullptr);
  REQUIRE(ft.ok());
  REQUIRE(ft->size() == 1);
  CHECK((*ft)[0].request.kind == "finetune");
  // The damaged job answers with kFailed naming it, never a crash or a guess.
  CHECK(f.service->Status(damaged).status().code() == Code::kFailed);
}

TEST_CASE("render is a dry run: the backend's text, nothing in the registry") {
  Fixture f;
  auto text = f.service->Render(Echo());
  REQUIRE(text.ok());
  CHECK(*text == "fake run: echo hi");
  auto all = f.service->List("", nullptr);
  REQUIRE(all.ok());
  CHECK(all->empty());
}

TEST_CASE("jobs.toml fills the Slurm partition/account and HF namespace the request left unset") {
  Fixture f("[slurm]\npartition = \"gpu\"\naccount = \"proj\"\n[hf]\nnamespace = \"my-org\"\n");
  JobRequest r = Echo();
  r.backend = "slurm";
  r.resources.account = "mine";  // a flag wins over the file
  auto rec = f.service->Submit(r);
  REQUIRE(rec.ok());
  CHECK(rec->request.resources.partition == "gpu");
  CHECK(rec->request.resources.account == "mine");
  CHECK(rec->request.resources.namespace_ == "my-org");
}

TEST_CASE("jobs.toml errors name the file and field; a missing default file is fine") {
  CHECK(ParseJobsConfig("[slurm]\npartition = 3\n", "x.toml").status().code() == Code::kUsage);
  CHECK(ParseJobsConfig("[slurm]\npartition = 3\n", "x.toml").status().message().find("slurm.partition") !=
        std::string::npos);
  CHECK(ParseJobsConfig("[slurm\n", "x.toml").status().message().find("x.toml") != std::string::npos);
  CHECK(ParseJobsConfig("slurm = 1\n", "x.toml").status().code() == Code::kUsage);
  auto ok = ParseJobsConfig("[hf]\nendpoint = \"http://127.0.0.1:1\"\n", "x.toml");
  REQUIRE(ok.ok());
  CHECK(ok->hf_endpoint == "http://127.0.0.1:1");
  CHECK(LoadJobsConfig("/nonexistent/jobs.toml").status().code() == Code::kNotFound);

  TempDir tmp;
  ServiceOptions o;
  o.registry_root = (tmp.path / "jobs").string();
  o.config_path = (tmp.path / "bad.toml").string();
  std::ofstream(o.config_path) << "[hf]\nnamespace = [1]\n";
  CHECK(JobService::Open(o).status().code() == Code::kUsage);
}

TEST_CASE("ApplyStatus: timestamps and events follow the rule in record_update.hpp") {
  JobRecord r;
  r.status.state = JobState::kQueued;
  JobStatus same = r.status;
  CHECK_FALSE(ApplyStatus(r, same, 10).changed);
  JobStatus detail = same;
  detail.detail = "waiting for resources";
  auto c = ApplyStatus(r, detail, 20);
  CHECK(c.changed);
  CHECK_FALSE(c.state_changed);
  CHECK(r.updated_ms == 20);
  CHECK(r.started_ms == 0);
  // Straight from queued to failed: started and finished both set, so durations stay defined.
  JobStatus failed{JobState::kFailed, "exit 3", "", 3};
  c = ApplyStatus(r, failed, 30);
  CHECK(c.state_changed);
  CHECK(r.started_ms == 30);
  CHECK(r.finished_ms == 30);
  CHECK_FALSE(ApplyStatus(r, JobStatus{JobState::kLost, "", "", std::nullopt}, 40).changed);
  CHECK(StateEvent(r, 30)["exit_code"] == 3);
}

TEST_CASE("the watcher's argv carries no token; the token goes by environment only") {
  ServiceOptions o;
  o.self_argv = {"/usr/bin/dsx"};
  o.token = "secret-token-value";
  o.config_path = "/etc/dsx/jobs.toml";
  auto argv = WatcherArgv(o, "/data/jobs", "j-20260101-000000-abcdef");
  std::string joined;
  for (const auto& a : argv) joined += a + " ";
  CHECK(joined ==
        "/usr/bin/dsx jobs _watch j-20260101-000000-abcdef --jobs-dir /data/jobs --config "
        "/etc/dsx/jobs.toml ");
  CHECK(joined.find("secret") == std::string::npos);
}

TEST_CASE("the watcher (no server) follows a job to its end and records every state once") {
  Fixture f;
  auto rec = f.service->Submit(Echo());
  REQUIRE(rec.ok());
  f.world.script = {JobStatus{JobState::kQueued, "PENDING", "", std::nullopt},
                    JobStatus{JobState::kRunning, "RUNNING", "node n1", std::nullopt},
                    JobStatus{JobState::kRunning, "RUNNING", "node n1", std::nullopt},
                    JobStatus{JobState::kFailed, "FAILED", "OOM", 137}};
  CHECK(WatchJob(*f.service, rec->id) == 0);
  auto done = f.service->Status(rec->id);
  REQUIRE(done.ok());
  CHECK(done->status.state == JobState::kFailed);
  CHECK(done->status.exit_code == 137);
  std::vector<std::string> states;
  for (const auto& e : f.Events(rec->id)) {
    if (e.contains("state")) states.push_back(e["state"]);
  }
  CHECK(states == std::vector<std::string>{"queued", "running", "failed"});
  // It paced itself on the clock: one poll interval between polls.
  for (auto ms : f.clock.sleeps()) CHECK(ms == 1000);
}

TEST_CASE("the watcher rides out an unreachable backend, backing off, and still records the end") {
  Fixture f;
  auto rec = f.service->Submit(Echo());
  REQUIRE(rec.ok());
  f.world.poll_errors_left = 4;
  f.world.script = {JobStatus{JobState::kSucceeded, "COMPLETED", "", 0}};
  CHECK(WatchJob(*f.service, rec->id) == 0);
  auto done = f.service->Status(rec->id);
  REQUIRE(done.ok());
  CHECK(done->status.state == JobState::kSucceeded);
  const auto sleeps = f.clock.sleeps();
  REQUIRE(sleeps.size() >= 4);
  CHECK(sleeps[0] == 2000);
  CHECK(sleeps[1] == 4000);
  CHECK(sleeps[3] == 16000);
}

TEST_CASE("the watcher of a job that does not exist ends at once with not found") {
  Fixture f;
  CHECK(WatchJob(*f.service, "j-20260101-000000-abcdef") == 3);
  CHECK(WatchJob(*f.service, "../x") == 2);
}

TEST_CASE("a record left without a backend id by a killed submit turns lost after the grace period") {
  Fixture f;
  Registry reg = *Registry::Open((f.tmp.path / "jobs").string());
  auto rec = reg.Create(Echo(), f.clock.NowMs());
  REQUIRE(rec.ok());
  auto early = f.service->Status(rec->id);
  REQUIRE(early.ok());
  CHECK(early->status.state == JobState::kQueued);  // another dsx may still be submitting it
  f.clock.Advance(11 * 60 * 1000);
  auto late = f.service->Status(rec->id);
  REQUIRE(late.ok());
  CHECK(late->status.state == JobState::kLost);
  CHECK(f.world.polls == 0);  // there was nothing to ask the backend about
}

TEST_CASE("cancelling a job its submitter has not handed over yet is refused, the backend untouched") {
  Fixture f;
  Registry reg = *Registry::Open((f.tmp.path / "jobs").string());
  auto rec = reg.Create(Echo(), f.clock.NowMs());
  REQUIRE(rec.ok());
  CHECK(f.service->Cancel(rec->id, std::chrono::seconds(1)).status().code() == Code::kConflict);
  CHECK(f.world.cancels == 0);
}
