// kernels/matmul/task.toml: one launch serves two kernels (CUDA cores for f32, tensor cores for
// bf16/f16), so its block and shared-memory expressions branch on sizeof(T). Check what they
// resolve to per dtype, against the constants the tensor-core kernel is compiled with.
#include <doctest/doctest.h>

#include "../../../kernels/matmul/tc_layout.cuh"
#include "kernel/task.hpp"
#include "test_paths.hpp"

using namespace dsx::kernel;

TEST_CASE("matmul task: launch per dtype (f32 CUDA cores, bf16/f16 tensor cores)") {
  auto t = LoadTask(std::filesystem::path(DSX_SOURCE_DIR) / "kernels" / "matmul");
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  CHECK(t->dtypes == std::vector<DType>{DType::kF32, DType::kBF16, DType::kF16});
  REQUIRE(t->tolerance.count(DType::kF16) == 1);
  CHECK(t->tolerance.at(DType::kF16) < t->tolerance.at(DType::kBF16));  // 3 more mantissa bits
  for (DType d : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (const char* preset : {"small", "medium", "large"}) {
      CAPTURE(DTypeName(d));
      CAPTURE(preset);
      auto inst = Instantiate(*t, d, preset);
      REQUIRE_MESSAGE(inst.ok(), inst.status().message());
      auto l = ResolveLaunch(t->optimized, *inst);
      REQUIRE_MESSAGE(l.ok(), l.status().message());
      const int64_t m = inst->sizes.at("M"), n = inst->sizes.at("N");
      CHECK(l->grid[0] == static_cast<unsigned>((n + dsx_tc::kBN - 1) / dsx_tc::kBN));
      CHECK(l->grid[1] == static_cast<unsigned>((m + dsx_tc::kBM - 1) / dsx_tc::kBM));
      if (d == DType::kF32) {
        CHECK(l->block[0] == 256u);  // MatmulF32: 16 x 16 threads of 8 x 8 outputs
        CHECK(l->shared == 0u);      // static shared memory only
      } else {
        CHECK(l->block[0] == static_cast<unsigned>(dsx_tc::kThreads));
        CHECK(l->shared == static_cast<unsigned>(dsx_tc::kSharedBytes));
      }
      CHECK(l->entry == SubstituteEntry("matmul<T>", d));
    }
  }
}
