// The run driver: `dsx autolab run PLAN` is RunPlan(). One invocation takes the run's lease, then
// loops until the budget is spent or nothing is left to do:
//
//   1. control     a stop/pause request (ledger meta, or the progress sink's session) is honoured
//   2. reconcile   each running experiment's job is polled through the jobs layer: new output is
//                  appended to its log and fed to its MetricStream; intermediate points go to the
//                  ledger (and median stopping may prune it); a finished job becomes finished (its
//                  metric), failed (crash, timeout, no metric, NaN/garbage, with the reason) or, when
//                  its outcome is unknown (lost), is requeued up to the retry limit
//   3. plan        when the queue is empty: the next generator step (sweep: all of it; evolve: the
//                  next hypothesis once the previous step is decided; researcher: more hypotheses
//                  when the plan's run out), deduplicated against the ledger and cut to the budget
//   4. start       queued experiments start while fewer than max_parallel run: working folder
//                  prepared (files copied or git worktree, patches applied), command expanded, job
//                  submitted (kind "autolab", timeout = the plan's), ledger Start with the job id
//   5. promote     standings recomputed from the ledger; the winner is promoted
//   6. report      the reporter's files are rewritten when anything finished
//
// Crash safety: the driver keeps nothing in memory that the ledger and the jobs registry do not
// also hold. After kill -9, the next invocation adopts running experiments whose jobs still run,
// collects those that finished meanwhile, requeues lost ones, and finds a job submitted just before
// the kill whose Start never reached the ledger (by the run and experiment id in the job's meta), so
// no experiment is run twice.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "autolab/plan.hpp"
#include "autolab/progress.hpp"
#include "autolab/researcher.hpp"
#include "core/clock.hpp"
#include "core/status.hpp"
#include "jobs/service/job_service.hpp"

namespace dsx::autolab {

// How an invocation ended; the numbers are `dsx autolab run`'s exit codes (man dsx-autolab).
enum class RunEnd {
  kDone = 0,       // budget spent (experiments or wall clock) or nothing left to do
  kStopped = 6,    // a stop request (now or from before: resume first)
  kPaused = 7,     // a pause request: running experiments were let finish
  kLeaseHeld = 9,  // another live invocation drives this run (cron overlap): nothing done
};

struct RunOptions {
  std::string run_dir;                          // required (DefaultRunDir(plan) is the CLI's default)
  jobs::JobService* jobs = nullptr;             // required: experiments are jobs
  Clock* clock = nullptr;                       // nullptr = Clock::System(); its SleepMs paces the loop
  std::int64_t poll_ms = 500;                   // between loop passes when nothing changed
  int max_attempts = 3;                         // starts per experiment when its outcome was unknown (lost)
  ProgressSink* progress = nullptr;             // optional: the run's session
  HypothesisSource* researcher = nullptr;       // optional: proposes hypotheses after the plan's own
  std::function<void(const std::string&)> log;  // one line per notable thing (stderr progress); may be empty
  std::int64_t max_passes = 0;                  // tests: stop after this many loop passes (0 = no limit)
  // What one experiment's hardware costs (a paid backend: the hf flavor's price; 0 = free or
  // unknown). With budget.max_cost_usd, an experiment starts only when the cost so far (each
  // experiment's running time x this) plus the worst case of the running ones and of the new one
  // (experiment_timeout_s each) stays within the limit.
  double usd_per_hour = 0;
};

struct RunResult {
  RunEnd end = RunEnd::kDone;
  std::string reason;  // one line: "budget spent: 12 of 12 experiments", "paused by request", ...
  int finished = 0, failed = 0, pruned = 0, cancelled = 0, pending = 0;  // ledger counts at exit
  double cost_usd = 0;  // experiments' running time x RunOptions::usd_per_hour
  std::string best_id;                                                   // promoted experiment ("" = none yet)
};

// Errors (not outcomes): kUsage for a plan the run folder was not made with (plan hash differs: use
// another --run-dir), kUnavailable when the ledger or the jobs registry cannot be opened.
Result<RunResult> RunPlan(const Plan& plan, const RunOptions& options);

}  // namespace dsx::autolab
