#include <doctest/doctest.h>

#include "kernel/bench/criterion.hpp"
#include "kernel/bench/summary.hpp"

using namespace dsx::kernel::bench;

TEST_CASE("stdrel stops once quiet, after min samples and min time") {
  StdRelCriterion c;
  CriterionParams p;
  p.min_samples = 10;
  p.min_time_s = 0.01;
  c.Initialize(p);
  for (int i = 0; i < 9; ++i) {
    c.AddMeasurement(0.002);
    CHECK(!c.IsFinished());
  }
  c.AddMeasurement(0.002);
  CHECK(c.IsFinished());
  CHECK(c.reason().find("noise 0.00%") != std::string::npos);
}

TEST_CASE("stdrel keeps sampling while noisy, stops when the noise settles") {
  StdRelCriterion c;
  CriterionParams p;
  p.max_noise_pct = 0.5;
  c.Initialize(p);
  int n = 0;
  while (!c.IsFinished() && n < 5000) c.AddMeasurement((n++ % 2) ? 0.001 : 0.0012);  // ~9% noise, steady
  CHECK(n >= 64);
  CHECK(n < 5000);
  CHECK(c.reason().find("settled") != std::string::npos);
}

TEST_CASE("sample cap") {
  StdRelCriterion c;
  CriterionParams p;
  p.max_samples = 20;
  p.min_samples = 1000;
  c.Initialize(p);
  for (int i = 0; i < 20; ++i) c.AddMeasurement(i % 3 * 0.001 + 0.001);
  CHECK(c.IsFinished());
  CHECK(c.reason().find("cap") != std::string::npos);
}

TEST_CASE("summaries: percentiles, bandwidth, flops") {
  CHECK(Percentile({1, 2, 3, 4, 5}, 50) == doctest::Approx(3));
  CHECK(Percentile({1, 2, 3, 4}, 50) == doctest::Approx(2.5));
  CHECK(Percentile({5, 1, 3}, 0) == doctest::Approx(1));
  Measurement m;
  m.samples_ms = {1.0, 1.0, 1.0};
  auto j = SummariesToJson(Summarize(m, 3e9, 2e12, 3000));
  CHECK(j["median_ms"].get<double>() == doctest::Approx(1.0));
  CHECK(j["gbps"].get<double>() == doctest::Approx(3000));
  CHECK(j["pct_peak_bw"].get<double>() == doctest::Approx(100));
  CHECK(j["tflops"].get<double>() == doctest::Approx(2000));
  CHECK(j["samples"].get<int>() == 3);
  CHECK(j["timed_out"] == false);
}
