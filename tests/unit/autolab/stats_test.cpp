// stats.hpp: t quantiles against table values, summaries on hand-computed data, ranking order,
// every branch of the promotion rule, and median stopping.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autolab/stats.hpp"

using namespace dsx::autolab;

TEST_CASE("t quantile matches the printed table to 1e-3 and is symmetric") {
  // Two-sided 95% critical values (any statistics textbook's t table).
  CHECK(StudentTQuantile(0.975, 1) == doctest::Approx(12.7062).epsilon(1e-5));
  CHECK(StudentTQuantile(0.975, 2) == doctest::Approx(4.30265).epsilon(1e-5));
  CHECK(StudentTQuantile(0.975, 5) == doctest::Approx(2.57058).epsilon(1e-5));
  CHECK(StudentTQuantile(0.975, 30) == doctest::Approx(2.04227).epsilon(1e-5));
  CHECK(StudentTQuantile(0.975, 1e6) == doctest::Approx(1.95996).epsilon(1e-5));
  CHECK(StudentTQuantile(0.975, 1e9) == doctest::Approx(1.95996).epsilon(1e-5));  // normal branch
  // Other levels: 99.5% with df 1 (63.657), 95% one-sided with df 10 (1.812), 99.95% df 3 (12.924).
  CHECK(StudentTQuantile(0.995, 1) == doctest::Approx(63.6567).epsilon(1e-5));
  CHECK(StudentTQuantile(0.95, 10) == doctest::Approx(1.81246).epsilon(1e-5));
  CHECK(StudentTQuantile(0.9995, 3) == doctest::Approx(12.9240).epsilon(1e-4));
  // df 1 is the Cauchy distribution: the quantile is tan(pi (p - 1/2)) exactly.
  CHECK(StudentTQuantile(0.9, 1) == doctest::Approx(std::tan(M_PI * 0.4)).epsilon(1e-9));
  CHECK(StudentTQuantile(0.025, 5) == doctest::Approx(-2.57058).epsilon(1e-5));
  CHECK(StudentTQuantile(0.5, 7) == 0);
  CHECK(NormalQuantile(0.975) == doctest::Approx(1.959964).epsilon(1e-6));
  CHECK(NormalQuantile(0.5) == doctest::Approx(0).epsilon(1e-12));
}

TEST_CASE("Summarize: mean, sample stddev and the t interval on hand-computed data") {
  // 1..5: mean 3, variance 10/4, t(0.975, 4) = 2.776445, half width 2.776445 * sqrt(2.5/5).
  Summary s = Summarize({1, 2, 3, 4, 5}, 0.95);
  CHECK(s.n == 5);
  CHECK(s.mean == doctest::Approx(3));
  CHECK(s.stddev == doctest::Approx(std::sqrt(2.5)));
  CHECK(s.ci_low == doctest::Approx(3 - 1.963243).epsilon(1e-6));
  CHECK(s.ci_high == doctest::Approx(3 + 1.963243).epsilon(1e-6));

  // Three seeds of a log-loss: mean 0.31, deviations -0.01, 0, 0.01 -> stddev 0.01;
  // t(0.975, 2) = 4.302653 -> half width 0.0248414.
  Summary l = Summarize({0.30, 0.31, 0.32}, 0.95);
  CHECK(l.mean == doctest::Approx(0.31));
  CHECK(l.stddev == doctest::Approx(0.01));
  CHECK(l.ci_high - l.mean == doctest::Approx(0.0248414).epsilon(1e-5));

  // A 90% interval is narrower than a 99% one on the same data.
  CHECK(Summarize({1, 2, 3}, 0.90).ci_high < Summarize({1, 2, 3}, 0.99).ci_high);

  // Large values with a small spread: no cancellation.
  Summary big = Summarize({1e9 + 1, 1e9 + 2, 1e9 + 3}, 0.95);
  CHECK(big.stddev == doctest::Approx(1.0));
}

TEST_CASE("Summarize: one value has an infinite interval, none has no mean") {
  Summary one = Summarize({0.42}, 0.95);
  CHECK(one.n == 1);
  CHECK(one.mean == doctest::Approx(0.42));
  CHECK(one.stddev == 0);
  CHECK(std::isinf(one.ci_low));
  CHECK(one.ci_low < 0);
  CHECK(std::isinf(one.ci_high));
  CHECK(one.ci_high > 0);

  Summary none = Summarize({}, 0.95);
  CHECK(none.n == 0);
  CHECK(std::isnan(none.mean));

  // Identical repeats really have a zero-width interval (a deterministic experiment).
  Summary same = Summarize({2, 2, 2}, 0.95);
  CHECK(same.ci_low == 2);
  CHECK(same.ci_high == 2);
}

TEST_CASE("Rank: best mean first, ties by narrower interval then key, empty last") {
  std::vector<ConfigValues> configs = {
      {"wide", {0.5, 1.5}},           // mean 1.0, wide (binary-exact values: equal means)
      {"narrow", {0.75, 1.0, 1.25}},  // mean 1.0, narrow
      {"best", {0.5, 0.6, 0.7}},      // mean 0.6
      {"worst", {2.0, 2.0}},          // mean 2.0
      {"empty", {}},                  // no results yet
      {"b-single", {1.0}},            // mean 1.0, infinite interval
      {"a-single", {1.0}},            // same: the key decides
  };
  auto min = Rank(configs, /*maximize=*/false, 0.95);
  std::vector<std::string> keys;
  for (const auto& r : min) keys.push_back(r.key);
  CHECK(keys == std::vector<std::string>{"best", "narrow", "wide", "a-single", "b-single", "worst", "empty"});
  CHECK(min[0].summary.mean == doctest::Approx(0.6));

  auto max = Rank(configs, /*maximize=*/true, 0.95);
  keys.clear();
  for (const auto& r : max) keys.push_back(r.key);
  CHECK(keys == std::vector<std::string>{"worst", "narrow", "wide", "a-single", "b-single", "best", "empty"});
  CHECK(Rank({}, false, 0.95).empty());
}

TEST_CASE("DecidePromotion: minimize") {
  const Summary best = Summarize({1.00, 1.01, 0.99}, 0.95);  // mean 1.0

  SUBCASE("no current best: the first result becomes the baseline") {
    auto d = DecidePromotion(Summarize({3.0}, 0.95), std::nullopt, false, 0.1);
    CHECK(d.promote);
    CHECK(d.reason.find("baseline") != std::string::npos);
    CHECK(DecidePromotion(Summarize({3.0}, 0.95), Summarize({}, 0.95), false, 0.1).promote);
  }
  SUBCASE("clear win: the whole interval is below best - margin") {
    auto d = DecidePromotion(Summarize({0.80, 0.81, 0.79}, 0.95), best, false, 0.05);
    CHECK(d.promote);
    CHECK(d.reason.find("0.8") != std::string::npos);
    CHECK(d.reason.find("0.95") != std::string::npos);  // the line it crossed: 1.0 - 0.05
  }
  SUBCASE("better but within the margin") {
    auto d = DecidePromotion(Summarize({0.97, 0.97, 0.97}, 0.95), best, false, 0.05);
    CHECK_FALSE(d.promote);
    CHECK(d.reason.find("does not beat 0.95") != std::string::npos);
  }
  SUBCASE("mean clears the margin but the interval overlaps it: not enough evidence") {
    auto d = DecidePromotion(Summarize({0.5, 1.2, 0.7}, 0.95), best, false, 0.05);  // mean 0.8, wide
    CHECK_FALSE(d.promote);
    CHECK(d.reason.find("not enough evidence") != std::string::npos);
  }
  SUBCASE("single seed: strict improvement beyond the margin, marked as such") {
    auto win = DecidePromotion(Summarize({0.9}, 0.95), best, false, 0.05);
    CHECK(win.promote);
    CHECK(win.reason.find("single seed") != std::string::npos);
    // Exactly on the line is not better.
    CHECK_FALSE(DecidePromotion(Summarize({0.75}, 0.95), Summarize({1.0, 1.0}, 0.95), false, 0.25).promote);
    CHECK(DecidePromotion(Summarize({0.625}, 0.95), Summarize({1.0, 1.0}, 0.95), false, 0.25).promote);
    CHECK_FALSE(DecidePromotion(Summarize({0.96}, 0.95), best, false, 0.05).promote);
  }
  SUBCASE("worse") { CHECK_FALSE(DecidePromotion(Summarize({1.5, 1.6}, 0.95), best, false, 0).promote); }
  SUBCASE("equal with zero margin is not a win") {
    CHECK_FALSE(DecidePromotion(Summarize({1.0, 1.0}, 0.95), Summarize({1.0, 1.0}, 0.95), false, 0).promote);
  }
  SUBCASE("a challenger with no results never wins") {
    CHECK_FALSE(DecidePromotion(Summarize({}, 0.95), std::nullopt, false, 0).promote);
  }
}

TEST_CASE("DecidePromotion: maximize mirrors every comparison") {
  const Summary best = Summarize({0.90, 0.91, 0.89}, 0.95);  // accuracy 0.90
  CHECK(DecidePromotion(Summarize({0.95, 0.951, 0.949}, 0.95), best, true, 0.01).promote);
  // Lower accuracy never wins, however tight.
  CHECK_FALSE(DecidePromotion(Summarize({0.80, 0.80, 0.80}, 0.95), best, true, 0).promote);
  // Higher mean, interval reaching below best + margin.
  auto d = DecidePromotion(Summarize({0.99, 0.85, 0.97}, 0.95), best, true, 0.01);
  CHECK_FALSE(d.promote);
  CHECK(d.reason.find("low end") != std::string::npos);
  // What wins when minimizing loses when maximizing.
  CHECK_FALSE(DecidePromotion(Summarize({0.5, 0.5, 0.5}, 0.95), best, true, 0).promote);
  CHECK(DecidePromotion(Summarize({0.5, 0.5, 0.5}, 0.95), best, false, 0).promote);
  auto single = DecidePromotion(Summarize({0.95}, 0.95), best, true, 0.01);
  CHECK(single.promote);
  CHECK(single.reason.find("single seed") != std::string::npos);
}

TEST_CASE("ShouldStop: median stopping") {
  // Three finished loss curves (minimize); best so far at step 20: 0.8, 0.6, 0.9 -> median 0.8.
  const std::vector<Curve> finished = {
      {{10, 1.0}, {20, 0.8}, {30, 0.7}},
      {{10, 0.9}, {20, 0.6}, {30, 0.5}},
      {{10, 1.2}, {20, 0.9}, {30, 0.85}},
  };
  SUBCASE("worse than the median after warm-up: stop") { CHECK(ShouldStop(20, 0.85, finished, false, 10, 3)); }
  SUBCASE("better than or equal to the median: continue") {
    CHECK_FALSE(ShouldStop(20, 0.75, finished, false, 10, 3));
    CHECK_FALSE(ShouldStop(20, 0.8, finished, false, 10, 3));
  }
  SUBCASE("before min_steps: never") { CHECK_FALSE(ShouldStop(20, 5.0, finished, false, 21, 3)); }
  SUBCASE("too few finished: never") {
    CHECK_FALSE(ShouldStop(20, 5.0, finished, false, 10, 4));
    CHECK_FALSE(ShouldStop(20, 5.0, {}, false, 0, 0));
  }
  SUBCASE("between reported steps the last point at or before the step counts") {
    // At step 25 the finished bests are still 0.8, 0.6, 0.9: median 0.8.
    CHECK(ShouldStop(25, 0.81, finished, false, 10, 3));
    CHECK_FALSE(ShouldStop(25, 0.79, finished, false, 10, 3));
  }
  SUBCASE("finished curves count their best so far, not their latest value") {
    const std::vector<Curve> bumpy = {{{10, 0.5}, {20, 2.0}}, {{10, 0.5}, {20, 2.0}}};
    CHECK(ShouldStop(20, 1.0, bumpy, false, 0, 2));
  }
  SUBCASE("a finished curve with nothing by this step does not count") {
    const std::vector<Curve> late = {{{100, 0.1}}, {{10, 0.9}}};
    CHECK_FALSE(ShouldStop(20, 5.0, late, false, 0, 2));  // only one has a point by step 20
    CHECK(ShouldStop(20, 5.0, late, false, 0, 1));
  }
  SUBCASE("even count takes the mean of the middle two") {
    const std::vector<Curve> four = {{{10, 1}}, {{10, 2}}, {{10, 3}}, {{10, 4}}};  // median 2.5
    CHECK(ShouldStop(10, 2.6, four, false, 0, 4));
    CHECK_FALSE(ShouldStop(10, 2.4, four, false, 0, 4));
  }
  SUBCASE("maximize") {
    const std::vector<Curve> acc = {{{10, 0.7}}, {{10, 0.8}}, {{10, 0.9}}};
    CHECK(ShouldStop(10, 0.75, acc, true, 0, 3));
    CHECK_FALSE(ShouldStop(10, 0.85, acc, true, 0, 3));
  }
  SUBCASE("a NaN after warm-up stops") {
    CHECK(ShouldStop(20, std::numeric_limits<double>::quiet_NaN(), finished, false, 10, 3));
  }
  SUBCASE("curve overload: judged at the last step with the running best") {
    // Best so far 0.75 at step 25 (the last value 0.95 is worse but the best counts): continue.
    CHECK_FALSE(ShouldStop(Curve{{10, 1.0}, {20, 0.75}, {25, 0.95}}, finished, false, 10, 3));
    CHECK(ShouldStop(Curve{{10, 1.0}, {20, 0.95}, {25, 0.9}}, finished, false, 10, 3));
    CHECK_FALSE(ShouldStop(Curve{}, finished, false, 0, 1));
    CHECK(ShouldStop(Curve{{10, 0.1}, {20, std::nan("")}}, finished, false, 10, 3));
  }
}
