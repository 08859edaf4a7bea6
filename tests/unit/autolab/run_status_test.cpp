// run_status.hpp: `dsx autolab status` from a ledger alone. Counts per state (zeros included), the
// running experiments with their jobs, the best configuration by the promotion chain with its
// interval, the control word, the lease holder and its liveness (this process, a dead pid, another
// host before and after expiry by a ManualClock), and the JSON and text forms.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "autolab/control.hpp"
#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "autolab/run_lease.hpp"
#include "autolab/run_status.hpp"
#include "core/clock.hpp"

namespace al = dsx::autolab;
using dsx::ManualClock;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "dsx-run-status-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

const char* kPlan = R"Y(name: tiny
objective: {metric: loss, direction: minimize, repeats: 2, margin: 0}
budget: {max_experiments: 10, experiment_timeout: 60}
experiment:
  command: run --lr {lr} --seed {seed}
sweep:
  params:
    lr: [1, 2, 3]
)Y";

al::Plan Plan() {
  auto p = al::ParsePlan(kPlan, "/tmp/tiny.yaml");
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  return *p;
}

std::unique_ptr<al::Ledger> Open(const std::string& dir, dsx::Clock& clock) {
  auto l = al::Ledger::Open(dir + "/ledger.sqlite", clock);
  REQUIRE_MESSAGE(l.ok(), l.status().message());
  return std::move(*l);
}

std::string Propose(al::Ledger& l, double lr, int seed) {
  al::ExperimentRecord e;
  e.params = {{"lr", lr}};
  e.seed = seed;
  auto ok = l.Propose(e);
  REQUIRE(ok.ok());
  return al::ExperimentId(e.params, e.seed, "");
}

void RunTo(al::Ledger& l, const std::string& id, const char* job) {
  REQUIRE(l.Queue(id).ok());
  REQUIRE(l.Start(id, job, "host-a", 4242).ok());
}

void Finish(al::Ledger& l, const std::string& id, double metric) {
  RunTo(l, id, "job-x");
  REQUIRE(l.Finish(id, metric, "/x/output.log").ok());
}

}  // namespace

TEST_CASE("status of a run: counts, running, best, budget") {
  TempDir dir;
  ManualClock clock(1'700'000'000'000);
  auto l = Open(dir.path, clock);
  const al::Plan plan = Plan();
  REQUIRE(l->SetMeta("plan_name", "tiny").ok());
  REQUIRE(l->SetMeta("plan_hash", al::PlanHash(plan)).ok());
  REQUIRE(l->SetMeta("started_ms", "1700000000000").ok());

  // lr=1: 0.50, 0.502 (complete); lr=2: 0.30, 0.302 (complete, better well beyond both intervals);
  // lr=3: one finished (the lowest value of all), one running.
  Finish(*l, Propose(*l, 1, 0), 0.50);
  Finish(*l, Propose(*l, 1, 1), 0.502);
  Finish(*l, Propose(*l, 2, 0), 0.30);
  Finish(*l, Propose(*l, 2, 1), 0.302);
  Finish(*l, Propose(*l, 3, 0), 0.10);
  const std::string running = Propose(*l, 3, 1);
  clock.Advance(5'000);
  RunTo(*l, running, "job-77");
  const std::string failed = Propose(*l, 9, 0);
  REQUIRE(l->Queue(failed).ok());
  REQUIRE(l->Fail(failed, "crashed").ok());
  Propose(*l, 8, 0);  // proposed, not queued

  clock.Advance(65'000);
  auto s = al::ReadRunStatus(dir.path, *l, &plan, clock);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  CHECK(s->plan_name == "tiny");
  CHECK(s->plan_hash == al::PlanHash(plan));
  CHECK(s->control == al::Control::kRun);
  CHECK_FALSE(s->lease);
  CHECK(s->total == 8);
  CHECK(s->max_experiments == 10);
  CHECK(s->counts.at("finished") == 5);
  CHECK(s->counts.at("running") == 1);
  CHECK(s->counts.at("failed") == 1);
  CHECK(s->counts.at("proposed") == 1);
  CHECK(s->counts.at("pruned") == 0);  // every state listed, zeros too
  CHECK(s->counts.size() == 7);
  REQUIRE(s->running.size() == 1);
  CHECK(s->running[0].id == running);
  CHECK(s->running[0].job_id == "job-77");
  CHECK(s->running[0].started_ms == 1'700'000'005'000);
  // lr=3 has the lowest finished value but is incomplete: the chain's best is lr=2.
  REQUIRE(s->best);
  CHECK(s->best->params == nlohmann::json{{"lr", 2.0}});
  CHECK(s->best->summary.n == 2);
  CHECK(s->best->summary.mean == doctest::Approx(0.301));
  CHECK(s->best->summary.ci_low < 0.30);
  CHECK(s->best->summary.ci_high > 0.302);

  const auto j = al::ToJson(*s);
  CHECK(j["plan"]["name"] == "tiny");
  CHECK(j["control"] == "run");
  CHECK(j["lease"].is_null());
  CHECK(j["counts"]["finished"] == 5);
  CHECK(j["budget"]["used"] == 8);
  CHECK(j["budget"]["max_experiments"] == 10);
  CHECK(j["budget"]["started_ms"] == 1'700'000'000'000);
  CHECK(j["running"][0]["job_id"] == "job-77");
  CHECK(j["best"]["mean"].get<double>() == doctest::Approx(0.301));
  CHECK(j["best"]["ci"].size() == 2);
  CHECK(j["objective"]["metric"] == "loss");
  CHECK(j["promoted"].is_null());

  const std::string text = al::FormatRunStatus(*s, clock.NowMs());
  CHECK(text.find("plan     tiny (") != std::string::npos);
  CHECK(text.find("budget   8 of 10 experiments, started 2023-11-14 22:13:20 UTC") != std::string::npos);
  CHECK(text.find("running 1") != std::string::npos);
  CHECK(text.find("job job-77") != std::string::npos);
  CHECK(text.find("(1m05s)") != std::string::npos);
  CHECK(text.find("best     " + s->best->id + " loss 0.301 [") != std::string::npos);
  CHECK(text.find("driver   none") != std::string::npos);
}

TEST_CASE("status without a plan: counts only, no ranking; one repeat: no interval") {
  TempDir dir;
  ManualClock clock(1'000);
  auto l = Open(dir.path, clock);
  Finish(*l, Propose(*l, 1, 0), 0.5);
  auto s = al::ReadRunStatus(dir.path, *l, nullptr, clock);
  REQUIRE(s.ok());
  CHECK(s->plan_name.empty());
  CHECK_FALSE(s->best);
  CHECK(s->max_experiments == 0);
  CHECK(al::ToJson(*s)["objective"].is_null());
  CHECK(al::FormatRunStatus(*s, 1'000).find("budget   1 of ? experiments") != std::string::npos);
}

TEST_CASE("an interval over one repeat is null in JSON, never a number") {
  TempDir dir;
  ManualClock clock(1'000);
  auto l = Open(dir.path, clock);
  auto p = al::ParsePlan(
      "objective: {metric: loss, direction: maximize}\nbudget: {max_experiments: 2, experiment_timeout: 9}\n"
      "experiment: {command: \"run {lr}\"}\nsweep: {params: {lr: [1]}}\n",
      "/tmp/one.yaml");
  REQUIRE(p.ok());
  Finish(*l, Propose(*l, 1, 0), 0.5);
  auto s = al::ReadRunStatus(dir.path, *l, &*p, clock);
  REQUIRE(s.ok());
  REQUIRE(s->best);
  CHECK(s->plan_name == p->name);  // no meta: from the plan
  const auto j = al::ToJson(*s);
  CHECK(j["best"]["ci"][0].is_null());
  CHECK(j["best"]["ci"][1].is_null());
  CHECK(j["objective"]["direction"] == "maximize");
  CHECK(al::FormatRunStatus(*s, 1'000).find("over 1 repeat ") != std::string::npos);
}

TEST_CASE("control and promotion show") {
  TempDir dir;
  ManualClock clock(1'000);
  auto l = Open(dir.path, clock);
  const std::string id = Propose(*l, 1, 0);
  Finish(*l, id, 0.5);
  REQUIRE(l->Promote(id).ok());
  REQUIRE(al::WriteControl(*l, al::Control::kStop).ok());
  auto s = al::ReadRunStatus(dir.path, *l, nullptr, clock);
  REQUIRE(s.ok());
  CHECK(s->control == al::Control::kStop);
  CHECK(s->promoted_id == id);
  CHECK(al::ToJson(*s)["control"] == "stop");
  CHECK(al::FormatRunStatus(*s, 1'000).find("control  stop (stop requested") != std::string::npos);
  REQUIRE(al::WriteControl(*l, al::Control::kRun).ok());
  CHECK(al::ReadRunStatus(dir.path, *l, nullptr, clock)->control == al::Control::kRun);
}

TEST_CASE("the lease holder and whether it is alive") {
  TempDir dir;
  ManualClock clock(1'000'000);
  auto l = Open(dir.path, clock);

  SUBCASE("this process holds it: alive") {
    auto lease = al::RunLease::Acquire(*l, al::LeaseOwner::Self());
    REQUIRE(lease.ok());
    auto s = al::ReadRunStatus(dir.path, *l, nullptr, clock);
    REQUIRE(s.ok());
    REQUIRE(s->lease);
    CHECK(s->lease->owner.pid == ::getpid());
    CHECK(s->lease_alive);
    CHECK(al::ToJson(*s)["lease"]["alive"] == true);
    CHECK(al::FormatRunStatus(*s, clock.NowMs()).find("(running)") != std::string::npos);
  }
  SUBCASE("a pid on this host that has exited: not alive") {
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) _exit(0);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    al::LeaseInfo info;
    info.owner = al::LeaseOwner::Self();
    info.owner.pid = child;
    info.expires_ms = clock.NowMs() + 60'000;  // unexpired: liveness decides on this host, not the clock
    CHECK_FALSE(al::LeaseAlive(info, info.owner.host, clock.NowMs()));
    info.owner.pid = ::getpid();
    info.owner.pid_start += 1;  // our pid with another start time: a recycled pid
    CHECK_FALSE(al::LeaseAlive(info, info.owner.host, clock.NowMs()));
  }
  SUBCASE("another host: alive until its lease expires") {
    al::LeaseInfo info;
    info.owner.host = "elsewhere";
    info.owner.pid = 1;
    info.expires_ms = clock.NowMs() + 60'000;
    CHECK(al::LeaseAlive(info, "here", clock.NowMs()));
    clock.Advance(60'001);
    CHECK_FALSE(al::LeaseAlive(info, "here", clock.NowMs()));
  }
}
