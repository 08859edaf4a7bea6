// KernelBench's fast_p over a set of tasks: the share of ALL tasks (denominator n) whose kernel is
// correct AND faster than a baseline by more than p (speedup = baseline time / kernel time, strict
// `speedup > p`, as in KernelBench's src/kernelbench/score.py `fastp`). fast_0 is the correctness
// rate (every measured speedup is > 0); fast_1 is "correct and faster than the baseline".
//
// The unit is a task, as in the issue and in KernelBench (one problem, one number): a task is
// correct when `dsx kernel bench` verified every (dtype, preset) configuration it ran and rejected
// none; its speedup is the geometric mean of the per-configuration speedups (the same aggregate as
// `kernel gen`'s score). Pure: no I/O, no device; the loaders are in fast_p_results.hpp.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::kernel::bench {

// KernelBench's list of thresholds (scripts/benchmark_eval_analysis.py, `p_values`).
const std::vector<double>& DefaultFastPThresholds();

// One timed configuration of a task. Times in ms; NaN when unknown.
struct ConfigTime {
  std::string dtype;
  std::string preset;
  std::string mode;           // "cold" (L2 flushed) | "hot": which measurement both times come from
  double candidate_ms = 0;    // the kernel's median
  double baseline_ms = 0;     // the baseline's median in the same mode
  std::string baseline_note;  // why there is no baseline time ("" when there is one)
};

// What the harness said about one task.
struct TaskOutcome {
  std::string task;
  bool correct = false;      // verified on every configuration, nothing rejected, nothing crashed
  std::string status;        // the harness's word: ok | wrong | rejected | compile_error | crashed | failed
  std::string reason;        // the first reason when not correct
  bool flagged = false;      // correct but flagged for review (> 10x over the reference...)
  std::string baseline;      // "reference" (the task's reference kernel) | "torch_eager"
  std::string source;        // where it came from (a file, "bench"), for messages
  std::string device;        // the GPU's name as the harness reported it ("" when unknown)
  std::vector<ConfigTime> configs;
};

// A task's contribution to the score.
struct TaskScore {
  std::string task;
  bool correct = false;
  double speedup = 0;     // geometric mean over configurations; valid only when `scored`
  bool scored = false;    // correct and every configuration has valid candidate and baseline times
  std::string note;       // why not correct, or why correct but without a speedup
  bool flagged = false;
};

struct FastPPoint {
  double p = 0;
  size_t count = 0;     // tasks correct with speedup > p
  double fraction = 0;  // count / n (0 when n == 0, as KernelBench's score.py)
};

struct FastPReport {
  std::string baseline;  // the baseline every task was compared with ("mixed" if they differ)
  size_t n = 0;          // tasks (the denominator)
  size_t correct = 0;
  size_t scored = 0;     // correct tasks with a speedup
  size_t flagged = 0;
  double geomean_speedup = 0;  // over scored tasks (0 when none), as score.py's correct-only mean
  std::vector<FastPPoint> points;
  std::vector<TaskScore> tasks;
};

// The task's speedup over its baseline (geometric mean over configurations) or why there is none:
// no configurations, a missing baseline time, or a time that is not a positive finite number
// (a 0 ms kernel would give an infinite speedup: GPU MODE's aggregator-underflow exploit).
TaskScore ScoreTask(const TaskOutcome& t);

// fast_p at each threshold in `ps` (kept in the order given). Task names need not be unique:
// each outcome counts once (a caller that wants one entry per task deduplicates first).
FastPReport ComputeFastP(const std::vector<TaskOutcome>& tasks, const std::vector<double>& ps);

// "0,1,1.5": finite, >= 0, no duplicates; Usage error naming the bad item otherwise.
Result<std::vector<double>> ParseFastPThresholds(const std::string& text);

// The --json form: {"baseline", "n", "correct", "scored", "flagged", "geomean_speedup",
//  "thresholds": [{"p", "count", "fraction"}], "fast_p": {"fast_0": f, "fast_1.5": f, ...},
//  "tasks": [{"task", "correct", "speedup" (null when unscored), "note", "flagged"}]}
nlohmann::json FastPToJson(const FastPReport& r);
// The human lines: "fast_p over 8 tasks (baseline: reference kernel): fast_0 0.875 (7/8) ...".
std::string FormatFastP(const FastPReport& r);
// "fast_1", "fast_1.5", "fast_0.8": the key of threshold p.
std::string FastPKey(double p);

}  // namespace dsx::kernel::bench
