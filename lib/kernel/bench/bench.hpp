// The parent side of `dsx kernel bench`: static scan, device probe, one child process per
// (dtype, preset) configuration (runner.hpp), then the judgements that need the whole picture:
// speed of light (faster than the device can move the bytes or do the flops: invalid), speedup
// over 10x vs the reference kernel (flagged for review), % of the measured copy bandwidth.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::kernel::bench {

struct BenchOptions {
  std::string task;                 // name or folder
  std::string impl;                 // candidate .cu ("" = the task's optimized kernel)
  std::vector<std::string> sizes;   // presets ("" = all)
  std::vector<std::string> dtypes;  // ("" = all of the task's)
  bool measure_peaks = false;
  double max_noise_pct = 0.5;
  double timeout_s = 3.0;  // per measurement (cold, hot; candidate, reference)
  int min_samples = 10;
  int trials = 5;
  int device = 0;
  std::string arch;          // "" = the device's
  bool scan_rejects = true;  // false: static findings are warnings (tests of dynamic guards)
  bool time_reference = true;
  std::vector<std::string> modes = {"cold", "hot"};
  double child_timeout_s = 0;  // 0 = 60 + 8 * timeout_s
  std::string cache_dir;       // "" = DefaultCacheDir()
};

// Progress lines for a terminal ("[2/6] bf16 large: running").
using ProgressFn = std::function<void(const std::string&)>;

struct BenchReport {
  nlohmann::json doc;  // the --json document (schema: man dsx-kernel, JSON OUTPUT)
  int exit_code = 0;   // 0 all verified and valid, 1 otherwise, 5 no driver/device
};

// Usage/NotFound for bad options or tasks; Unavailable (exit 5) when there is no driver or device
// (after the static scan, so a rejected source is reported even on a machine without a GPU).
Result<BenchReport> RunBench(const BenchOptions& opts, const ProgressFn& progress);

// Measures and caches device peaks (a child process). Unavailable without a GPU.
Result<nlohmann::json> MeasurePeaks(int device, const std::string& arch, const std::string& cache_dir,
                                    double timeout_s);

// Human table of a report (stdout).
std::string FormatReport(const nlohmann::json& doc);

}  // namespace dsx::kernel::bench
