// CPU references for the row-wise tasks (softmax, rmsnorm, layernorm) on hand-computed cases.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "cpu_ref_case.hpp"
#include "kernel/cpu_ref/cpu_reference.hpp"

using cpu_ref_test::Case;
using dsx::kernel::HostTensor;

TEST_CASE("softmax of [0, ln 2] is [1/3, 2/3]") {
  Case c;
  c.inputs["x"] = HostTensor{{0.0, std::log(2.0)}, {1, 2}};
  auto y = c.Run("softmax", "y", {0, 1});
  CHECK(y[0] == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
  CHECK(y[1] == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
}

TEST_CASE("softmax works per row, is shift-invariant and survives large inputs") {
  Case c;
  // row 0: equal values -> 1/3 each; row 1: [1000, 1000 + ln 3, 1000] -> [1/5, 3/5, 1/5] (no overflow)
  c.inputs["x"] = HostTensor{{5.0, 5.0, 5.0, 1000.0, 1000.0 + std::log(3.0), 1000.0}, {2, 3}};
  auto y = c.Run("softmax", "y", {4, 0, 3, 2, 5});
  CHECK(y[0] == doctest::Approx(0.6).epsilon(1e-14));
  CHECK(y[1] == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
  CHECK(y[2] == doctest::Approx(0.2).epsilon(1e-14));
  CHECK(y[3] == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
  CHECK(y[4] == doctest::Approx(0.2).epsilon(1e-14));
}

TEST_CASE("rmsnorm of [3, 4] with w = [1, 2] and eps = 0") {
  Case c;
  c.inputs["x"] = HostTensor{{3.0, 4.0}, {1, 2}};
  c.inputs["w"] = HostTensor{{1.0, 2.0}, {2}};
  c.scalars["eps"] = 0.0;
  // mean(x^2) = 12.5, rms = sqrt(12.5)
  auto y = c.Run("rmsnorm", "y", {0, 1});
  CHECK(y[0] == doctest::Approx(3.0 / std::sqrt(12.5)).epsilon(1e-15));
  CHECK(y[1] == doctest::Approx(8.0 / std::sqrt(12.5)).epsilon(1e-15));
}

TEST_CASE("rmsnorm applies eps inside the square root, per row") {
  Case c;
  c.inputs["x"] = HostTensor{{1.0, 1.0, 0.0, 0.0}, {2, 2}};
  c.inputs["w"] = HostTensor{{1.0, 1.0}, {2}};
  c.scalars["eps"] = 3.0;
  auto y = c.Run("rmsnorm", "y", {0, 2});
  CHECK(y[0] == doctest::Approx(0.5).epsilon(1e-15));  // 1 / sqrt(1 + 3)
  CHECK(y[1] == 0.0);                                  // a zero row stays zero
}

TEST_CASE("layernorm of [1, 2, 3, 4] with w = 2, b = 1, eps = 0") {
  Case c;
  c.inputs["x"] = HostTensor{{1.0, 2.0, 3.0, 4.0}, {1, 4}};
  c.inputs["w"] = HostTensor{{2.0, 2.0, 2.0, 2.0}, {4}};
  c.inputs["b"] = HostTensor{{1.0, 1.0, 1.0, 1.0}, {4}};
  c.scalars["eps"] = 0.0;
  // mean 2.5, biased variance 1.25
  const double s = std::sqrt(1.25);
  auto y = c.Run("layernorm", "y", {0, 1, 2, 3});
  CHECK(y[0] == doctest::Approx(-1.5 / s * 2 + 1).epsilon(1e-15));
  CHECK(y[1] == doctest::Approx(-0.5 / s * 2 + 1).epsilon(1e-15));
  CHECK(y[2] == doctest::Approx(0.5 / s * 2 + 1).epsilon(1e-15));
  CHECK(y[3] == doctest::Approx(1.5 / s * 2 + 1).epsilon(1e-15));
}

TEST_CASE("layernorm uses the two-pass variance: no cancellation at a large offset") {
  Case c;
  const double off = 1e9;  // E[x^2] - mean^2 would lose every digit here
  c.inputs["x"] = HostTensor{{off - 1.0, off + 1.0}, {1, 2}};
  c.inputs["w"] = HostTensor{{1.0, 1.0}, {2}};
  c.inputs["b"] = HostTensor{{0.0, 0.0}, {2}};
  c.scalars["eps"] = 0.0;
  auto y = c.Run("layernorm", "y", {0, 1});
  CHECK(y[0] == doctest::Approx(-1.0).epsilon(1e-12));
  CHECK(y[1] == doctest::Approx(1.0).epsilon(1e-12));
}
