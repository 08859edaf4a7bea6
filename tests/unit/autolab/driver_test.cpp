// driver.hpp: RunPlan over a simulated backend and a ManualClock, so every scenario is exact and
// instant. The simulated "cluster" runs `sim X SEED MODE`: the job turns running on its first poll
// and ends on its third; its output is JSON lines with loss = (X - 3)^2 + 0.01 * SEED (an intermediate
// point per poll), so the best configuration is known. MODE makes it crash, print NaN, print no
// metric, time out, or be lost on its first attempt.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "autolab/control.hpp"
#include "autolab/driver.hpp"
#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "autolab/run_dir.hpp"
#include "autolab/run_lease.hpp"
#include "jobs/backend.hpp"
#include "jobs/service/job_service.hpp"

namespace al = dsx::autolab;
namespace fs = std::filesystem;
using namespace dsx;
using namespace dsx::jobs;

namespace {

struct SimJob {
  std::vector<std::string> argv;
  std::string experiment;
  int polls = 0;
  JobStatus status{JobState::kQueued, "PENDING", "", std::nullopt};
  bool cancelled = false;
};

struct SimWorld {
  std::mutex mu;
  std::map<std::string, SimJob> jobs;  // backend id -> job
  int next_id = 1;
  int max_running = 0;                   // most jobs alive at one submit
  std::vector<std::string> submitted;    // experiment ids in submit order
  std::map<std::string, int> lost_left;  // experiment id -> attempts still to be lost
  Status submit_error;
  ManualClock* clock = nullptr;  // when set, every poll takes this long (work takes time)
  std::int64_t poll_cost_ms = 0;

  static double Loss(double x, double seed) { return (x - 3) * (x - 3) + 0.01 * seed; }
  std::string Mode(const SimJob& j) const { return j.argv.size() > 3 ? j.argv[3] : ""; }
  std::vector<std::string> Lines(const SimJob& j, bool all) const {
    const double x = std::stod(j.argv[1]), seed = std::stod(j.argv[2]);
    const double loss = Loss(x, seed);
    const std::string mode = Mode(j);
    std::vector<std::string> lines = {"starting x=" + j.argv[1]};
    const std::string key = mode == "nometric" ? "other" : "loss";
    for (int step = 1; step <= 2; ++step)
      lines.push_back("{\"step\": " + std::to_string(step) + ", \"" + key + "\": " + std::to_string(loss + 1.0 / step) +
                      "}");
    if (mode == "nan") lines.push_back("{\"loss\": NaN}");
    else if (mode != "nometric") lines.push_back("{\"loss\": " + std::to_string(loss) + "}");
    if (all) return lines;
    lines.resize(std::min<std::size_t>(lines.size(), static_cast<std::size_t>(j.polls)));
    return lines;
  }
};

class SimBackend final : public Backend {
 public:
  explicit SimBackend(SimWorld& w) : w_(w) {}
  std::string name() const override { return "local"; }
  Result<std::string> Render(const JobRecord&) const override { return std::string("sim"); }
  Result<Submitted> Submit(const JobRecord& r, const std::string&) override {
    std::lock_guard<std::mutex> l(w_.mu);
    if (!w_.submit_error.ok()) return w_.submit_error;
    int alive = 1;
    for (auto& [id, j] : w_.jobs)
      if (!IsTerminal(j.status.state)) ++alive;
    w_.max_running = std::max(w_.max_running, alive);
    const std::string id = std::to_string(1000 + w_.next_id++);
    SimJob j;
    j.argv = r.request.command;
    j.experiment = r.request.env.at("DSX_AUTOLAB_EXPERIMENT");
    w_.submitted.push_back(j.experiment);
    w_.jobs[id] = j;
    return Submitted{id, ""};
  }
  Result<JobStatus> Poll(const JobRecord& r) override {
    std::lock_guard<std::mutex> l(w_.mu);
    auto it = w_.jobs.find(r.backend_id);
    if (it == w_.jobs.end()) return Status::NotFound("sim: no job " + r.backend_id);
    SimJob& j = it->second;
    if (w_.clock) w_.clock->Advance(w_.poll_cost_ms);
    if (IsTerminal(j.status.state)) return j.status;
    ++j.polls;
    const std::string mode = w_.Mode(j);
    if (j.polls == 1) j.status = {JobState::kRunning, "RUNNING", "", std::nullopt};
    if (mode == "hang") {
      if (j.polls >= 6) j.status = {JobState::kTimeout, "TIMEOUT", "", std::nullopt};
      return j.status;
    }
    if (j.polls >= 3) {
      if (w_.lost_left[j.experiment] > 0) {
        --w_.lost_left[j.experiment];
        j.status = {JobState::kLost, "LOST", "supervisor gone", std::nullopt};
      } else if (mode == "crash") {
        j.status = {JobState::kFailed, "exit 3", "", 3};
      } else {
        j.status = {JobState::kSucceeded, "exit 0", "", 0};
      }
    }
    return j.status;
  }
  Status Logs(const JobRecord& r, const std::string&, bool, const LogSink& sink, const std::atomic<bool>*) override {
    std::vector<std::string> lines;
    {
      std::lock_guard<std::mutex> l(w_.mu);
      auto it = w_.jobs.find(r.backend_id);
      if (it == w_.jobs.end()) return Status::NotFound("sim: no job");
      lines = w_.Lines(it->second, IsTerminal(it->second.status.state));
    }
    for (const auto& line : lines)
      if (!sink(line)) break;
    return Status::Ok();
  }
  Status Cancel(const JobRecord& r) override {
    std::lock_guard<std::mutex> l(w_.mu);
    auto it = w_.jobs.find(r.backend_id);
    if (it == w_.jobs.end()) return Status::NotFound("sim: no job");
    it->second.cancelled = true;
    if (!IsTerminal(it->second.status.state)) it->second.status = {JobState::kCancelled, "CANCELLED", "", std::nullopt};
    return Status::Ok();
  }

 private:
  SimWorld& w_;
};

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dsx-autolab-driver-XXXXXX";
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
  SimWorld world;
  std::unique_ptr<JobService> service;
  std::vector<std::string> log;

  Fixture() {
    ServiceOptions o;
    o.registry_root = (tmp.path / "jobs").string();
    o.clock = &clock;
    o.config_path = (tmp.path / "jobs.toml").string();
    std::ofstream(o.config_path) << "";
    auto s = JobService::Open(o);
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    service = std::move(*s);
    service->SetBackendFactoryForTest([this](const std::string&) -> Result<std::unique_ptr<Backend>> {
      return std::unique_ptr<Backend>(std::make_unique<SimBackend>(world));
    });
  }
  std::string RunDir() const { return (tmp.path / "run").string(); }
  al::Plan Plan(const std::string& yaml) {
    auto p = al::ParsePlan(yaml, (tmp.path / "plan.yaml").string());
    REQUIRE_MESSAGE(p.ok(), p.status().message());
    return *p;
  }
  al::RunOptions Options() {
    al::RunOptions o;
    o.run_dir = RunDir();
    o.jobs = service.get();
    o.clock = &clock;
    o.poll_ms = 100;
    o.log = [this](const std::string& line) { log.push_back(line); };
    o.max_passes = 10'000;  // a driver bug must fail the test, not hang it
    return o;
  }
  std::vector<al::ExperimentRecord> Records() {
    auto l = al::Ledger::Open(al::LedgerPath(RunDir()), clock);
    REQUIRE(l.ok());
    auto r = (*l)->List();
    REQUIRE(r.ok());
    return *r;
  }
};

const char* kSweep = R"Y(name: sim-sweep
objective: {metric: loss, direction: minimize, repeats: 2, margin: 0}
budget: {max_experiments: 20, max_parallel: 2, experiment_timeout: 60}
experiment:
  command: sim {x} {seed}
  metric: {source: json_lines, intermediate_key: step}
sweep:
  mode: grid
  params:
    x: [1, 2, 3, 5]
)Y";

std::string WithModes(const std::string& modes) {
  return std::string(R"Y(name: sim-modes
objective: {metric: loss, direction: minimize}
budget: {max_experiments: 20, max_parallel: 3, experiment_timeout: 60}
experiment:
  command: sim 3 {seed} {mode}
  metric: {source: json_lines, intermediate_key: step}
sweep:
  mode: grid
  params:
    mode: )Y") +
         modes + "\n";
}

}  // namespace

TEST_CASE("a grid sweep runs every experiment once, at most max_parallel at a time, and promotes the best") {
  Fixture f;
  auto r = al::RunPlan(f.Plan(kSweep), f.Options());
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->end == al::RunEnd::kDone);
  CHECK(r->finished == 8);
  CHECK(r->failed == 0);
  CHECK(f.world.submitted.size() == 8);
  CHECK(std::set<std::string>(f.world.submitted.begin(), f.world.submitted.end()).size() == 8);
  CHECK(f.world.max_running <= 2);
  auto records = f.Records();
  REQUIRE(records.size() == 8);
  std::string promoted;
  for (const auto& e : records) {
    CHECK(e.state == al::ExpState::kFinished);
    REQUIRE(e.metric.has_value());
    CHECK(*e.metric == doctest::Approx(SimWorld::Loss(e.params["x"].get<double>(), e.seed)).epsilon(1e-5));
    if (e.promoted) promoted = e.params.dump();
    CHECK(fs::exists(al::ExperimentLogPath(f.RunDir(), e.id)));
  }
  CHECK(promoted == R"({"x":3})");
  CHECK(fs::exists(f.RunDir() + "/plan.json"));
  CHECK(fs::exists(f.RunDir() + "/results.tsv"));

  SUBCASE("a second invocation has nothing to do and runs nothing") {
    auto again = al::RunPlan(f.Plan(kSweep), f.Options());
    REQUIRE(again.ok());
    CHECK(again->end == al::RunEnd::kDone);
    CHECK(f.world.submitted.size() == 8);
  }
  SUBCASE("another plan is refused on this run folder") {
    std::string other = kSweep;
    other.replace(other.find("[1, 2, 3, 5]"), 12, "[1, 2]");
    auto refused = al::RunPlan(f.Plan(other), f.Options());
    CHECK(refused.status().code() == Code::kUsage);
    CHECK(refused.status().message().find("another plan") != std::string::npos);
  }
}

TEST_CASE("intermediate points reach the ledger as curves") {
  Fixture f;
  REQUIRE(al::RunPlan(f.Plan(kSweep), f.Options()).ok());
  auto l = al::Ledger::Open(al::LedgerPath(f.RunDir()), f.clock);
  REQUIRE(l.ok());
  auto records = (*l)->List();
  REQUIRE(records.ok());
  auto curve = (*l)->Curve(records->front().id);
  REQUIRE(curve.ok());
  CHECK(curve->size() == 2);
}

TEST_CASE("crash, NaN, no metric and timeout fail with their reasons; the good one finishes") {
  Fixture f;
  auto r = al::RunPlan(f.Plan(WithModes("[ok, crash, nan, nometric, hang]")), f.Options());
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->end == al::RunEnd::kDone);
  CHECK(r->finished == 1);
  CHECK(r->failed == 4);
  std::map<std::string, std::string> reason;
  for (const auto& e : f.Records()) reason[e.params["mode"].get<std::string>()] = e.reason;
  CHECK(reason["ok"].empty());
  CHECK(reason["crash"].find("exited with 3") != std::string::npos);
  CHECK(reason["nan"].find("NaN") != std::string::npos);
  CHECK(reason["nometric"].find("no metric") != std::string::npos);
  CHECK(reason["hang"].find("timed out") != std::string::npos);
}

TEST_CASE("a lost job is retried up to the limit, then failed") {
  Fixture f;
  auto plan = f.Plan(WithModes("[ok]"));
  SUBCASE("lost once: retried and finished") {
    // The id is known only after planning: lose every first attempt of whatever is submitted.
    f.world.lost_left["*"] = 0;
    auto o = f.Options();
    // Pre-compute the experiment id the sweep makes.
    auto first = al::RunPlan(plan, [&] {
      auto opt = o;
      opt.max_passes = 1;  // plans and starts, nothing more
      return opt;
    }());
    REQUIRE(first.ok());
    auto recs = f.Records();
    REQUIRE(recs.size() == 1);
    f.world.lost_left[recs[0].id] = 1;
    auto r = al::RunPlan(plan, o);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(r->finished == 1);
    CHECK(f.world.submitted.size() == 2);
  }
  SUBCASE("lost every time: failed after max_attempts") {
    auto o = f.Options();
    o.max_attempts = 2;
    auto first = al::RunPlan(plan, [&] {
      auto opt = o;
      opt.max_passes = 1;
      return opt;
    }());
    REQUIRE(first.ok());
    auto recs = f.Records();
    f.world.lost_left[recs[0].id] = 100;
    auto r = al::RunPlan(plan, o);
    REQUIRE(r.ok());
    CHECK(r->failed == 1);
    CHECK(f.world.submitted.size() == 2);
    CHECK(f.Records()[0].reason.find("lost") != std::string::npos);
  }
}

TEST_CASE("a job submitted just before a crash is adopted, not submitted again") {
  Fixture f;
  auto plan = f.Plan(WithModes("[ok]"));
  // What a kill between the job's Submit and the ledger's Start leaves behind: the experiment
  // queued in the ledger (attempts 0) and a job in the registry whose meta names it, attempt 1.
  const nlohmann::json params = {{"mode", "ok"}};
  const std::string id = al::ExperimentId(params, 0, "");
  std::filesystem::create_directories(f.RunDir());
  {
    auto l = al::Ledger::Open(al::LedgerPath(f.RunDir()), f.clock);
    REQUIRE(l.ok());
    al::ExperimentRecord e;
    e.params = params;
    REQUIRE((*l)->Propose(e).ok());
    REQUIRE((*l)->Queue(id).ok());
  }
  JobRequest req;
  req.name = "orphan";
  req.kind = "autolab";
  req.command = {"sim", "3", "0", "ok"};
  req.env["DSX_AUTOLAB_EXPERIMENT"] = id;
  req.meta = {
      {"autolab",
       {{"run_dir", fs::absolute(f.RunDir()).lexically_normal().string()}, {"experiment", id}, {"attempt", 1}}}};
  auto job = f.service->Submit(req);
  REQUIRE(job.ok());
  REQUIRE(f.world.submitted.size() == 1);

  auto r = al::RunPlan(plan, f.Options());
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->finished == 1);
  CHECK(f.world.submitted.size() == 1);  // adopted, not submitted again
  auto recs = f.Records();
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].job_id == job->id);
}

TEST_CASE("an evolve plan keeps a winning hypothesis and reverts a losing one") {
  Fixture f;
  const char* kEvolve = R"Y(name: sim-evolve
objective: {metric: loss, direction: minimize, repeats: 2, margin: 0.1}
budget: {max_experiments: 20, max_parallel: 2, experiment_timeout: 60}
experiment:
  command: sim {x} {seed}
  metric: {source: json_lines}
evolve:
  base: {x: 0}
  hypotheses:
    - {id: closer, rationale: move toward 3, overrides: {x: 2}}
    - {id: farther, rationale: move away, overrides: {x: 6}}
    - {id: exact, rationale: hit it, overrides: {x: 3}}
)Y";
  auto r = al::RunPlan(f.Plan(kEvolve), f.Options());
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->end == al::RunEnd::kDone);
  CHECK(r->finished == 8);  // baseline + 3 hypotheses, 2 seeds each
  std::string promoted_h;
  for (const auto& e : f.Records())
    if (e.promoted) promoted_h = e.hypothesis;
  CHECK(promoted_h == "exact");
}

TEST_CASE("the budget caps the experiments") {
  Fixture f;
  std::string plan = kSweep;
  plan.replace(plan.find("max_experiments: 20"), 19, "max_experiments: 5");
  auto r = al::RunPlan(f.Plan(plan), f.Options());
  REQUIRE(r.ok());
  CHECK(r->end == al::RunEnd::kDone);
  CHECK(f.world.submitted.size() == 4);  // whole configurations only: 2 of 2 repeats each
  CHECK(r->reason.find("nothing left") != std::string::npos);
}

TEST_CASE("pause lets running experiments finish; stop cancels and requeues them; resume continues") {
  Fixture f;
  auto plan = f.Plan(kSweep);
  auto o = f.Options();
  o.max_passes = 2;
  REQUIRE(al::RunPlan(plan, o).ok());
  {
    auto l = al::Ledger::Open(al::LedgerPath(f.RunDir()), f.clock);
    REQUIRE(l.ok());
    REQUIRE(al::WriteControl(**l, al::Control::kPause).ok());
  }
  auto paused = al::RunPlan(plan, f.Options());
  REQUIRE(paused.ok());
  CHECK(paused->end == al::RunEnd::kPaused);
  CHECK(f.world.submitted.size() == 2);  // nothing new started
  {
    auto l = al::Ledger::Open(al::LedgerPath(f.RunDir()), f.clock);
    REQUIRE(al::WriteControl(**l, al::Control::kRun).ok());
  }
  o.max_passes = 2;
  REQUIRE(al::RunPlan(plan, o).ok());  // two more running
  {
    auto l = al::Ledger::Open(al::LedgerPath(f.RunDir()), f.clock);
    REQUIRE(al::WriteControl(**l, al::Control::kStop).ok());
  }
  auto stopped = al::RunPlan(plan, f.Options());
  REQUIRE(stopped.ok());
  CHECK(stopped->end == al::RunEnd::kStopped);  // refused at once: the flag was there before
  CHECK(stopped->finished == 2);                // the counts are the ledger's, even when nothing ran
  CHECK(stopped->pending == 6);
  {
    auto l = al::Ledger::Open(al::LedgerPath(f.RunDir()), f.clock);
    REQUIRE(al::WriteControl(**l, al::Control::kRun).ok());
  }
  auto done = al::RunPlan(plan, f.Options());
  REQUIRE(done.ok());
  CHECK(done->end == al::RunEnd::kDone);
  CHECK(done->finished == 8);
}

TEST_CASE("a live holder of the lease makes a second invocation exit with kLeaseHeld") {
  Fixture f;
  auto plan = f.Plan(kSweep);
  std::filesystem::create_directories(f.RunDir());
  auto l = al::Ledger::Open(al::LedgerPath(f.RunDir()), f.clock);
  REQUIRE(l.ok());
  al::LeaseOwner other = al::LeaseOwner::Self();
  other.pid = getppid();  // alive, not us
  auto start = al::ProcessStartTime(other.pid);
  REQUIRE(start.ok());
  other.pid_start = *start;
  auto lease = al::RunLease::Acquire(**l, other);
  REQUIRE(lease.ok());
  auto r = al::RunPlan(plan, f.Options());
  REQUIRE(r.ok());
  CHECK(r->end == al::RunEnd::kLeaseHeld);
  CHECK(f.world.submitted.empty());
}

TEST_CASE("the wall-clock budget stops new experiments; running ones finish") {
  Fixture f;
  std::string plan = kSweep;
  plan.replace(plan.find("experiment_timeout: 60"), 22, "experiment_timeout: 60, wall_clock: 1");
  f.world.clock = &f.clock;
  f.world.poll_cost_ms = 200;  // 3 polls per job: 1 s is less than 8 experiments need
  auto o = f.Options();
  auto r = al::RunPlan(f.Plan(plan), o);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->end == al::RunEnd::kDone);
  CHECK(r->reason.find("wall-clock") != std::string::npos);
  CHECK(f.world.submitted.size() < 8);
  CHECK(r->finished == static_cast<int>(f.world.submitted.size()));
}

TEST_CASE("a submit error leaves the experiment queued and ends the invocation with the error") {
  Fixture f;
  f.world.submit_error = Status::Unavailable("sim: sbatch: cannot reach slurmctld");
  auto r = al::RunPlan(f.Plan(kSweep), f.Options());
  CHECK(r.status().code() == Code::kUnavailable);
  for (const auto& e : f.Records()) CHECK(e.state == al::ExpState::kQueued);
  f.world.submit_error = Status::Ok();
  auto again = al::RunPlan(f.Plan(kSweep), f.Options());
  REQUIRE_MESSAGE(again.ok(), again.status().message());
  CHECK(again->finished == 8);
}

TEST_CASE("the cost limit: an experiment starts only when its worst case fits what is left") {
  Fixture f;
  f.world.clock = &f.clock;
  f.world.poll_cost_ms = 10'000;  // each poll is 10 s of (paid) running time
  std::string plan = kSweep;
  // 60 s timeout at $36/h = $0.60 worst case each; $2 allows 3 worst cases at first, and as real
  // costs (~30 s = $0.30 each) replace worst cases, more start; never past $2 in the worst case.
  plan.replace(plan.find("max_parallel: 2, experiment_timeout: 60"), 39,
               "max_parallel: 2, experiment_timeout: 60, max_cost_usd: 2");
  auto o = f.Options();
  o.usd_per_hour = 36;
  auto r = al::RunPlan(f.Plan(plan), o);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->end == al::RunEnd::kDone);
  std::string all;
  for (const auto& l : f.log) all += l + "\n";
  CHECK_MESSAGE(r->reason.find("cost budget") != std::string::npos, all);
  CHECK(f.world.submitted.size() < 8);
  CHECK(f.world.submitted.size() >= 3);
  CHECK(r->cost_usd <= 2.0);
  CHECK(r->cost_usd > 0.5);
}

namespace {
// Proposes two patches-free hypotheses once, then nothing more.
class ScriptedResearcher final : public al::HypothesisSource {
 public:
  int calls = 0;
  Result<std::vector<al::Hypothesis>> Propose(const al::ResearchContext& ctx) override {
    ++calls;
    if (calls > 1) return std::vector<al::Hypothesis>{};
    al::Hypothesis h;
    h.id = "closer";
    h.rationale = "move toward 3 [notes.md]";
    h.overrides["x"] = 3;
    CHECK(ctx.tried_ids.empty());
    return std::vector<al::Hypothesis>{h};
  }
};
}  // namespace

TEST_CASE("researcher hypotheses run after the plan's own and are replayed, not asked again, after a restart") {
  Fixture f;
  const char* kPlan = R"Y(name: sim-research
objective: {metric: loss, direction: minimize, repeats: 1}
budget: {max_experiments: 10, max_parallel: 1, experiment_timeout: 60}
experiment:
  command: sim {x} {seed}
  metric: {source: json_lines}
evolve:
  base: {x: 0}
  hypotheses: []
researcher: {provider: openai, model: m}
)Y";
  auto plan = f.Plan(kPlan);
  ScriptedResearcher researcher;
  auto o = f.Options();
  o.researcher = &researcher;
  auto r = al::RunPlan(plan, o);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->finished == 2);
  std::string promoted;
  for (const auto& e : f.Records())
    if (e.promoted) promoted = e.hypothesis;
  CHECK(promoted == "closer");
  // A restart replays the stored hypothesis (a model never answers twice alike) and asks only
  // for more, once.
  ScriptedResearcher second;
  second.calls = 1;  // answers "nothing more"
  o.researcher = &second;
  auto again = al::RunPlan(plan, o);
  REQUIRE(again.ok());
  CHECK(again->finished == 2);
  CHECK(f.world.submitted.size() == 2);
  CHECK(second.calls == 2);
}

TEST_CASE("damaged files never throw: a job.json whose autolab meta has wrong types, a damaged researcher list") {
  Fixture f;
  auto plan = f.Plan(WithModes("[ok]"));
  // A job in the registry claiming this run with a run_dir that is a number (edited by hand).
  JobRequest req;
  req.name = "odd";
  req.kind = "autolab";
  req.command = {"sim", "3", "0", "ok"};
  req.env["DSX_AUTOLAB_EXPERIMENT"] = "x";
  req.meta = {{"autolab", {{"run_dir", 42}, {"experiment", 7}, {"attempt", "one"}}}};
  REQUIRE(f.service->Submit(req).ok());
  auto r = al::RunPlan(plan, f.Options());
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->finished == 1);

  auto l = al::Ledger::Open(al::LedgerPath(f.RunDir()), f.clock);
  REQUIRE(l.ok());
  REQUIRE((*l)->SetMeta("researcher_hypotheses", R"([{"id": 5, "patch": []}])").ok());
  l->reset();
  std::string evolve = R"Y(name: sim-modes
objective: {metric: loss, direction: minimize}
budget: {max_experiments: 20, max_parallel: 3, experiment_timeout: 60}
experiment:
  command: sim {x} {seed}
  metric: {source: json_lines}
evolve:
  base: {x: 0}
  hypotheses: []
)Y";
  std::filesystem::remove_all(f.RunDir() + "2");
  auto o = f.Options();
  o.run_dir = f.RunDir() + "2";
  std::filesystem::create_directories(o.run_dir);
  {
    auto l2 = al::Ledger::Open(al::LedgerPath(o.run_dir), f.clock);
    REQUIRE(l2.ok());
    REQUIRE((*l2)->SetMeta("researcher_hypotheses", R"([{"id": 5, "patch": []}])").ok());
  }
  auto damaged = al::RunPlan(f.Plan(evolve), o);
  CHECK(damaged.status().code() == Code::kFailed);
  CHECK(damaged.status().message().find("damaged") != std::string::npos);
}
