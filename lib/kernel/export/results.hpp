// What `dsx kernel bench --json` measured, read back for an export's README: the verification
// and timing of each (dtype, preset) row, the device, the NVRTC version. The file is outside
// input: every field used is type-checked and an error names it ("results[2].median_ms").
// Schema: man dsx-kernel, JSON OUTPUT (bench).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::kernel::exp {

struct BenchRow {
  std::string dtype, preset, status;
  std::map<std::string, long long> sizes;  // preset variables as measured
  int trials = 0, passed = 0;              // verification trials run / passed
  double max_rel_err = 0, tolerance = 0;   // relative L2 error (float64) and the task's bound
  std::string cpu_check;                   // "ok" | "skipped" | "failed" | "error" | "" (absent)
  double median_ms = 0;                    // candidate, the row's headline mode [ms]
  std::optional<double> p10_ms, p90_ms, noise_pct, gbps, pct_peak_bw, tflops, speedup;
  std::vector<std::string> flags;  // review flags (e.g. speedup > 10x over the reference)
};

struct BenchResults {
  std::string task, impl_sha256, status, nvrtc_version;
  std::string device_name, device_arch, device_cc, driver_version;
  std::vector<BenchRow> rows;
};

// Parses and checks the document. `origin` names the file in messages. Usage errors name the
// field; a document that is well-formed but says the kernel did not verify is returned as is
// (the caller decides: export refuses it).
Result<BenchResults> ParseBenchResults(std::string_view text, const std::string& origin);

}  // namespace dsx::kernel::exp
