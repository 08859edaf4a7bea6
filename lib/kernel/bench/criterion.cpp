#include "kernel/bench/criterion.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dsx::kernel::bench {

double RelativeNoisePct(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  if (mean <= 0) return 0;
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  var /= static_cast<double>(v.size() - 1);
  return 100.0 * std::sqrt(var) / mean;
}

void StdRelCriterion::DoInitialize(const CriterionParams& p) {
  p_ = p;
  samples_.clear();
  noise_history_.clear();
  total_ = 0;
  reason_.clear();
}

void StdRelCriterion::DoAdd(double seconds) {
  samples_.push_back(seconds);
  total_ += seconds;
  if (samples_.size() >= 64 && samples_.size() % 16 == 0) {
    std::vector<double> window(samples_.end() - 64, samples_.end());
    noise_history_.push_back(RelativeNoisePct(window));
  }
}

bool StdRelCriterion::DoIsFinished() {
  char buf[160];
  const int n = static_cast<int>(samples_.size());
  if (n >= p_.max_samples) {
    std::snprintf(buf, sizeof buf, "sample cap (%d) reached", p_.max_samples);
    reason_ = buf;
    return true;
  }
  if (n < p_.min_samples) return false;
  const double noise = RelativeNoisePct(samples_);
  if (total_ >= p_.min_time_s || n >= 200) {
    if (noise < p_.max_noise_pct) {
      std::snprintf(buf, sizeof buf, "noise %.2f%% < %.2f%%", noise, p_.max_noise_pct);
      reason_ = buf;
      return true;
    }
  }
  if (noise_history_.size() >= 4) {
    auto last = noise_history_.end() - 4;
    auto [lo, hi] = std::minmax_element(last, noise_history_.end());
    if (*hi > 0 && (*hi - *lo) / *hi < 0.05) {
      std::snprintf(buf, sizeof buf, "noise settled at %.2f%% (> %.2f%%)", noise, p_.max_noise_pct);
      reason_ = buf;
      return true;
    }
  }
  return false;
}

}  // namespace dsx::kernel::bench
