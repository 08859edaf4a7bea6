// The run driver (driver.hpp): one loop that reconciles running experiments with their jobs, plans
// the next ones, starts them, promotes and reports. Everything it decides is re-derived from the
// ledger and the jobs registry on every pass, so the in-memory state below is only a cache (how
// much of each log was read), rebuilt from scratch after a restart.
#include "autolab/driver.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include "autolab/command_template.hpp"
#include "autolab/control.hpp"
#include "autolab/generate.hpp"
#include "autolab/ledger.hpp"
#include "autolab/metrics.hpp"
#include "autolab/publish.hpp"
#include "autolab/report.hpp"
#include "autolab/run_dir.hpp"
#include "autolab/run_lease.hpp"
#include "autolab/standings.hpp"
#include "autolab/workspace.hpp"
#include "core/fs.hpp"
#include "core/json_limits.hpp"

namespace dsx::autolab {
namespace sfs = std::filesystem;

namespace {

constexpr const char* kBaseline = "baseline";
constexpr std::int64_t kCancelWaitMs = 15'000;

// Deterministic kill -9 for the crash tests: DSX_AUTOLAB_CRASH_AT=<point>[:<n>] kills this process
// the n-th time it reaches <point> (planned, submitted, started, finished, report).
void CrashPoint(const char* point) {
  static const std::string spec = [] {
    const char* v = std::getenv("DSX_AUTOLAB_CRASH_AT");
    return std::string(v ? v : "");
  }();
  if (spec.empty()) return;
  static std::map<std::string, int> seen;
  std::string name = spec;
  int nth = 1;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    name = spec.substr(0, colon);
    nth = std::atoi(spec.c_str() + colon + 1);
  }
  if (name != point) return;
  if (++seen[name] >= nth) ::kill(::getpid(), SIGKILL);
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::string OneLine(std::string s, std::size_t max = 200) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

// obj[key] when it is a string, else "" (json::value() throws when the key holds another type, and
// these objects come from files: the ledger's meta, job.json in the registry).
std::string StringField(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// True when `line` is a whole JSON object: no proper prefix of an object's text is itself an object,
// so such a last line needs no newline to be known complete (the metric is read at once, not one
// print late); anything else is held back until more output or the job's end.
bool WholeJsonLine(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  if (line.size() < 2 || line.front() != '{' || line.back() != '}') return false;
  auto j = ParseJsonBounded(line);
  return j.ok() && j->is_object();
}

// The ledger's counts at exit (and the promoted experiment).
Status CountInto(Ledger& ledger, RunResult* out) {
  auto records = ledger.List();
  if (!records.ok()) return records.status();
  for (const auto& r : *records) {
    switch (r.state) {
      case ExpState::kFinished: ++out->finished; break;
      case ExpState::kFailed: ++out->failed; break;
      case ExpState::kPruned: ++out->pruned; break;
      case ExpState::kCancelled: ++out->cancelled; break;
      default: ++out->pending; break;
    }
    if (r.promoted) out->best_id = r.id;
  }
  return Status::Ok();
}

// What the driver holds for one running experiment: how far its log was read.
struct Running {
  std::string job_id;
  std::size_t lines_read = 0;  // complete lines fed so far
  std::size_t curve_sent = 0;  // intermediate points already in the ledger
  std::unique_ptr<MetricStream> metrics;
  std::unique_ptr<std::ofstream> log;
  std::string last_line;  // for failure reasons
};

class Driver {
 public:
  Driver(const Plan& plan, const RunOptions& options, Ledger& ledger, RunLease& lease, Clock& clock)
      : plan_(plan), opt_(options), ledger_(ledger), lease_(lease), clock_(clock) {
    run_dir_abs_ = sfs::absolute(opt_.run_dir).lexically_normal().string();
    // A researcher without an evolve section proposes every change itself: the loop starts from
    // the unchanged working files (no parameters) and keeps or reverts each of its hypotheses.
    if (!plan_.evolve && plan_.researcher) plan_.evolve.emplace();
  }

  Result<RunResult> Run();

 private:
  void Log(const std::string& line) {
    if (opt_.log) opt_.log(line);
  }
  void Publish(const nlohmann::json& event) {
    if (opt_.progress) opt_.progress->Publish(event);
  }
  void PublishExperiment(const ExperimentRecord& r) {
    nlohmann::json e = {{"type", "autolab.experiment"}, {"id", r.id},     {"state", ExpStateName(r.state)},
                        {"params", r.params},           {"seed", r.seed}, {"hypothesis", r.hypothesis}};
    if (r.metric) e["metric"] = *r.metric;
    if (!r.reason.empty()) e["reason"] = r.reason;
    Publish(e);
    if (IsTerminal(r.state)) PublishStandingEvents(r);
  }
  // The session protocol's own progress and metric events (docs/protocol/sessions.md), which the
  // web page draws as a progress bar and charts and `tail --text` as lines, the same vocabulary
  // kernel gen uses: experiments ended of the budget, each ended experiment's metric and the best
  // so far, by the number of experiments ended.
  void PublishStandingEvents(const ExperimentRecord& ended) {
    auto all = ledger_.List();
    if (!all.ok()) return;
    int done = 0;
    std::optional<double> best;
    for (const auto& x : *all) {
      if (!IsTerminal(x.state)) continue;
      ++done;
      if (x.state == ExpState::kFinished && x.metric && std::isfinite(*x.metric)) {
        if (!best || (plan_.objective.maximize ? *x.metric > *best : *x.metric < *best)) best = *x.metric;
      }
    }
    Publish({{"type", "progress"},
             {"done", done},
             {"total", std::max(plan_.budget.max_experiments, done)},
             {"unit", "experiments"},
             {"label", "experiments ended"}});
    const std::string& metric = plan_.objective.metric;
    if (ended.state == ExpState::kFinished && ended.metric && std::isfinite(*ended.metric)) {
      Publish({{"type", "metric"}, {"name", metric}, {"step", done}, {"value", *ended.metric}});
    }
    if (best) {
      Publish({{"type", "metric"}, {"name", std::string(plan_.objective.maximize ? "best " : "lowest ") + metric},
               {"step", done}, {"value", *best}});
    }
  }
  void PublishId(const std::string& id) {
    if (auto r = ledger_.Get(id); r.ok()) PublishExperiment(*r);
  }

  Status LoadResearcherHypotheses();
  Result<MetricStream> NewMetricStream() const;
  Result<int> BudgetLeft();
  Result<std::pair<double, double>> Cost();
  bool cost_capped_ = false;  // this pass, the cost limit kept a queued experiment from starting
  bool cost_logged_ = false;
  Result<bool> PlanMore();
  Result<bool> PlanSweep(const std::vector<ExperimentRecord>& records, int budget_left);
  Result<bool> PlanEvolve(const std::vector<ExperimentRecord>& records, int budget_left);
  Result<bool> ProposeAndQueue(const std::vector<Candidate>& candidates, const std::vector<ExperimentRecord>& records,
                               int budget_left);
  Status QueueProposed(const std::vector<ExperimentRecord>& records);
  Result<bool> StartQueued();
  Status StartOne(const ExperimentRecord& r);
  Result<bool> Reconcile();
  Status ReconcileOne(const ExperimentRecord& r, bool* changed);
  Status EndRunning(const ExperimentRecord& r, Running& run, const jobs::JobRecord& job);
  Status MaybePrune(const ExperimentRecord& r, Running& run, bool* ended);
  Status StopAll(const std::string& reason);
  Status PromoteAndReport(bool report);
  Result<std::map<std::string, std::string>> OrphanJobs();
  Result<RunResult> Finish(RunEnd end, std::string reason);

  Plan plan_;  // a copy: researcher hypotheses are appended to its evolve section
  const RunOptions& opt_;
  Ledger& ledger_;
  RunLease& lease_;
  Clock& clock_;
  std::string run_dir_abs_;
  std::map<std::string, Running> running_;
  std::map<std::string, std::vector<std::string>> patches_by_id_;  // filled by the generators' replay
  std::optional<std::map<std::string, std::string>> orphans_;      // "<id>#<attempt>" -> job id
  bool researcher_exhausted_ = false;
  bool anything_ended_ = false;
};

Status Driver::LoadResearcherHypotheses() {
  auto stored = ledger_.Meta("researcher_hypotheses");
  if (!stored.ok()) return stored.status();
  if (!stored->has_value() || !plan_.evolve) return Status::Ok();
  auto j = ParseJsonBounded(**stored);
  if (!j.ok() || !j->is_array()) return Status::Failed("ledger meta 'researcher_hypotheses' is damaged");
  for (const auto& h : *j) {
    // Written by an earlier invocation, but a file anyone can edit: checked, never a throwing accessor.
    if (!h.is_object() || StringField(h, "id").empty())
      return Status::Failed("ledger meta 'researcher_hypotheses' is damaged (an entry without an id)");
    Hypothesis hyp;
    hyp.id = StringField(h, "id");
    hyp.rationale = StringField(h, "rationale");
    hyp.patch = StringField(h, "patch");
    if (h.contains("overrides") && h["overrides"].is_object())
      for (const auto& [k, v] : h["overrides"].items()) hyp.overrides[k] = v;
    plan_.evolve->hypotheses.push_back(std::move(hyp));
  }
  return Status::Ok();
}

Result<MetricStream> Driver::NewMetricStream() const {
  const MetricSource& m = plan_.experiment.metric;
  if (m.kind == MetricSource::kRegex) return MetricStream::Regex(plan_.objective.metric, m.regex);
  return MetricStream::Json(plan_.objective.metric, m.intermediate_key);
}

// Cost so far and the worst case of what runs now, in dollars (0 without a price).
Result<std::pair<double, double>> Driver::Cost() {
  if (opt_.usd_per_hour <= 0) return std::make_pair(0.0, 0.0);
  auto all = ledger_.List();
  if (!all.ok()) return all.status();
  const std::int64_t now = clock_.NowMs();
  const double per_ms = opt_.usd_per_hour / 3'600'000.0;
  double spent = 0, worst_running = 0;
  for (const auto& r : *all) {
    if (r.started_ms <= 0) continue;
    const std::int64_t end = IsTerminal(r.state) && r.finished_ms > 0 ? r.finished_ms : now;
    spent += static_cast<double>(std::max<std::int64_t>(0, end - r.started_ms)) * per_ms;
    if (r.state == ExpState::kRunning)
      worst_running += static_cast<double>(
                           std::max<std::int64_t>(0, plan_.budget.experiment_timeout_s * 1000 - (now - r.started_ms))) *
                       per_ms;
  }
  return std::make_pair(spent, worst_running);
}

Result<int> Driver::BudgetLeft() {
  auto all = ledger_.List();
  if (!all.ok()) return all.status();
  return plan_.budget.max_experiments - static_cast<int>(all->size());
}

Status Driver::QueueProposed(const std::vector<ExperimentRecord>& records) {
  // Proposals whose Queue a kill -9 cut off: they were planned, so they run.
  for (const auto& r : records)
    if (r.state == ExpState::kProposed)
      if (auto s = ledger_.Queue(r.id); !s.ok()) return s;
  return Status::Ok();
}

Result<bool> Driver::ProposeAndQueue(const std::vector<Candidate>& candidates,
                                     const std::vector<ExperimentRecord>& records, int budget_left) {
  std::set<std::string> known;
  for (const auto& r : records) known.insert(r.id);
  std::vector<std::string> notes;
  auto queue = PlanQueue(candidates, known, budget_left, &notes);
  for (const auto& n : notes) Log("planner: " + n);
  if (queue.empty()) return false;
  for (const Candidate& c : queue) {
    ExperimentRecord e;
    e.id = c.id;
    e.params = c.params;
    e.seed = c.seed;
    e.patch = c.patch;
    e.hypothesis = c.hypothesis;
    e.rationale = c.rationale;
    auto added = ledger_.Propose(e);
    if (!added.ok()) return added.status();
  }
  CrashPoint("planned");
  for (const Candidate& c : queue) {
    auto r = ledger_.Get(c.id);
    if (!r.ok()) return r.status();
    if (r->state == ExpState::kProposed)
      if (auto s = ledger_.Queue(c.id); !s.ok()) return s;
    PublishId(c.id);
  }
  Log("planned " + std::to_string(queue.size()) + " experiment(s)" +
      (queue.front().hypothesis.empty() ? "" : " for hypothesis '" + queue.front().hypothesis + "'"));
  return true;
}

Result<bool> Driver::PlanSweep(const std::vector<ExperimentRecord>& records, int budget_left) {
  auto all = ExpandSweep(plan_);
  if (!all.ok()) return all.status();
  return ProposeAndQueue(*all, records, budget_left);
}

// Replays the keep-or-revert loop from the ledger: every decided step is decided again from the
// metrics it holds (the same rule as the standings' chain), then the first undecided step is either
// in progress (nothing to plan) or not proposed yet (propose it).
Result<bool> Driver::PlanEvolve(const std::vector<ExperimentRecord>& records, int budget_left) {
  std::map<std::string, const ExperimentRecord*> by_id;
  for (const auto& r : records) by_id[r.id] = &r;
  const Standings standings = ComputeStandings(plan_, records);

  EvolveState state = InitialEvolveState(plan_);
  for (;;) {
    auto step = NextEvolveStep(plan_, state);
    if (!step) {
      if (!opt_.researcher || researcher_exhausted_ || budget_left <= 0) return false;
      // The plan's hypotheses are used up: ask the researcher for more.
      ResearchContext ctx;
      ctx.plan = &plan_;
      ctx.so_far = records;
      for (const auto& h : plan_.evolve->hypotheses) ctx.tried_ids.push_back(h.id);
      if (standings.best_config)
        if (const auto* best = FindConfig(standings, *standings.best_config))
          ctx.best_summary =
              "best: " + best->params.dump() + " (" + (best->hypothesis.empty() ? "" : best->hypothesis) + ") mean " +
              std::to_string(best->summary.mean) + " over " + std::to_string(best->summary.n) + " repeat(s)";
      auto proposed = opt_.researcher->Propose(ctx);
      if (!proposed.ok()) {
        Log("researcher: " + proposed.status().message() + " (going on without it)");
        researcher_exhausted_ = true;
        return false;
      }
      if (proposed->empty()) {
        Log("researcher: nothing more to propose");
        researcher_exhausted_ = true;
        return false;
      }
      // Durable before use, so a restarted run replays the same hypotheses (a model never answers twice alike).
      auto stored = ledger_.Meta("researcher_hypotheses");
      if (!stored.ok()) return stored.status();
      nlohmann::json arr = nlohmann::json::array();
      if (stored->has_value()) {
        auto j = ParseJsonBounded(**stored);
        if (j.ok() && j->is_array()) arr = *j;
      }
      for (const auto& h : *proposed) {
        nlohmann::json o = nlohmann::json::object();
        for (const auto& [k, v] : h.overrides) o[k] = v;
        arr.push_back({{"id", h.id}, {"rationale", h.rationale}, {"overrides", o}, {"patch", h.patch}});
        plan_.evolve->hypotheses.push_back(h);
        Log("researcher proposes '" + h.id + "': " + h.rationale);
      }
      if (auto s = ledger_.SetMeta("researcher_hypotheses", arr.dump()); !s.ok()) return s;
      continue;  // replay again with the new hypotheses
    }
    const std::string hyp = step->front().hypothesis;
    for (const Candidate& c : *step) patches_by_id_[c.id] = c.patches;

    bool all_proposed = true, all_terminal = true, foreign = true;
    for (const Candidate& c : *step) {
      auto it = by_id.find(c.id);
      if (it == by_id.end()) {
        all_proposed = false;
        continue;
      }
      if (it->second->hypothesis == hyp) foreign = false;
      if (!IsTerminal(it->second->state)) all_terminal = false;
    }
    if (all_proposed && foreign && hyp != kBaseline) {
      // It changes nothing: its experiments are the best's own, already run. Tried, not won.
      state = RecordOutcome(plan_, state, hyp, false);
      continue;
    }
    if (!all_proposed) {
      if (budget_left <= 0) return false;
      auto queued = ProposeAndQueue(*step, records, budget_left);
      if (!queued.ok()) return queued.status();
      if (!*queued) return false;  // the step does not fit the budget: the loop ends here
      return true;
    }
    if (!all_terminal) return false;  // in progress
    // Decide the step.
    bool won = true;
    if (hyp != kBaseline) {
      const ConfigStanding* challenger = FindConfig(standings, step->front().config_key);
      const Candidate best_c = MakeCandidate(nlohmann::json(state.best_params), state.best_patches, 0);
      const ConfigStanding* best = FindConfig(standings, best_c.config_key);
      std::optional<Summary> best_summary;
      if (best && best->summary.n > 0) best_summary = best->summary;
      won =
          challenger && challenger->summary.n > 0 &&
          DecidePromotion(challenger->summary, best_summary, plan_.objective.maximize, plan_.objective.margin).promote;
    }
    state = RecordOutcome(plan_, state, hyp, won);
  }
}

Result<bool> Driver::PlanMore() {
  auto records = ledger_.List();
  if (!records.ok()) return records.status();
  if (auto s = QueueProposed(*records); !s.ok()) return s;
  for (const auto& r : *records)
    if (r.state == ExpState::kQueued) return false;  // the queue is not empty yet
  auto left = BudgetLeft();
  if (!left.ok()) return left.status();
  if (*left <= 0) return false;
  if (plan_.sweep) {
    auto swept = PlanSweep(*records, *left);
    if (!swept.ok()) return swept.status();
    if (*swept) return true;
  }
  if (plan_.evolve) return PlanEvolve(*records, *left);
  return false;
}

Result<std::map<std::string, std::string>> Driver::OrphanJobs() {
  std::map<std::string, std::string> out;
  std::vector<std::string> problems;
  auto list = opt_.jobs->List("autolab", &problems);
  if (!list.ok()) return list.status();
  for (const auto& job : *list) {
    const auto& m = job.request.meta;
    if (!m.is_object() || !m.contains("autolab") || !m["autolab"].is_object()) continue;
    const auto& a = m["autolab"];
    if (StringField(a, "run_dir") != run_dir_abs_) continue;
    // Refused by its backend: never ran, nothing to adopt (the experiment stays queued).
    if (job.status.backend_state == "not submitted") continue;
    if (!a.contains("experiment") || !a["experiment"].is_string() || !a.contains("attempt") ||
        !a["attempt"].is_number_integer())
      continue;
    out[a["experiment"].get<std::string>() + "#" + std::to_string(a["attempt"].get<int>())] = job.id;
  }
  return out;
}

Status Driver::StartOne(const ExperimentRecord& r) {
  const int attempt = r.attempts + 1;
  if (!orphans_) {
    auto o = OrphanJobs();
    if (!o.ok()) return o.status();
    orphans_ = std::move(*o);
  }
  // A job submitted for this very attempt by an invocation killed before it reached the ledger.
  if (auto it = orphans_->find(r.id + "#" + std::to_string(attempt)); it != orphans_->end()) {
    Log(r.id + ": adopting job " + it->second + " submitted before an interruption");
    if (auto s = ledger_.Start(r.id, it->second, HostName(), 0); !s.ok()) return s;
    PublishId(r.id);
    return Status::Ok();
  }

  const std::string workdir = sfs::absolute(ExperimentDir(opt_.run_dir, r.id)).string();
  std::vector<std::string> patches;
  if (auto it = patches_by_id_.find(r.id); it != patches_by_id_.end()) patches = it->second;
  else if (!r.patch.empty()) patches = {r.patch};
  if (auto s = PrepareWorkdir(plan_, workdir, patches); !s.ok()) {
    Log(r.id + ": failed before it started: " + s.message());
    auto f = ledger_.Fail(r.id, OneLine(s.message(), 2000));
    PublishId(r.id);
    anything_ended_ = true;
    return f;
  }
  auto argv = ExpandCommand(plan_.experiment.command, r.params, workdir, r.seed);
  if (!argv.ok()) {
    auto f = ledger_.Fail(r.id, "command: " + argv.status().message());
    anything_ended_ = true;
    return f;
  }
  jobs::JobRequest req;
  req.name = plan_.name + "/" + r.id;
  req.kind = "autolab";
  req.backend = plan_.backend;
  req.command = *argv;
  req.env = plan_.experiment.env;
  req.env["DSX_AUTOLAB_EXPERIMENT"] = r.id;
  req.env["DSX_AUTOLAB_SEED"] = std::to_string(r.seed);
  req.workdir = workdir;
  req.timeout_s = plan_.budget.experiment_timeout_s;
  req.resources = plan_.resources;
  req.meta = {{"autolab", {{"run_dir", run_dir_abs_}, {"experiment", r.id}, {"attempt", attempt}}}};
  auto job = opt_.jobs->Submit(req);
  if (!job.ok()) {
    // The backend refused (sbatch down, HF unreachable): not the experiment's fault; it stays
    // queued and the error ends this invocation so cron tries again later.
    return job.status().Wrap("submitting experiment " + r.id);
  }
  (*orphans_)[r.id + "#" + std::to_string(attempt)] = job->id;
  CrashPoint("submitted");
  std::int64_t pid = 0;
  if (plan_.backend == "local") pid = std::atoll(job->backend_id.c_str());
  if (auto s = ledger_.Start(r.id, job->id, HostName(), pid); !s.ok()) return s;
  CrashPoint("started");
  Log(r.id + ": started (job " + job->id + ", " + (r.hypothesis.empty() ? "" : r.hypothesis + ", ") + r.params.dump() +
      ", seed " + std::to_string(r.seed) + ")");
  PublishId(r.id);
  return Status::Ok();
}

Result<bool> Driver::StartQueued() {
  auto records = ledger_.List();
  if (!records.ok()) return records.status();
  int running = 0;
  for (const auto& r : *records)
    if (r.state == ExpState::kRunning) ++running;
  bool changed = false;
  cost_capped_ = false;
  for (const auto& r : *records) {
    if (running >= plan_.budget.max_parallel) break;
    if (r.state != ExpState::kQueued) continue;
    if (plan_.budget.max_cost_usd > 0 && opt_.usd_per_hour > 0) {
      auto cost = Cost();
      if (!cost.ok()) return cost.status();
      const double next = static_cast<double>(plan_.budget.experiment_timeout_s) * opt_.usd_per_hour / 3600.0;
      if (cost->first + cost->second + next > plan_.budget.max_cost_usd) {
        if (!cost_logged_)
          Log("cost limit: $" + std::to_string(cost->first) + " spent, $" + std::to_string(cost->second) +
              " more possible by the running experiments, $" + std::to_string(next) +
              " for the next: no new experiment starts (budget.max_cost_usd " +
              std::to_string(plan_.budget.max_cost_usd) + ")");
        cost_capped_ = cost_logged_ = true;
        break;
      }
    }
    if (auto s = StartOne(r); !s.ok()) return s;
    auto now = ledger_.Get(r.id);
    if (now.ok() && now->state == ExpState::kRunning) ++running;
    changed = true;
  }
  return changed;
}

Status Driver::MaybePrune(const ExperimentRecord& r, Running& run, bool* ended) {
  const Pruning& p = plan_.experiment.pruning;
  if (!p.median_stopping || run.metrics->curve().empty()) return Status::Ok();
  auto finished = ledger_.List(ExpState::kFinished);
  if (!finished.ok()) return finished.status();
  std::vector<Curve> curves;
  for (const auto& f : *finished) {
    auto c = ledger_.Curve(f.id);
    if (!c.ok()) return c.status();
    if (!c->empty()) curves.push_back(std::move(*c));
  }
  if (!ShouldStop(run.metrics->curve(), curves, plan_.objective.maximize, p.min_steps, 1)) return Status::Ok();
  const auto& last = run.metrics->curve().back();
  const std::string reason = "median stopping at step " + std::to_string(last.first) + " (" + plan_.objective.metric +
                             " " + std::to_string(last.second) + " worse than the median of " +
                             std::to_string(curves.size()) + " finished)";
  (void)opt_.jobs->Cancel(run.job_id, std::chrono::milliseconds(kCancelWaitMs));
  if (auto s = ledger_.Prune(r.id, reason); !s.ok()) return s;
  Log(r.id + ": pruned: " + reason);
  *ended = true;
  return Status::Ok();
}

Status Driver::EndRunning(const ExperimentRecord& r, Running& run, const jobs::JobRecord& job) {
  const std::string log_path = ExperimentLogPath(opt_.run_dir, r.id);
  const auto& st = job.status;
  Status s;
  switch (st.state) {
    case jobs::JobState::kSucceeded: {
      run.metrics->Finish();
      if (plan_.experiment.metric.kind == MetricSource::kFile) {
        auto v = ReadMetricFile(sfs::path(ExperimentDir(opt_.run_dir, r.id)) / plan_.experiment.metric.file,
                                plan_.objective.metric);
        s = v.ok() ? ledger_.Finish(r.id, *v, log_path) : ledger_.Fail(r.id, v.status().message());
        break;
      }
      MetricOutcome out = run.metrics->Outcome();
      s = out.kind == MetricKind::kOk ? ledger_.Finish(r.id, *out.value, log_path) : ledger_.Fail(r.id, out.reason);
      break;
    }
    case jobs::JobState::kFailed: {
      std::string why = st.exit_code ? "exited with " + std::to_string(*st.exit_code) : "failed";
      if (!st.detail.empty()) why += " (" + OneLine(st.detail) + ")";
      if (!run.last_line.empty()) why += "; last output: " + OneLine(run.last_line);
      s = ledger_.Fail(r.id, why);
      break;
    }
    case jobs::JobState::kTimeout:
      s = ledger_.Fail(r.id, "timed out after " + std::to_string(plan_.budget.experiment_timeout_s) +
                                 " s (budget.experiment_timeout_s); its process tree was killed");
      break;
    case jobs::JobState::kCancelled:
      s = ledger_.Cancel(r.id, "its job " + job.id + " was cancelled outside the run");
      break;
    case jobs::JobState::kLost: {
      auto events = ledger_.Events(r.id);
      if (!events.ok()) return events.status();
      int lost = 1;
      for (const auto& e : *events)
        if (e.to_state == "queued" && e.detail.rfind("lost", 0) == 0) ++lost;
      const std::string why = "lost: " + (st.detail.empty() ? std::string("its job's outcome is unknown") : st.detail);
      s = lost >= opt_.max_attempts ? ledger_.Fail(r.id, why + " (" + std::to_string(lost) + " attempts)")
                                    : ledger_.Requeue(r.id, why);
      break;
    }
    default: return Status::Ok();
  }
  if (!s.ok()) return s;
  CrashPoint("finished");
  auto now = ledger_.Get(r.id);
  if (now.ok()) {
    Log(r.id + ": " + ExpStateName(now->state) +
        (now->metric ? " " + plan_.objective.metric + "=" + std::to_string(*now->metric) : "") +
        (now->reason.empty() ? "" : " (" + now->reason + ")"));
    PublishExperiment(*now);
  }
  return Status::Ok();
}

Status Driver::ReconcileOne(const ExperimentRecord& r, bool* changed) {
  auto it = running_.find(r.id);
  if (it == running_.end()) {
    // Started by an earlier invocation (or just now): read its log from the start.
    Running run;
    run.job_id = r.job_id;
    auto ms = NewMetricStream();
    if (!ms.ok()) return ms.status();
    run.metrics = std::make_unique<MetricStream>(std::move(*ms));
    std::error_code ec;
    sfs::create_directories(ExperimentDir(opt_.run_dir, r.id), ec);
    run.log = std::make_unique<std::ofstream>(ExperimentLogPath(opt_.run_dir, r.id), std::ios::trunc);
    it = running_.emplace(r.id, std::move(run)).first;
  }
  Running& run = it->second;

  auto job = opt_.jobs->Status(r.job_id);
  if (!job.ok()) {
    if (job.status().code() != Code::kNotFound) return job.status().Wrap("experiment " + r.id);
    // The job's record is gone (registry wiped): its outcome is unknown.
    jobs::JobRecord gone;
    gone.id = r.job_id;
    gone.status.state = jobs::JobState::kLost;
    gone.status.detail = "job " + r.job_id + " is no longer in the jobs registry";
    *changed = true;
    anything_ended_ = true;
    auto s = EndRunning(r, run, gone);
    running_.erase(r.id);
    return s;
  }
  const bool terminal = jobs::IsTerminal(job->status.state);

  // New output. Logs() hands over a last line without its newline too; while the job runs that
  // line may still grow, so it is held back until the job has ended.
  std::vector<std::string> lines;
  std::size_t index = 0;
  auto logs = opt_.jobs->Logs(
      r.job_id, false,
      [&](std::string_view line) {
        if (index++ >= run.lines_read) lines.emplace_back(line);
        return true;
      },
      nullptr);
  if (!logs.ok() && logs.code() != Code::kNotFound) return logs.Wrap("reading the log of " + r.id);
  if (!terminal && !lines.empty() && !WholeJsonLine(lines.back())) lines.pop_back();
  for (const auto& line : lines) {
    *run.log << line << '\n';
    run.metrics->Feed(line);
    run.metrics->Feed("\n");
    if (!line.empty()) run.last_line = line;
  }
  run.lines_read += lines.size();
  if (!lines.empty()) run.log->flush();

  const auto& curve = run.metrics->curve();
  for (; run.curve_sent < curve.size(); ++run.curve_sent) {
    const auto& [step, value] = curve[run.curve_sent];
    if (auto s = ledger_.AddIntermediate(r.id, step, value); !s.ok()) return s;
    Publish({{"type", "autolab.metric"}, {"id", r.id}, {"step", step}, {"value", value}});
  }

  if (!terminal && run.metrics->garbage()) {
    // A diverged run's later values mean nothing: stop it now.
    (void)opt_.jobs->Cancel(r.job_id, std::chrono::milliseconds(kCancelWaitMs));
    if (auto s = ledger_.Fail(r.id, run.metrics->Outcome().reason); !s.ok()) return s;
    Log(r.id + ": failed: " + run.metrics->Outcome().reason);
    PublishId(r.id);
    running_.erase(r.id);
    *changed = anything_ended_ = true;
    return Status::Ok();
  }
  if (!terminal) {
    bool ended = false;
    if (!lines.empty())
      if (auto s = MaybePrune(r, run, &ended); !s.ok()) return s;
    if (ended) {
      PublishId(r.id);
      running_.erase(r.id);
      *changed = anything_ended_ = true;
    } else if (!lines.empty()) {
      *changed = true;
    }
    return Status::Ok();
  }
  auto s = EndRunning(r, run, *job);
  running_.erase(r.id);
  *changed = anything_ended_ = true;
  return s;
}

Result<bool> Driver::Reconcile() {
  auto records = ledger_.List(ExpState::kRunning);
  if (!records.ok()) return records.status();
  bool changed = false;
  for (const auto& r : *records)
    if (auto s = ReconcileOne(r, &changed); !s.ok()) return s;
  // Cached state of experiments that are no longer running (e.g. cancelled from outside).
  std::set<std::string> live;
  for (const auto& r : *records) live.insert(r.id);
  for (auto it = running_.begin(); it != running_.end();)
    it = live.count(it->first) ? std::next(it) : running_.erase(it);
  return changed;
}

Status Driver::StopAll(const std::string& reason) {
  auto records = ledger_.List(ExpState::kRunning);
  if (!records.ok()) return records.status();
  for (const auto& r : *records) {
    auto c = opt_.jobs->Cancel(r.job_id, std::chrono::milliseconds(kCancelWaitMs));
    if (!c.ok() && c.status().code() != Code::kNotFound)
      Log(r.id + ": cancelling job " + r.job_id + ": " + c.status().message());
    if (auto s = ledger_.Requeue(r.id, reason); !s.ok()) return s;
    Log(r.id + ": stopped and requeued");
    PublishId(r.id);
  }
  running_.clear();
  return Status::Ok();
}

Status Driver::PromoteAndReport(bool report) {
  auto records = ledger_.List();
  if (!records.ok()) return records.status();
  const Standings st = ComputeStandings(plan_, *records);
  if (st.best_id) {
    auto current = ledger_.Get(*st.best_id);
    if (!current.ok()) return current.status();
    if (!current->promoted) {
      if (auto s = ledger_.Promote(*st.best_id); !s.ok()) return s;
      const ConfigStanding* c = FindConfig(st, *st.best_config);
      std::string why;
      for (const auto& step : st.chain)
        if (step.config_key == *st.best_config) why = step.decision.reason;
      Log("promoted " + *st.best_id + (why.empty() ? "" : ": " + why));
      if (c)
        Publish({{"type", "autolab.promoted"},
                 {"id", *st.best_id},
                 {"config", c->config_key},
                 {"mean", c->summary.mean},
                 {"ci", {c->summary.ci_low, c->summary.ci_high}},
                 {"reason", why}});
    }
  }
  if (!report) return Status::Ok();
  CrashPoint("report");
  auto files = WriteReport(plan_, ledger_, opt_.run_dir);
  if (!files.ok()) {
    Log("report: " + files.status().message());
    return Status::Ok();  // the ledger holds everything; `dsx autolab report` can write it later
  }
  Publish({{"type", "autolab.report"}, {"path", files->report_md}});
  return Status::Ok();
}

Result<RunResult> Driver::Finish(RunEnd end, std::string reason) {
  RunResult out;
  out.end = end;
  out.reason = std::move(reason);
  if (auto s = CountInto(ledger_, &out); !s.ok()) return s;
  if (auto cost = Cost(); cost.ok()) out.cost_usd = cost->first;
  if (plan_.publish.any()) {
    // The open data layer: once per invocation, at its end (the Hub commits once, not per experiment).
    PublishOptions po;
    po.log = opt_.log;
    auto published = autolab::Publish(plan_, plan_.publish, ledger_, opt_.run_dir, po);
    if (!published.ok())
      Log("publish: " + published.status().message() + " (the run folder has everything; retried next time)");
  }
  const char* state = end == RunEnd::kDone ? "done" : end == RunEnd::kStopped ? "stopped" : "paused";
  Publish({{"type", "autolab.run"}, {"state", state}, {"reason", out.reason}});
  Log(out.reason);
  return out;
}

Result<RunResult> Driver::Run() {
  if (auto s = LoadResearcherHypotheses(); !s.ok()) return s;
  auto started = ledger_.Meta("started_ms");
  if (!started.ok()) return started.status();
  std::int64_t started_ms = clock_.NowMs();
  if (started->has_value()) started_ms = std::atoll((*started)->c_str());
  else if (auto s = ledger_.SetMeta("started_ms", std::to_string(started_ms)); !s.ok()) return s;

  Publish({{"type", "autolab.run"},
           {"state", "started"},
           {"run", run_dir_abs_},
           {"plan", plan_.name},
           {"objective",
            {{"metric", plan_.objective.metric},
             {"direction", plan_.objective.maximize ? "maximize" : "minimize"},
             {"repeats", plan_.objective.repeats}}},
           {"budget",
            {{"max_experiments", plan_.budget.max_experiments},
             {"max_parallel", plan_.budget.max_parallel},
             {"wall_clock_s", plan_.budget.wall_clock_s}}}});

  bool report_due = true;  // the first pass writes the report (a resumed run may have missed it)
  for (std::int64_t pass = 0;; ++pass) {
    if (opt_.max_passes > 0 && pass >= opt_.max_passes) return Finish(RunEnd::kDone, "stopped after max_passes");
    if (lease_.RenewDue())
      if (auto s = lease_.Renew(); !s.ok()) return s.Wrap("the run's lease was lost");
    if (opt_.progress)
      if (auto c = opt_.progress->TakeControl())
        if (auto s = WriteControl(ledger_, *c); !s.ok()) return s;
    auto control = ReadControl(ledger_);
    if (!control.ok()) return control.status();

    anything_ended_ = false;
    auto reconciled = Reconcile();
    if (!reconciled.ok()) return reconciled.status();
    bool changed = *reconciled;

    if (*control == Control::kStop) {
      if (auto s = StopAll("stopped by request"); !s.ok()) return s;
      if (auto s = PromoteAndReport(true); !s.ok()) return s;
      return Finish(RunEnd::kStopped, "stopped by request (dsx autolab resume RUN continues it)");
    }
    auto running = ledger_.List(ExpState::kRunning);
    if (!running.ok()) return running.status();
    if (*control == Control::kPause) {
      if (anything_ended_ || report_due)
        if (auto s = PromoteAndReport(true); !s.ok()) return s;
      report_due = false;
      if (running->empty()) return Finish(RunEnd::kPaused, "paused by request (dsx autolab resume RUN continues it)");
      clock_.SleepMs(opt_.poll_ms);
      continue;
    }

    const bool out_of_time =
        plan_.budget.wall_clock_s > 0 && clock_.NowMs() - started_ms >= plan_.budget.wall_clock_s * 1000;
    if (!out_of_time) {
      auto planned = PlanMore();
      if (!planned.ok()) return planned.status();
      auto startedq = StartQueued();
      if (!startedq.ok()) return startedq.status();
      changed = changed || *planned || *startedq;
      // An experiment can end in the pass that planned it (a patch that does not apply fails it
      // before it starts): plan again before deciding that nothing is left.
      if (*planned || *startedq) {
        if (anything_ended_)
          if (auto s = PromoteAndReport(true); !s.ok()) return s;
        continue;
      }
    }
    if (anything_ended_ || report_due) {
      if (auto s = PromoteAndReport(true); !s.ok()) return s;
      report_due = false;
    }

    auto records = ledger_.List();
    if (!records.ok()) return records.status();
    int busy = 0, done = 0;
    for (const auto& r : *records) {
      if (r.state == ExpState::kRunning || r.state == ExpState::kQueued || r.state == ExpState::kProposed) ++busy;
      if (IsTerminal(r.state)) ++done;
    }
    const bool nothing_running =
        std::none_of(records->begin(), records->end(), [](const auto& r) { return r.state == ExpState::kRunning; });
    if (nothing_running && (busy == 0 || out_of_time || cost_capped_)) {
      if (auto s = PromoteAndReport(true); !s.ok()) return s;
      std::string why;
      if (out_of_time) why = "wall-clock budget spent (" + std::to_string(plan_.budget.wall_clock_s) + " s)";
      else if (cost_capped_)
        why = "cost budget spent (budget.max_cost_usd " + std::to_string(plan_.budget.max_cost_usd) + ")";
      else if (static_cast<int>(records->size()) >= plan_.budget.max_experiments)
        why = "budget spent: " + std::to_string(records->size()) + " of " +
              std::to_string(plan_.budget.max_experiments) + " experiments";
      else why = "nothing left to do: " + std::to_string(done) + " experiment(s) done";
      return Finish(RunEnd::kDone, why);
    }
    if (!changed) clock_.SleepMs(opt_.poll_ms);
  }
}

}  // namespace

Result<RunResult> RunPlan(const Plan& plan, const RunOptions& options) {
  if (options.run_dir.empty()) return Status::Usage("autolab run: no run folder");
  if (!options.jobs) return Status::Usage("autolab run: no jobs service");
  Clock& clock = options.clock ? *options.clock : Clock::System();
  if (auto s = dsx::fs::EnsureDir(options.run_dir); !s.ok()) return s;
  auto ledger = Ledger::Open(LedgerPath(options.run_dir), clock);
  if (!ledger.ok()) return ledger.status();

  auto lease = RunLease::Acquire(**ledger, LeaseOwner::Self());
  if (!lease.ok()) {
    if (lease.status().code() != Code::kConflict) return lease.status();
    RunResult held;
    held.end = RunEnd::kLeaseHeld;
    held.reason = lease.status().message();
    (void)CountInto(**ledger, &held);  // a reader beside the driver: counts as of now
    return held;
  }

  // The run folder belongs to one plan: continuing it with another would mix two experiments' results.
  const std::string hash = PlanHash(plan);
  auto stored = (*ledger)->Meta("plan_hash");
  if (!stored.ok()) return stored.status();
  if (stored->has_value() && **stored != hash)
    return Status::Usage("run folder " + options.run_dir + " was made by another plan (hash " +
                         (**stored).substr(0, 12) + ", this plan " + hash.substr(0, 12) +
                         "): use another --run-dir, or the plan it was made with");
  if (!stored->has_value()) {
    if (auto s = dsx::fs::AtomicWriteFile(sfs::path(options.run_dir) / "plan.json", ToJson(plan).dump(2) + "\n");
        !s.ok())
      return s;
    if (auto s = (*ledger)->SetMeta("plan_name", plan.name); !s.ok()) return s;
    if (auto s = (*ledger)->SetMeta("plan_hash", hash); !s.ok()) return s;
  }

  auto control = ReadControl(**ledger);
  if (!control.ok()) return control.status();
  if (*control != Control::kRun) {
    RunResult held;
    held.end = *control == Control::kStop ? RunEnd::kStopped : RunEnd::kPaused;
    held.reason = std::string("the run is ") + (*control == Control::kStop ? "stopped" : "paused") +
                  " (dsx autolab resume RUN, then run again)";
    if (auto s = CountInto(**ledger, &held); !s.ok()) return s;
    return held;
  }

  Driver driver(plan, options, **ledger, **lease, clock);
  auto result = driver.Run();
  (void)(*lease)->Release();
  return result;
}

}  // namespace dsx::autolab
