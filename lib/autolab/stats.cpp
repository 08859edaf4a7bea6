// Summaries, ranking, promotion and median stopping (see stats.hpp for the rules).
#include "autolab/stats.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <limits>

namespace dsx::autolab {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Continued fraction for the incomplete beta function, modified Lentz (Numerical Recipes 6.4).
// Converges fast for x < (a + 1) / (a + b + 2); the caller uses the symmetry otherwise.
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-15;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  // Iterations grow like sqrt(max(a, b)); 100000 covers df up to the 1e7 cut-off with room.
  for (int m = 1; m <= 100000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) break;
  }
  return h;
}

// Regularized incomplete beta I_x(a, b).
double RegularizedBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1) / (a + b + 2)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1 - front * BetaContinuedFraction(b, a, 1 - x) / b;
}

bool Better(double a, double b, bool maximize) { return maximize ? a > b : a < b; }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// %g with enough digits to tell close metrics apart in a reason line.
std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Describe(const Summary& s) {
  std::string out = "mean " + Num(s.mean);
  if (s.n >= 2) out += " [" + Num(s.ci_low) + ", " + Num(s.ci_high) + "]";
  return out + " (n=" + std::to_string(s.n) + ")";
}

}  // namespace

double NormalQuantile(double p) {
  assert(p > 0 && p < 1);
  // Phi(x) = 0.5 * erfc(-x / sqrt(2)) is increasing; |x| < 40 covers every p a double can hold.
  double lo = -40, hi = 40;
  for (int i = 0; i < 200 && hi - lo > 1e-15; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double StudentTQuantile(double p, double df) {
  assert(p > 0 && p < 1 && df > 0);
  if (df > 1e7) return NormalQuantile(p);
  if (p == 0.5) return 0;
  // For t > 0: P(T > t) = 0.5 * I_x(df/2, 1/2) with x = df / (df + t^2). Solve for x in (0, 1),
  // where I_x is increasing, by bisection (bounded, no starting guess to get wrong), then map back.
  const double tail = p > 0.5 ? 1 - p : p;  // one-sided tail probability, < 0.5
  const double target = 2 * tail;
  double lo = 0, hi = 1;
  for (int i = 0; i < 400; ++i) {
    const double mid = (lo + hi) / 2;
    if (mid == lo || mid == hi) break;
    (RegularizedBeta(df / 2, 0.5, mid) < target ? lo : hi) = mid;
  }
  const double x = (lo + hi) / 2;
  const double t = std::sqrt(df * (1 - x) / x);
  return p > 0.5 ? t : -t;
}

Summary Summarize(const std::vector<double>& values, double confidence) {
  assert(confidence > 0 && confidence < 1);
  Summary s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) {
    s.mean = kNaN;
    s.ci_low = -kInf;
    s.ci_high = kInf;
    return s;
  }
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / s.n;
  if (s.n < 2) {
    s.ci_low = -kInf;
    s.ci_high = kInf;
    return s;
  }
  double ss = 0;  // two-pass: no cancellation for values far from zero with a small spread
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.stddev = std::sqrt(ss / (s.n - 1));
  const double half = StudentTQuantile((1 + confidence) / 2, s.n - 1) * s.stddev / std::sqrt(double(s.n));
  s.ci_low = s.mean - half;
  s.ci_high = s.mean + half;
  return s;
}

std::vector<Ranked> Rank(const std::vector<ConfigValues>& configs, bool maximize, double confidence) {
  std::vector<Ranked> out;
  out.reserve(configs.size());
  for (const auto& c : configs) out.push_back({c.key, Summarize(c.values, confidence)});
  std::sort(out.begin(), out.end(), [maximize](const Ranked& a, const Ranked& b) {
    if ((a.summary.n == 0) != (b.summary.n == 0)) return b.summary.n == 0;
    if (a.summary.n > 0 && a.summary.mean != b.summary.mean) return Better(a.summary.mean, b.summary.mean, maximize);
    const double wa = a.summary.ci_high - a.summary.ci_low, wb = b.summary.ci_high - b.summary.ci_low;
    if (wa != wb) return wa < wb;  // inf == inf for two single seeds: falls through to the key
    return a.key < b.key;
  });
  return out;
}

PromotionDecision DecidePromotion(const Summary& challenger, const std::optional<Summary>& best, bool maximize,
                                  double margin) {
  const std::string chal = Describe(challenger);
  if (challenger.n == 0) return {false, "challenger has no results"};
  if (!best || best->n == 0) return {true, "no current best: " + chal + " becomes the baseline"};
  const std::string best_desc = Describe(*best);
  // The line the challenger must cross, in the better direction.
  const double line = maximize ? best->mean + margin : best->mean - margin;
  const std::string line_desc =
      Num(line) + " (best " + Num(best->mean) + (maximize ? " + " : " - ") + "margin " + Num(margin) + ")";
  if (!Better(challenger.mean, line, maximize)) {
    return {false, chal + " does not beat " + line_desc + "; best " + best_desc};
  }
  if (challenger.n < 2) {
    return {true, "single seed: " + chal + " beats " + line_desc + "; no confidence interval with one repeat"};
  }
  const double bound = maximize ? challenger.ci_low : challenger.ci_high;  // the pessimistic end
  if (!Better(bound, line, maximize)) {
    return {false, chal + ": mean beats " + line_desc + " but the interval's " + (maximize ? "low" : "high") + " end " +
                       Num(bound) + " does not; not enough evidence"};
  }
  return {true, chal + " beats " + line_desc + " with its whole interval"};
}

bool ShouldStop(std::int64_t step, double value_at_step, const std::vector<Curve>& finished_curves, bool maximize,
                int min_steps, int min_finished) {
  if (step < min_steps) return false;
  if (static_cast<int>(finished_curves.size()) < std::max(min_finished, 1)) return false;
  if (!std::isfinite(value_at_step)) return true;
  std::vector<double> bests;
  for (const Curve& curve : finished_curves) {
    std::optional<double> best;
    for (const auto& [s, v] : curve) {
      if (s > step || !std::isfinite(v)) continue;
      if (!best || Better(v, *best, maximize)) best = v;
    }
    if (best) bests.push_back(*best);
  }
  if (static_cast<int>(bests.size()) < std::max(min_finished, 1)) return false;
  return Better(Median(std::move(bests)), value_at_step, maximize);
}

bool ShouldStop(const Curve& running, const std::vector<Curve>& finished_curves, bool maximize, int min_steps,
                int min_finished) {
  if (running.empty()) return false;
  double best = running.front().second;
  for (const auto& [s, v] : running) {
    if (!std::isfinite(v)) {
      best = v;  // a diverged point decides, whatever came before
      break;
    }
    if (Better(v, best, maximize)) best = v;
  }
  return ShouldStop(running.back().first, best, finished_curves, maximize, min_steps, min_finished);
}

}  // namespace dsx::autolab
