// kernels/attention/optimized.cu and reference.cu run on the CPU (attention_emulation.hpp) against
// the float64 CPU reference, on every output element: both head dims, causal and not, partial
// query and key tiles (S not a multiple of 64 or 128), a single partial tile, and logits of std ~64
// that overflow exp() unless the running maximum is subtracted. This is the check of the kernels'
// fragment indexing, masking and online softmax that can run without a GPU; timing, and anything
// only the hardware does, is left to tests/kernels/gpu_tests.sh.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernel/cpu_ref/cpu_reference.hpp"

#define DSX_HOST_EMULATION 1
#include "attention_emulation.hpp"

// The kernels' dynamic shared memory, one block at a time (the emulator runs blocks in turn).
constexpr size_t kSmemBytes = 96 * 1024;
alignas(128) unsigned char attention_smem[kSmemBytes];
alignas(128) float ref_smem[kSmemBytes / sizeof(float)];

#include "../../../kernels/attention/optimized.cu"
#include "../../../kernels/attention/reference.cu"

namespace {

struct Shape {
  int b, h, s, d, causal;
  double gain;  // LOGIT_GAIN: scale = gain / sqrt(D)
};

struct Result {
  double rel_err = 0;  // ||out - exact|| / ||exact|| over every element
  int64_t nan = 0;     // non-finite outputs (unwritten ones stay NaN)
};

Result Compare(const std::vector<__nv_bfloat16>& out, const std::vector<double>& exact) {
  Result r;
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const double v = emu::Bf16ToFloat(out[i].x);
    if (!std::isfinite(v)) {
      ++r.nan;
      continue;
    }
    num += (v - exact[i]) * (v - exact[i]);
    den += exact[i] * exact[i];
  }
  r.rel_err = std::sqrt(num / den);
  return r;
}

void RunShape(const Shape& sh) {
  CAPTURE(sh.b);
  CAPTURE(sh.h);
  CAPTURE(sh.s);
  CAPTURE(sh.d);
  CAPTURE(sh.causal);
  CAPTURE(sh.gain);
  const int64_t n = int64_t{sh.b} * sh.h * sh.s * sh.d;
  std::mt19937_64 rng(static_cast<uint64_t>(sh.s * 131 + sh.d * 7 + sh.causal));
  std::normal_distribution<float> normal(0.f, 1.f);
  std::map<std::string, dsx::kernel::HostTensor> inputs;
  std::vector<__nv_bfloat16> q(n), k(n), v(n);
  for (auto* t : {&q, &k, &v}) {
    for (auto& x : *t) x = __float2bfloat16_rn(normal(rng));
  }
  const char* names[] = {"Q", "K", "V"};
  int idx = 0;
  for (auto* t : {&q, &k, &v}) {
    dsx::kernel::HostTensor ht{std::vector<double>(n), {sh.b, sh.h, sh.s, sh.d}};
    for (int64_t i = 0; i < n; ++i) ht.data[i] = emu::Bf16ToFloat((*t)[i].x);
    inputs[names[idx++]] = std::move(ht);
  }
  const double scale = sh.gain / std::sqrt(static_cast<double>(sh.d));
  std::map<std::string, double> scalars{{"causal", sh.causal}, {"scale", scale}};
  dsx::kernel::SizeMap sizes;
  std::vector<int64_t> all(n);
  for (int64_t i = 0; i < n; ++i) all[i] = i;
  std::vector<double> exact(n);
  const auto* ref = dsx::kernel::FindCpuReference("attention");
  REQUIRE(ref != nullptr);
  REQUIRE((*ref)(dsx::kernel::CpuRefArgs{sizes, scalars, inputs}, "O", all, exact).ok());

  const int bh = sh.b * sh.h;
  const float scale_f = static_cast<float>(scale);
  const __nv_bfloat16 nan_bf16{0x7fc0};

  // optimized.cu with task.toml's launch: grid ceil_div(S, 128) * B * H, block 256,
  // shared (128 + 4 * (4096 / D)) * (D + 8) * 2.
  std::vector<__nv_bfloat16> o(n, nan_bf16);
  const unsigned grid = static_cast<unsigned>((sh.s + 127) / 128 * bh);
  const unsigned smem = static_cast<unsigned>((128 + 4 * (4096 / sh.d)) * (sh.d + 8) * 2);
  emu::Launch(grid, 256, smem, attention_smem, sizeof attention_smem, [&] {
    attention<__nv_bfloat16>(q.data(), k.data(), v.data(), o.data(), bh, sh.s, sh.d, sh.causal, scale_f);
  });
  const Result opt = Compare(o, exact);
  MESSAGE("optimized: relative error " << opt.rel_err << ", non-finite " << opt.nan);
  CHECK(opt.nan == 0);
  CHECK(opt.rel_err < 5e-3);  // task tolerance 1e-2; bf16 rounding of P and O is ~2e-3

  // reference.cu: grid ceil_div(S, 32) * B * H, block 256, shared 2 * 32 * D * 4.
  std::vector<__nv_bfloat16> r(n, nan_bf16);
  const unsigned rgrid = static_cast<unsigned>((sh.s + 31) / 32 * bh);
  emu::Launch(rgrid, 256, static_cast<unsigned>(2 * 32 * sh.d * 4), reinterpret_cast<unsigned char*>(ref_smem),
              sizeof ref_smem, [&] {
                attention_ref<__nv_bfloat16>(q.data(), k.data(), v.data(), r.data(), bh, sh.s, sh.d, sh.causal,
                                             scale_f);
              });
  const Result rr = Compare(r, exact);
  MESSAGE("reference: relative error " << rr.rel_err << ", non-finite " << rr.nan);
  CHECK(rr.nan == 0);
  CHECK(rr.rel_err < 3e-3);  // f32 math, only O rounded to bf16
}

}  // namespace

TEST_CASE("emulated attention kernels, D = 64: partial tiles, causal and not") {
  RunShape({1, 1, 197, 64, 0, 1.0});  // 2 query tiles (the second 69 rows), last key tile 5 keys
  RunShape({1, 1, 197, 64, 1, 1.0});
}

TEST_CASE("emulated attention kernels, D = 128: partial tiles, causal and not") {
  RunShape({1, 1, 197, 128, 1, 1.0});  // 32-key tiles: the diagonal crosses 4 per query tile
  RunShape({2, 1, 70, 128, 0, 1.0});   // one partial query tile per (batch, head), 2 heads
}

TEST_CASE("emulated attention kernels: logits of std ~64 (the small_large_logits preset)") {
  RunShape({1, 2, 131, 64, 1, 64.0});
}
