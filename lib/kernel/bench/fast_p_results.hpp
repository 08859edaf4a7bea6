// The inputs of fast_p (fast_p.hpp) read from what dsx already writes, so a score can be computed
// on any machine, long after the GPU run:
//   - a `dsx kernel bench --json` document: one task {"task", "status", "results": [...]}, or
//     several {"tasks": [document, ...], "fast_p"} (bench with several TASKs or --all);
//   - a `dsx kernel gen` run folder (or its leaderboard.json): the task's outcome is the run's best
//     candidate (candidates/<best>.bench.json); a run where nothing passed counts as not correct;
//   - the PyTorch eager baseline, bench/kernels/torch_eager.py's output (JSON lines).
// Every malformed input is a Usage error (exit 2) that names the file and the field:
//   "'a.json': results[1].candidate.cold.median_ms: want a number, got string".
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "kernel/bench/fast_p.hpp"

namespace dsx::kernel::bench {

// Files larger than this are refused before parsing (a bench document with child logs is well
// under 1 MiB per task; 64 MiB holds hundreds of tasks).
inline constexpr std::size_t kMaxResultsFileBytes = 64u << 20;

// One bench document -> the task's outcome against its reference kernel. `source` names the
// document in errors. Correct: status "ok", at least one row, every row "ok".
Result<TaskOutcome> OutcomeFromBenchDoc(const nlohmann::json& doc, const std::string& source);

// Every task outcome in `path` (a bench document, a multi-task document, a gen run folder or its
// leaderboard.json). NotFound for a missing path; Usage for anything malformed.
Result<std::vector<TaskOutcome>> LoadResults(const std::filesystem::path& path);

// torch_eager.py's rows, keyed by (task, dtype, preset).
struct BaselineRow {
  double median_ms = 0;  // 0 when `missing` is set
  std::string missing;   // "skipped: time limit", "error: ..." (the script's own words)
  std::string device;
  int line = 0;
};
struct BaselineTable {
  std::string file;
  std::map<std::tuple<std::string, std::string, std::string>, BaselineRow> rows;
};

// Reads torch_eager.py's output: JSON lines (or one JSON array of the same objects). Each row needs
// "task", "dtype", "preset" (strings) and "median_ms" (a number > 0), unless it carries "skipped"
// or "error"; a --dry-run listing (no times) and a (task, dtype, preset) given twice are refused.
Result<BaselineTable> LoadBaselineJson(const std::filesystem::path& path);

// Replaces every configuration's baseline by PyTorch eager's cold median. A configuration gets a
// baseline_note instead (and its task no speedup) when the table has no row for it, the row was
// skipped or failed, the kernel was only timed hot, or the two ran on different GPUs.
void ApplyBaseline(std::vector<TaskOutcome>& tasks, const BaselineTable& table);

// Refuses a task named twice (one result per task: fast_p's denominator is the task set).
Status CheckUniqueTasks(const std::vector<TaskOutcome>& tasks);

// fast_p of documents `dsx kernel bench` just produced (one per task), against each task's
// reference kernel or, when `baseline` is given, PyTorch eager. Usage error for a malformed
// document or a task benched twice.
Result<FastPReport> ScoreBenchDocs(const std::vector<nlohmann::json>& docs, const std::vector<double>& ps,
                                   const BaselineTable* baseline);

// `dsx kernel score`: fast_p over saved results (LoadResults of each path), one result per task.
// `baseline_json` "" = the reference kernels. NotFound / Usage errors as LoadResults.
Result<FastPReport> ScoreFiles(const std::vector<std::filesystem::path>& paths, const std::vector<double>& ps,
                               const std::string& baseline_json);

}  // namespace dsx::kernel::bench
