// The verdict on one candidate kernel, as the generation loop sees it, and the interface of
// whatever produces it (the real harness in a child process, or a fake in tests).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::kernel::gen {

enum class Outcome {
  kPassed,        // compiled, verified on every size and dtype, timed
  kNoCode,        // the reply held no usable code
  kCompileError,  // NVRTC rejected it
  kRejected,      // the static scan or a guard refused it (cheat-like, speed of light...)
  kWrong,         // verification failed (wrong values, NaN left, inputs modified)
  kCrashed,       // the child process died or timed out (illegal address, hang)
  kError,         // anything else the harness reported
};
const char* OutcomeName(Outcome o);  // "passed", "no_code", "compile_error", ...

// One timed configuration.
struct TimingRow {
  std::string dtype;
  std::string preset;
  double median_ms = 0;
  double gbps = 0;      // 0 when unknown
  double pct_peak = 0;  // % of peak bandwidth, 0 when unknown
  double speedup = 0;   // vs the task's reference kernel, 0 when unknown
};

struct Evaluation {
  Outcome outcome = Outcome::kError;
  std::string summary;   // one line for tables and logs
  std::string feedback;  // what the model reads next round: compiler log, failed check, timings
  double score = 0;      // higher is better; 0 unless passed: geometric mean of speedups
                         // (or of 1/median_ms when the harness gives no speedup)
  std::vector<TimingRow> rows;
  nlohmann::json bench;  // the harness's own JSON document, kept verbatim in the run folder
  bool flagged = false;  // passed but flagged for review (e.g. > 10x over the reference)
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Judges the kernel source in `file`. A non-OK Result means the harness itself cannot run
  // (no CUDA driver, no device, dsx binary missing): the search stops, since no candidate can
  // be judged. Everything wrong with the candidate is an Evaluation, not an error.
  virtual Result<Evaluation> Evaluate(const std::filesystem::path& file) = 0;
};

// Geometric mean of the rows' speedups (all > 0), else of 1/median_ms; 0 when no rows.
double ScoreRows(const std::vector<TimingRow>& rows);

}  // namespace dsx::kernel::gen
