// CPU references for vector_add, silu_mul, reduce_sum, transpose and matmul on hand-computed cases.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "cpu_ref_case.hpp"
#include "kernel/cpu_ref/cpu_reference.hpp"

using cpu_ref_test::Case;
using dsx::kernel::HostTensor;

TEST_CASE("vector_add adds elementwise at the sampled indices only") {
  Case c;
  c.inputs["a"] = HostTensor{{1.0, 2.0, 3.0}, {3}};
  c.inputs["b"] = HostTensor{{10.0, 20.0, 30.5}, {3}};
  auto v = c.Run("vector_add", "c", {2, 0});
  CHECK(v[0] == 33.5);
  CHECK(v[1] == 11.0);
}

TEST_CASE("silu_mul is x / (1 + e^-x) * g") {
  Case c;
  c.inputs["a"] = HostTensor{{0.0, 1.0, -1.0, 40.0}, {4}};
  c.inputs["b"] = HostTensor{{5.0, 2.0, 3.0, 0.5}, {4}};
  auto v = c.Run("silu_mul", "out", {0, 1, 2, 3});
  CHECK(v[0] == 0.0);
  CHECK(v[1] == doctest::Approx(2.0 / (1.0 + std::exp(-1.0))).epsilon(1e-15));  // 1.4621171572600098
  CHECK(v[1] == doctest::Approx(1.4621171572600098).epsilon(1e-14));
  CHECK(v[2] == doctest::Approx(-3.0 / (1.0 + std::exp(1.0))).epsilon(1e-15));
  CHECK(v[3] == doctest::Approx(20.0).epsilon(1e-15));  // silu(40) = 40 to double precision
}

TEST_CASE("reduce_sum is compensated: [1e16, 1, -1e16, 2.5] sums to 3.5") {
  Case c;
  c.inputs["x"] = HostTensor{{1e16, 1.0, -1e16, 2.5}, {4}};
  auto v = c.Run("reduce_sum", "out", {0});
  CHECK(v[0] == 3.5);  // naive left-to-right double summation gives 2.5
}

TEST_CASE("reduce_sum of 1..1000 is 500500") {
  Case c;
  HostTensor x{{}, {1000}};
  for (int i = 1; i <= 1000; ++i) x.data.push_back(i);
  c.inputs["x"] = x;
  CHECK(c.Run("reduce_sum", "out", {0})[0] == 500500.0);
}

TEST_CASE("transpose maps out[c, r] to in[r, c]") {
  Case c;
  // in = [[1, 2, 3], [4, 5, 6]] (2 x 3) -> out = [[1, 4], [2, 5], [3, 6]] (3 x 2)
  c.inputs["in"] = HostTensor{{1, 2, 3, 4, 5, 6}, {2, 3}};
  auto v = c.Run("transpose", "out", {0, 1, 2, 3, 4, 5});
  CHECK(v == std::vector<double>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("matmul of 2 x 2 matrices and of a non-square pair") {
  Case c;
  c.inputs["A"] = HostTensor{{1, 2, 3, 4}, {2, 2}};
  c.inputs["B"] = HostTensor{{5, 6, 7, 8}, {2, 2}};
  CHECK(c.Run("matmul", "C", {0, 1, 2, 3}) == std::vector<double>{19, 22, 43, 50});

  Case d;  // (1 x 3) * (3 x 2)
  d.inputs["A"] = HostTensor{{1, 2, 3}, {1, 3}};
  d.inputs["B"] = HostTensor{{1, 0, 0, 1, 1, 1}, {3, 2}};
  CHECK(d.Run("matmul", "C", {1, 0}) == std::vector<double>{5, 4});
}
