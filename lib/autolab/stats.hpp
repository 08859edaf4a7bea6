// AutoLab's statistics: what the reporter and the workers decide with.
//
//   Summarize        mean, sample standard deviation and a Student-t confidence interval over repeats
//   Rank             configurations best first by mean (ties: narrower interval, then key)
//   DecidePromotion  the keep-or-revert rule: a challenger replaces the current best only when its
//                    confidence interval, not one lucky seed, says it is better by the plan's margin
//   ShouldStop       median stopping (Google Vizier's automated stopping rule, Optuna's MedianPruner)
//
// Pure functions over plain values: no I/O, no clock, no knowledge of plans or the ledger.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dsx::autolab {

// One intermediate point of an experiment: (step, metric value at that step).
using CurvePoint = std::pair<std::int64_t, double>;
using Curve = std::vector<CurvePoint>;

// Quantile of Student's t distribution with `df` degrees of freedom: the t with P(T <= t) = p.
// Exact to ~1e-10: the regularized incomplete beta function (continued fraction, Numerical Recipes
// 6.4) inverted by bisection. df above 1e7 uses the normal quantile (they agree to ~1e-7 there).
// Preconditions: 0 < p < 1, df > 0.
double StudentTQuantile(double p, double df);

// Quantile of the standard normal distribution (inverse of 0.5 * erfc(-x / sqrt 2), by bisection).
double NormalQuantile(double p);

struct Summary {
  int n = 0;
  double mean = 0;    // NaN when n == 0
  double stddev = 0;  // sample standard deviation (n - 1 in the denominator); 0 when n < 2
  // Two-sided interval for the mean: mean -+ t((1 + confidence) / 2, n - 1) * stddev / sqrt(n).
  // With n < 2 there is no estimate of the spread, so the interval is (-inf, +inf), never a fake
  // zero-width one.
  double ci_low = 0, ci_high = 0;
};

// `values` are the metric of each finished repeat (finite numbers: garbage runs are failures and
// never reach here). `confidence` is in (0, 1), e.g. 0.95.
Summary Summarize(const std::vector<double>& values, double confidence);

struct ConfigValues {
  std::string key;  // the configuration's identity (e.g. its parameter hash)
  std::vector<double> values;
};

struct Ranked {
  std::string key;
  Summary summary;
};

// Best first: by mean (lowest first when minimizing), equal means by narrower interval (more
// repeats or less spread wins), then by key so the order is stable. Configurations with no values
// sort last.
std::vector<Ranked> Rank(const std::vector<ConfigValues>& configs, bool maximize, double confidence);

struct PromotionDecision {
  bool promote = false;
  std::string reason;  // one line with the numbers, for report.md and the ledger
};

// The promotion rule, written for minimize (maximize mirrors every comparison):
//   - no current best (or one with no values): promote; the first result becomes the baseline.
//   - the challenger's mean must beat the best's by more than the margin:
//         challenger.mean < best.mean - margin
//   - with two or more repeats its whole confidence interval must be past that line too, so a lucky
//     draw cannot win:
//         challenger.ci_high < best.mean - margin
//   - with one repeat there is no interval (it is infinite), so the mean rule alone decides and
//     the reason says "single seed" so the report shows how weak the evidence is.
// `margin` >= 0 is in the metric's units. Comparisons are strict: equal is not better.
PromotionDecision DecidePromotion(const Summary& challenger, const std::optional<Summary>& best, bool maximize,
                                  double margin);

// Median stopping. A running experiment reports `value_at_step` at `step`; pass its best value so
// far (Vizier's rule) or its latest value (Optuna's MedianPruner): the function compares what it is
// given. The overload below takes the running curve and uses its best so far.
//
// It says stop when all of these hold:
//   - step >= min_steps (warm-up: early values are noise);
//   - at least max(min_finished, 1) finished experiments have a point at or before `step`; each
//     contributes its best-so-far value over its points with step' <= step (the last point at or
//     before `step` carries forward: no interpolation, so a finished curve is only ever judged on
//     values it really reached by that step);
//   - value_at_step is strictly worse than the median of those values (mean of the two middle
//     values for an even count).
// A NaN or infinite value_at_step stops at once (after warm-up): the run has diverged.
bool ShouldStop(std::int64_t step, double value_at_step, const std::vector<Curve>& finished_curves, bool maximize,
                int min_steps, int min_finished);

// The same over the running experiment's curve so far: judged at its last step with its best value
// up to then. An empty curve never stops.
bool ShouldStop(const Curve& running, const std::vector<Curve>& finished_curves, bool maximize, int min_steps,
                int min_finished);

}  // namespace dsx::autolab
