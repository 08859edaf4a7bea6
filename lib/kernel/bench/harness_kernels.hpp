// The harness's own device code, compiled with NVRTC (and cached) like any task kernel:
//   dsx_fill<T>     inputs from a counter-based hash RNG (splitmix64) keyed by a 64-bit seed, so
//                   every call gets fresh values generated on the device at memory speed;
//   dsx_check<T>    regenerates the same values and counts bit mismatches ("inputs unchanged");
//   dsx_compare<T>  float64 sums for the relative L2 error and the count of non-finite outputs;
//   dsx_copy16      a 16-byte-vector copy, one of the two copy-bandwidth probes (--measure-peaks);
//   dsx_sgemm_tiled a 64x64-tile f32 matmul, the flop-rate probe when no matmul task is present.
#pragma once

#include <memory>
#include <string>

#include "kernel/compile/compiler.hpp"
#include "kernel/cuda/device.hpp"
#include "kernel/dtype.hpp"

namespace dsx::kernel::bench {

const char* HarnessKernelSource();
// Name expressions and arch for compiling HarnessKernelSource() as "dsx_harness.cu".
CompileOptions HarnessCompileOptions(const std::string& arch, const std::string& cache_dir);

}  // namespace dsx::kernel::bench

#if defined(DSX_HAVE_CUDA_H)

namespace dsx::kernel::bench {

class HarnessKernels {
 public:
  // Compiles (cache) for `arch` and loads the module into the current context. Throws CudaError
  // on load failure; returns a Status for compile failures.
  static Result<std::unique_ptr<HarnessKernels>> Create(const std::string& arch, const std::string& cache_dir);

  // All launches are on `stream` and asynchronous.
  void Fill(CUstream stream, DType t, CUdeviceptr p, int64_t n, uint64_t seed, int dist) const;
  void Check(CUstream stream, DType t, CUdeviceptr p, int64_t n, uint64_t seed, int dist, CUdeviceptr mismatches) const;
  // acc: 4 doubles, zeroed by the caller: sum (o-r)^2, sum r^2, #non-finite o (r finite), #non-finite r.
  void Compare(CUstream stream, DType t, CUdeviceptr out, CUdeviceptr ref, int64_t n, CUdeviceptr acc) const;
  void Copy16(CUstream stream, CUdeviceptr dst, CUdeviceptr src, int64_t bytes) const;
  void Sgemm(CUstream stream, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c, int m, int n, int k) const;

  const CompiledModule& compiled() const { return compiled_; }

 private:
  HarnessKernels() = default;
  CompiledModule compiled_;
  std::unique_ptr<cuda::Module> module_;
  CUfunction fill_[6] = {}, check_[6] = {}, compare_[6] = {};
  CUfunction copy16_ = nullptr, sgemm_ = nullptr;
};

}  // namespace dsx::kernel::bench

#endif
