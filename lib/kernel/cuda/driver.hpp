// The CUDA driver API loaded with dlopen("libcuda.so.1") on first use, so dsx runs (and compiles
// kernels) on machines without a driver. Types come from the toolkit's cuda.h; without it at build
// time (no DSX_HAVE_CUDA_H) the GPU side is compiled out and every GPU command says so (exit 5).
//
// Inside lib/kernel, driver calls go through DSX_CU(call): a failing call throws CudaError with
// the call text, file and line (nvbench's NVBENCH_DRIVER_API_CALL). Exceptions never leave the
// module: the child runner (bench/child.cpp) catches them and reports a Status.
#pragma once

#include <stdexcept>
#include <string>

#include "core/status.hpp"

#if defined(DSX_HAVE_CUDA_H)
#include <cuda.h>
#endif

namespace dsx::kernel::cuda {

#if defined(DSX_HAVE_CUDA_H)

// Each member is named after the API macro, so `Api().cuMemAlloc(...)` resolves to the same
// versioned symbol (cuMemAlloc_v2) that cuda.h would have linked.
struct DriverApi {
#define DSX_CU_FN(name) decltype(&::name) name = nullptr;
#include "kernel/cuda/driver_fns.inc"
#undef DSX_CU_FN
};

// Loads the driver and calls cuInit(0) once. Unavailable "no CUDA driver" when libcuda.so.1 is
// missing, "no CUDA device" when cuInit reports none or the count is 0.
Result<const DriverApi*> LoadDriver();

// The loaded table; only valid after LoadDriver() succeeded.
const DriverApi& Api();

// The same table, writable: unit tests put fake entry points in it (no GPU or driver needed).
DriverApi& MutableApiForTesting();

class CudaError : public std::runtime_error {
 public:
  CudaError(CUresult code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  CUresult code() const { return code_; }

 private:
  CUresult code_;
};

// "CUDA_ERROR_OUT_OF_MEMORY: out of memory"
std::string ErrorText(CUresult r);
[[noreturn]] void ThrowCudaError(CUresult r, const char* call, const char* file, int line);

#define DSX_CU(call)                                                                                            \
  do {                                                                                                          \
    CUresult dsx_cu_rc_ = (call);                                                                               \
    if (dsx_cu_rc_ != CUDA_SUCCESS) ::dsx::kernel::cuda::ThrowCudaError(dsx_cu_rc_, #call, __FILE__, __LINE__); \
  } while (0)

#endif  // DSX_HAVE_CUDA_H

// True when this build can talk to a GPU at all.
bool BuiltWithCuda();

}  // namespace dsx::kernel::cuda
