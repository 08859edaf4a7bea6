// Reading an experiment's metric: from its stdout as it arrives (JSON lines or a regex), or from a
// results file it writes.
//
// Experiments print logs and metrics on the same stream, so anything that is not a metric line is
// ignored, and a line longer than the bound is skipped rather than buffered forever (a runaway
// progress bar without newlines must not eat the worker's memory). A metric that is NaN, infinite or
// not a number is "garbage": a distinct outcome that fails the experiment with a reason naming the
// metric and step, because a diverged run's later values mean nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace dsx::autolab {

enum class MetricKind {
  kOk,       // value holds the final metric
  kMissing,  // the experiment printed no metric
  kGarbage,  // a NaN, infinite or non-number metric was seen: the experiment fails
};

struct MetricOutcome {
  MetricKind kind = MetricKind::kMissing;
  std::optional<double> value;  // set only when kind == kOk
  // Why there is no value: "printed no metric 'val_loss'", "metric 'val_loss' was NaN at step 30".
  std::string reason;
  std::vector<std::pair<std::int64_t, double>> curve;  // intermediate (step, value) points, in order
};

// Lines longer than this are skipped in JSON mode (1 MiB).
inline constexpr std::size_t kMaxMetricLine = 1 << 20;
// Lines longer than this are skipped in regex mode: std::regex backtracks recursively, one stack
// frame per character for patterns like ".*", so long lines could overflow the stack.
inline constexpr std::size_t kMaxRegexLine = 8 << 10;

class MetricStream {
 public:
  // JSON lines: an object line holding `metric` gives a value; if it also holds an integer
  // `step_key` the (step, value) pair is an intermediate point. The last value is the final one.
  // An empty `step_key` (the plan's intermediate_key left out) reads final values only, no curve.
  // Python's json.dumps writes NaN, Infinity and -Infinity bare; those are read (as garbage).
  static MetricStream Json(std::string metric, std::string step_key = "step");
  // Regex: `pattern` must have exactly one capture group holding the number; the last match in the
  // output wins (within a line and across lines). No intermediate curve in this mode.
  // Usage error for an invalid pattern or a wrong number of groups.
  static Result<MetricStream> Regex(std::string metric, const std::string& pattern);

  // Bytes of stdout as they arrive, split anywhere (even inside a line or a UTF-8 sequence).
  void Feed(std::string_view bytes);
  // End of output: the last line without a newline still counts. Feed after Finish is ignored.
  void Finish();

  // Where things stand now (callable before Finish, e.g. for status).
  MetricOutcome Outcome() const;
  // The intermediate points seen so far, in order; a worker tracks how many it has forwarded.
  const std::vector<std::pair<std::int64_t, double>>& curve() const { return curve_; }
  bool garbage() const { return !garbage_reason_.empty(); }
  std::size_t skipped_long_lines() const { return skipped_long_lines_; }

 private:
  MetricStream() = default;
  void Line(std::string_view line);
  void JsonLine(std::string_view line);
  void RegexLine(std::string_view line);
  void Garbage(const std::string& what, std::optional<std::int64_t> step);

  std::string metric_;
  std::string step_key_;
  std::optional<std::regex> regex_;
  std::size_t max_line_ = kMaxMetricLine;

  std::string partial_;      // bytes of the current line so far
  bool skipping_ = false;    // the current line went past the bound: drop until its newline
  std::size_t line_no_ = 0;  // 1-based number of the line being parsed, for reasons
  bool finished_ = false;

  std::optional<double> last_;
  std::vector<std::pair<std::int64_t, double>> curve_;
  std::string garbage_reason_;  // first garbage seen wins
  std::size_t skipped_long_lines_ = 0;
  std::string near_miss_;  // the first '{' line naming the metric that did not parse, for the reason
};

// The most ReadMetricFile reads: the experiment writes the file (or a link to /dev/zero).
inline constexpr std::size_t kMaxMetricFileBytes = 1 << 20;

// A results file holding one JSON object; `metric` names a top-level key whose value is a finite
// number. Errors name the file and the key: NotFound for a missing file, Failed otherwise.
Result<double> ReadMetricFile(const std::filesystem::path& path, const std::string& metric);

}  // namespace dsx::autolab
