#include "kernel/bench/summary.hpp"

#include <algorithm>
#include <cmath>

#include "kernel/bench/criterion.hpp"

namespace dsx::kernel::bench {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double idx = p / 100.0 * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(idx)), hi = static_cast<size_t>(std::ceil(idx));
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

std::vector<Summary> Summarize(const Measurement& m, double bytes, double flops, double peak_gbps) {
  std::vector<Summary> s;
  const double median = Percentile(m.samples_ms, 50);
  double mean = 0;
  for (double x : m.samples_ms) mean += x;
  if (!m.samples_ms.empty()) mean /= static_cast<double>(m.samples_ms.size());
  s.push_back({"samples", "samples", "count", static_cast<double>(m.samples_ms.size()), ""});
  s.push_back({"median_ms", "median", "duration_ms", median, ""});
  s.push_back({"mean_ms", "mean", "duration_ms", mean, ""});
  s.push_back({"p10_ms", "p10", "duration_ms", Percentile(m.samples_ms, 10), ""});
  s.push_back({"p90_ms", "p90", "duration_ms", Percentile(m.samples_ms, 90), ""});
  s.push_back({"min_ms", "min", "duration_ms",
               m.samples_ms.empty() ? 0 : *std::min_element(m.samples_ms.begin(), m.samples_ms.end()), ""});
  s.push_back({"max_ms", "max", "duration_ms",
               m.samples_ms.empty() ? 0 : *std::max_element(m.samples_ms.begin(), m.samples_ms.end()), ""});
  s.push_back({"noise_pct", "noise", "percent", RelativeNoisePct(m.samples_ms), ""});
  const double gbps = median > 0 ? bytes / (median * 1e-3) / 1e9 : 0;
  s.push_back({"gbps", "GB/s", "byte_rate_gbps", gbps, ""});
  s.push_back({"pct_peak_bw", "%peak", "percent", peak_gbps > 0 ? 100.0 * gbps / peak_gbps : 0, ""});
  s.push_back({"tflops", "TFLOP/s", "flops_tflops", median > 0 ? flops / (median * 1e-3) / 1e12 : 0, ""});
  s.push_back({"sm_clock_mhz", "SM MHz", "clock_mhz", m.sm_clock_mhz_mean, ""});
  s.push_back({"sm_clock_ref_mhz", "ref MHz", "clock_mhz", m.sm_clock_ref_mhz, ""});
  s.push_back({"discarded_throttled", "throttled", "count", static_cast<double>(m.discarded_throttled), ""});
  s.push_back({"verified_timed_calls", "checked", "count", static_cast<double>(m.verified_timed_calls), ""});
  s.push_back({"timed_out", "timed out", "flag", m.timed_out ? 1.0 : 0.0, ""});
  s.push_back({"stop_reason", "stop", "text", 0, m.stop_reason});
  s.push_back({"wall_s", "wall", "duration_s", m.wall_s, ""});
  return s;
}

nlohmann::json SummariesToJson(const std::vector<Summary>& s) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& x : s) {
    if (x.hint == "text") j[x.tag] = x.text;
    else if (x.hint == "flag") j[x.tag] = x.value != 0;
    else if (x.hint == "count") j[x.tag] = static_cast<int64_t>(x.value);
    else j[x.tag] = std::isfinite(x.value) ? x.value : 0.0;
  }
  return j;
}

}  // namespace dsx::kernel::bench
