// The attention task: its float64 CPU reference against a naive computation (every element, causal
// and not, hand-checked rows where the causal mask matters, logits that overflow a naive exp()),
// its error paths, and the task file's format features it relies on ([allowed], sizes of 0, sqrt()).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cpu_ref_case.hpp"
#include "kernel/cpu_ref/cpu_reference.hpp"
#include "kernel/expr.hpp"
#include "kernel/task.hpp"
#include "test_paths.hpp"

using cpu_ref_test::Case;
using dsx::kernel::HostTensor;

namespace {

// Naive attention, written differently from the reference: the full score matrix, masked entries
// set to -inf, softmax as exp(x - max) / sum with plain double sums. Returns O flattened.
std::vector<double> NaiveAttention(const HostTensor& q, const HostTensor& k, const HostTensor& v, bool causal,
                                   double scale) {
  const int64_t bh = q.shape[0] * q.shape[1], s = q.shape[2], d = q.shape[3];
  std::vector<double> o(q.data.size());
  for (int64_t g = 0; g < bh; ++g) {
    const int64_t base = g * s * d;
    for (int64_t i = 0; i < s; ++i) {
      std::vector<double> sc(static_cast<size_t>(s));
      double mx = -INFINITY;
      for (int64_t j = 0; j < s; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < d; ++e) dot += q.data[base + i * d + e] * k.data[base + j * d + e];
        sc[j] = (causal && j > i) ? -INFINITY : scale * dot;
        mx = std::max(mx, sc[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < s; ++j) sum += std::exp(sc[j] - mx);
      for (int64_t e = 0; e < d; ++e) {
        double acc = 0;
        for (int64_t j = 0; j < s; ++j) acc += std::exp(sc[j] - mx) / sum * v.data[base + j * d + e];
        o[base + i * d + e] = acc;
      }
    }
  }
  return o;
}

HostTensor Random(std::mt19937_64& rng, std::vector<int64_t> shape, double stddev) {
  std::normal_distribution<double> n(0.0, stddev);
  int64_t count = 1;
  for (int64_t x : shape) count *= x;
  HostTensor t{std::vector<double>(static_cast<size_t>(count)), std::move(shape)};
  for (auto& x : t.data) x = n(rng);
  return t;
}

Case AttentionCase(HostTensor q, HostTensor k, HostTensor v, double causal, double scale) {
  Case c;
  c.inputs["Q"] = std::move(q);
  c.inputs["K"] = std::move(k);
  c.inputs["V"] = std::move(v);
  c.scalars["causal"] = causal;
  c.scalars["scale"] = scale;
  return c;
}

std::vector<int64_t> AllIndices(int64_t n) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  return idx;
}

}  // namespace

TEST_CASE("attention matches a naive computation on every element, causal and not") {
  std::mt19937_64 rng(1234);
  const std::vector<int64_t> shape{2, 3, 7, 5};  // B, H, S, D: S and D odd
  HostTensor q = Random(rng, shape, 1.0), k = Random(rng, shape, 1.0), v = Random(rng, shape, 1.0);
  for (int causal = 0; causal <= 1; ++causal) {
    CAPTURE(causal);
    const double scale = 1.0 / std::sqrt(5.0);
    Case c = AttentionCase(q, k, v, causal, scale);
    const std::vector<double> want = NaiveAttention(q, k, v, causal == 1, scale);
    // Out of order and with repeats: each row is computed once and cached.
    std::vector<int64_t> idx = AllIndices(static_cast<int64_t>(want.size()));
    std::reverse(idx.begin(), idx.end());
    idx.push_back(0);
    idx.push_back(static_cast<int64_t>(want.size()) - 1);
    const std::vector<double> got = c.Run("attention", "O", idx);
    for (size_t n = 0; n < idx.size(); ++n) {
      CAPTURE(idx[n]);
      CHECK(got[n] == doctest::Approx(want[static_cast<size_t>(idx[n])]).epsilon(1e-12));
    }
  }
}

TEST_CASE("the causal mask: the first query sees only the first key, the last sees all") {
  // S = 3, D = 1, all logits equal (Q = K = 0): non-causal rows average all of V, causal row i
  // averages V[0..i].
  HostTensor zeros{{0, 0, 0}, {1, 1, 3, 1}};
  HostTensor v{{1, 2, 6}, {1, 1, 3, 1}};
  Case nc = AttentionCase(zeros, zeros, v, 0, 1.0);
  Case ca = AttentionCase(zeros, zeros, v, 1, 1.0);
  const auto o_nc = nc.Run("attention", "O", {0, 1, 2});
  const auto o_ca = ca.Run("attention", "O", {0, 1, 2});
  CHECK(o_nc[0] == doctest::Approx(3.0).epsilon(1e-15));
  CHECK(o_nc[1] == doctest::Approx(3.0).epsilon(1e-15));
  CHECK(o_nc[2] == doctest::Approx(3.0).epsilon(1e-15));
  CHECK(o_ca[0] == 1.0);  // exactly V[0]: the mask matters most here
  CHECK(o_ca[1] == doctest::Approx(1.5).epsilon(1e-15));
  CHECK(o_ca[2] == doctest::Approx(3.0).epsilon(1e-15));  // the last row is unmasked
}

TEST_CASE("large logits: the row maximum is subtracted, no overflow") {
  // Row 0 logits: 1000 and 1000 + ln 3 -> p = [1/4, 3/4]; exp(1000) overflows a double.
  HostTensor q{{1000.0, 1.0}, {1, 1, 2, 1}};
  HostTensor k{{1.0, 1.0 + std::log(3.0) / 1000.0}, {1, 1, 2, 1}};
  HostTensor v{{0.0, 4.0}, {1, 1, 2, 1}};
  Case c = AttentionCase(q, k, v, 0, 1.0);
  const auto o = c.Run("attention", "O", {0, 1});
  REQUIRE(std::isfinite(o[0]));
  CHECK(o[0] == doctest::Approx(3.0).epsilon(1e-9));
  // Row 1 logits: 1 and 1 + ln 3 / 1000: nearly equal, so nearly the mean of V.
  const double delta = std::log(3.0) / 1000.0;
  CHECK(o[1] == doctest::Approx(4.0 * std::exp(delta) / (1.0 + std::exp(delta))).epsilon(1e-12));

  // Random inputs with logits of std ~64 (the task's small_large_logits preset): still finite,
  // still equal to the naive (max-subtracting) computation.
  std::mt19937_64 rng(99);
  const std::vector<int64_t> shape{1, 2, 9, 8};
  HostTensor rq = Random(rng, shape, 1.0), rk = Random(rng, shape, 1.0), rv = Random(rng, shape, 1.0);
  const double scale = 64.0 / std::sqrt(8.0);
  for (int causal = 0; causal <= 1; ++causal) {
    Case big = AttentionCase(rq, rk, rv, causal, scale);
    const auto want = NaiveAttention(rq, rk, rv, causal == 1, scale);
    const auto got = big.Run("attention", "O", AllIndices(static_cast<int64_t>(want.size())));
    for (size_t n = 0; n < want.size(); ++n) {
      REQUIRE(std::isfinite(got[n]));
      CHECK(got[n] == doctest::Approx(want[n]).epsilon(1e-10));
    }
  }
}

TEST_CASE("attention errors name the culprit") {
  HostTensor t{{1, 2, 3, 4}, {1, 1, 2, 2}};
  Case c = AttentionCase(t, t, t, 2, 1.0);
  std::vector<double> v(1);
  dsx::kernel::CpuRefArgs args{c.sizes, c.scalars, c.inputs};
  const auto* fn = dsx::kernel::FindCpuReference("attention");
  REQUIRE(fn != nullptr);
  std::vector<int64_t> idx{0};
  dsx::Status st = (*fn)(args, "O", idx, v);
  CHECK(st.message() == "cpu reference 'attention': scalar 'causal' must be 0 or 1, not 2.000000");

  c.scalars["causal"] = 0;
  c.inputs["K"] = HostTensor{{1, 2, 3, 4, 5, 6}, {1, 1, 3, 2}};
  st = (*fn)(args, "O", idx, v);
  CHECK(st.message() == "cpu reference 'attention': sequence length of 'K' is 3, expected 2");

  c.inputs["K"] = t;
  c.scalars.erase("scale");
  st = (*fn)(args, "O", idx, v);
  CHECK(st.message() == "cpu reference 'attention': no scalar 'scale'");

  c.scalars["scale"] = 1.0;
  st = (*fn)(args, "Y", idx, v);
  CHECK(st.message() == "cpu reference 'attention': unknown output 'Y' (expected 'O')");
  idx[0] = 4;
  st = (*fn)(args, "O", idx, v);
  CHECK(st.message().find("index 4 of output 'O' is out of range [0, 4)") != std::string::npos);
}

// ---- the task file and the format features it uses ----------------------------------------

TEST_CASE("the shipped attention task: presets, scale, causal flops and launch") {
  namespace k = dsx::kernel;
  auto t = k::LoadTask(std::filesystem::path(DSX_SOURCE_DIR) / "kernels" / "attention");
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  CHECK(t->cpu_reference == "attention");
  REQUIRE(k::FindCpuReference(t->cpu_reference) != nullptr);
  CHECK(t->allowed.at("D") == std::vector<int64_t>{64, 128});
  auto scalar = [](const k::TaskInstance& inst, const std::string& name) {
    for (const auto& p : inst.params)
      if (p.spec->name == name) return p.scalar;
    FAIL("no scalar " << name);
    return 0.0;
  };
  auto large = k::Instantiate(*t, k::DType::kBF16, "large");
  auto large_causal = k::Instantiate(*t, k::DType::kBF16, "large_causal");
  REQUIRE(large.ok());
  REQUIRE(large_causal.ok());
  const double s = 4096, full = 4.0 * 4 * 16 * 128 * s * s;
  CHECK(large->flops == full);
  CHECK(large_causal->flops == 4.0 * 4 * 16 * 128 * s * (s + 1) / 2);  // about half
  CHECK(large->bytes == 4.0 * 4 * 16 * 4096 * 128 * 2);
  CHECK(scalar(*large, "scale") == doctest::Approx(1.0 / std::sqrt(128.0)).epsilon(1e-15));
  CHECK(scalar(*large, "causal") == 0);
  CHECK(scalar(*large_causal, "causal") == 1);
  auto sharp = k::Instantiate(*t, k::DType::kBF16, "small_large_logits");
  REQUIRE(sharp.ok());
  CHECK(scalar(*sharp, "scale") == 8.0);  // 64 / sqrt(64)
  auto l = k::ResolveLaunch(t->optimized, *large);
  REQUIRE(l.ok());
  CHECK(l->grid[0] == 32 * 64);           // 128-row query tiles x (batch, head)
  CHECK(l->shared == (128 + 4 * 32) * 136 * 2);  // Q + 2 x (K, V) 32-key tiles, rows padded to D + 8
  for (const auto& p : t->presets) {
    CAPTURE(p);
    CHECK(t->sizes.at(p).at("CAUSAL") <= 1);
    if (p != "large" && p != "large_causal") CHECK(t->sizes.at(p).at("S") % 64 != 0);  // partial tiles
  }
}

TEST_CASE("[allowed]: a size variable outside its list, or missing, is a named error") {
  namespace k = dsx::kernel;
  const std::string base = R"TOML(
name = "t"
dtypes = ["bf16"]
[sizes.small]
N = 8
D = 64
F = 0
[sizes.medium]
N = 16
D = 128
F = 1
[sizes.large]
N = 32
D = DVAL
F = 0
[allowed]
D = [64, 128]
F = [0, 1]
[[params]]
name = "y"
kind = "ptr"
dtype = "T"
shape = ["N", "D"]
io = "out"
[cost]
bytes = "N * D * sizeof(T)"
[tolerance]
bf16 = 1e-2
[impl.reference]
file = "r.cu"
entry = "r<T>"
grid = ["N"]
block = [32]
[impl.optimized]
file = "o.cu"
entry = "o<T>"
grid = ["N"]
block = [32]
)TOML";
  auto with = [&](const std::string& dval) {
    std::string s = base;
    s.replace(s.find("DVAL"), 4, dval);
    return s;
  };
  auto ok = k::ParseTask(with("128"), "/tmp/t");
  REQUIRE_MESSAGE(ok.ok(), ok.status().message());
  CHECK(ok->sizes.at("small").at("F") == 0);  // a 0 size variable is fine (a flag)
  CHECK(k::TaskToJson(*ok)["allowed"]["D"] == nlohmann::json::array({64, 128}));

  auto bad = k::ParseTask(with("96"), "/tmp/t");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() == "sizes.large.D = 96 is not allowed (allowed.D: 64, 128)");

  std::string missing = with("128");
  missing.replace(missing.find("F = 0\n[allowed]"), 6, "");
  bad = k::ParseTask(missing, "/tmp/t");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() == "sizes.large has no 'F' (it is listed in [allowed])");

  std::string not_ints = with("128");
  not_ints.replace(not_ints.find("F = [0, 1]"), 10, "F = [\"0\"]");
  bad = k::ParseTask(not_ints, "/tmp/t");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() == "allowed.F must be a non-empty array of integers");

  std::string empty = with("128");
  empty.replace(empty.find("F = [0, 1]"), 10, "F = []");
  CHECK(!k::ParseTask(empty, "/tmp/t").ok());

  // Still rejected: negative or non-integer sizes, and a shape dimension that is 0.
  bad = k::ParseTask(with("-1"), "/tmp/t");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() == "sizes.large.D must be an integer >= 0");
  bad = k::ParseTask(with("64.0"), "/tmp/t");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() == "sizes.large.D must be an integer >= 0");
  std::string zero_dim = with("128");
  zero_dim.replace(zero_dim.find("shape = [\"N\", \"D\"]"), 18, "shape = [\"N\", \"F\"]");
  bad = k::ParseTask(zero_dim, "/tmp/t");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("dimension 'F' is 0") != std::string::npos);
}

TEST_CASE("sqrt() in expressions") {
  namespace k = dsx::kernel;
  std::map<std::string, int64_t> vars{{"D", 128}, {"G", 64}};
  k::ExprEnv env{&vars, k::DType::kBF16};
  auto v = k::EvalExpr("1 / sqrt(D)", env);
  REQUIRE(v.ok());
  CHECK(!v->is_int);
  CHECK(v->AsDouble() == doctest::Approx(1.0 / std::sqrt(128.0)).epsilon(1e-15));
  CHECK(k::EvalExpr("G / sqrt(64)", env)->AsDouble() == 8.0);
  CHECK(k::EvalInt("sqrt(16) * 2", env).value() == 8);  // integral float results pass EvalInt
  CHECK(k::EvalExpr("sqrt(0 - 1)", env).status().message().find("sqrt of a negative number") != std::string::npos);
  CHECK(k::EvalExpr("sqrt(1, 2)", env).status().message().find("sqrt takes 1 argument") != std::string::npos);
  CHECK(!k::EvalExpr("sqrt()", env).ok());
}
