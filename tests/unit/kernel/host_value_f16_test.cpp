// HostValue widens device elements to double for the CPU-reference comparison; f16 (added to the
// matmul task with the tensor-core kernel) decodes by hand, so check it on the boundary patterns:
// normals, subnormals, the largest finite value, infinities and the NaN the harness pre-fills
// outputs with (0xFFFF: every byte 0xFF).
#include <doctest/doctest.h>

#if defined(DSX_HAVE_CUDA_H)

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernel/bench/workspace.hpp"

using dsx::kernel::DType;
using dsx::kernel::bench::HostValue;

namespace {
double F16(uint16_t bits) {
  unsigned char b[2];
  std::memcpy(b, &bits, 2);
  return HostValue(DType::kF16, b);
}
double Bf16(uint16_t bits) {
  unsigned char b[2];
  std::memcpy(b, &bits, 2);
  return HostValue(DType::kBF16, b);
}
}  // namespace

TEST_CASE("HostValue f16: normals, subnormals, limits, specials") {
  CHECK(F16(0x3c00) == 1.0);
  CHECK(F16(0xc000) == -2.0);
  CHECK(F16(0x3555) == 1365.0 / 4096);  // nearest f16 to 1/3 (0.333251953125)
  CHECK(F16(0x7bff) == 65504.0);                                      // largest finite
  CHECK(F16(0x0400) == std::ldexp(1.0, -14));                         // smallest normal
  CHECK(F16(0x0001) == std::ldexp(1.0, -24));                         // smallest subnormal
  CHECK(F16(0x03ff) == std::ldexp(1023.0, -24));                      // largest subnormal
  CHECK(F16(0x0000) == 0.0);
  CHECK(std::signbit(F16(0x8000)));
  CHECK(std::isinf(F16(0x7c00)));
  CHECK(F16(0xfc00) < 0);
  CHECK(std::isnan(F16(0xffff)));  // the NaN pre-fill of outputs
  CHECK(std::isnan(F16(0x7e00)));
}

TEST_CASE("HostValue bf16: the upper half of an f32") {
  CHECK(Bf16(0x3f80) == 1.0);
  CHECK(Bf16(0xc040) == -3.0);
  CHECK(std::isnan(Bf16(0xffff)));
}

#endif
