// Named, hinted results (nvbench's summaries): measurers produce them, printers read them and never
// see the measurer's internals. Tags are the JSON keys (documented in man dsx-kernel, JSON OUTPUT).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsx::kernel::bench {

struct Summary {
  std::string tag;   // "median_ms"
  std::string name;  // "median" (column header)
  std::string hint;  // duration_ms | byte_rate_gbps | percent | count | flops_tflops | clock_mhz | text | flag
  double value = 0;
  std::string text;  // for hint text
};

// One measurement (cold or hot) of one kernel.
struct Measurement {
  std::string mode;                // cold | hot
  std::vector<double> samples_ms;  // kept samples [ms]
  int discarded_throttled = 0;
  double sm_clock_mhz_mean = 0;  // over kept samples (0: unknown)
  double sm_clock_ref_mhz = 0;
  bool timed_out = false;
  std::string stop_reason;
  double wall_s = 0;
  int verified_timed_calls = 0;  // timed outputs checked against the reference
};

// Summaries of `m` for a kernel that moves `bytes` and does `flops` per call.
std::vector<Summary> Summarize(const Measurement& m, double bytes, double flops, double peak_gbps);
nlohmann::json SummariesToJson(const std::vector<Summary>& s);
double Percentile(std::vector<double> v, double p);  // p in [0,100], linear interpolation

}  // namespace dsx::kernel::bench
