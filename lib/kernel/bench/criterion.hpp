// When to stop sampling (nvbench's stopping_criterion, non-virtual interface): the measurer calls
// Initialize, then AddMeasurement per kept sample, and asks IsFinished. StdRelCriterion stops when
// the relative standard deviation is under max_noise once min_samples and min_time are reached,
// or when the noise has settled above the target (the last four checks, one per 16 samples, agree
// within 5%). The measurer adds the wall-clock timeout on top and records which rule ended it.
#pragma once

#include <string>
#include <vector>

namespace dsx::kernel::bench {

struct CriterionParams {
  double max_noise_pct = 0.5;  // relative stdev target [%]
  int min_samples = 10;
  double min_time_s = 0.05;  // GPU time summed over samples [s]
  int max_samples = 5000;    // hard cap
};

class StoppingCriterion {
 public:
  virtual ~StoppingCriterion() = default;
  void Initialize(const CriterionParams& p) { DoInitialize(p); }
  void AddMeasurement(double seconds) { DoAdd(seconds); }
  bool IsFinished() { return DoIsFinished(); }
  // Why IsFinished became true ("noise 0.31% < 0.50%", "noise settled at 1.2%").
  const std::string& reason() const { return reason_; }

 protected:
  virtual void DoInitialize(const CriterionParams& p) = 0;
  virtual void DoAdd(double seconds) = 0;
  virtual bool DoIsFinished() = 0;
  std::string reason_;
};

class StdRelCriterion : public StoppingCriterion {
 protected:
  void DoInitialize(const CriterionParams& p) override;
  void DoAdd(double seconds) override;
  bool DoIsFinished() override;

 private:
  CriterionParams p_;
  std::vector<double> samples_;
  double total_ = 0;
  std::vector<double> noise_history_;
};

// Relative standard deviation [%] of `v` (0 for fewer than 2 samples).
double RelativeNoisePct(const std::vector<double>& v);

}  // namespace dsx::kernel::bench
