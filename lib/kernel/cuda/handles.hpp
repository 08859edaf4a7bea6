// Owners for driver handles (streams, events, modules, device memory, the retained primary
// context), so a CudaError thrown or an early return between create and destroy cannot leak one.
//
// UniqueHandle<Handle, Deleter> is a move-only owner of any handle whose null value is Handle{}
// (pointers such as CUstream, or CUdeviceptr 0); the deleter is a small callable that may carry
// state (the device of a retained context). It does not depend on cuda.h, so it is unit-tested
// without a GPU over a fake destroy function.
#pragma once

#include <utility>

#include "kernel/cuda/driver.hpp"

namespace dsx::kernel::cuda {

template <typename Handle, typename Deleter>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(Handle h, Deleter d = Deleter()) : h_(h), d_(std::move(d)) {}
  ~UniqueHandle() { reset(); }
  UniqueHandle(UniqueHandle&& o) noexcept : h_(o.release()), d_(std::move(o.d_)) {}
  UniqueHandle& operator=(UniqueHandle&& o) noexcept {
    if (this != &o) {
      reset(o.release());
      d_ = std::move(o.d_);
    }
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;

  Handle get() const { return h_; }
  explicit operator bool() const { return h_ != Handle{}; }
  const Deleter& deleter() const { return d_; }

  // Gives up ownership without destroying.
  Handle release() { return std::exchange(h_, Handle{}); }
  // Destroys the owned handle (if any) and owns `h` instead.
  void reset(Handle h = Handle{}) {
    Handle old = std::exchange(h_, h);
    if (old != Handle{}) d_(old);
  }
  // For create calls with an out parameter: destroys the owned handle and returns where the new
  // one goes, e.g. DSX_CU(api.cuStreamCreate(s.out(), 0)). A failed create leaves Handle{}.
  Handle* out() {
    reset();
    return &h_;
  }

 private:
  Handle h_{};
  Deleter d_{};
};

#if defined(DSX_HAVE_CUDA_H)

// Destroy results are ignored: a destructor cannot report them, and after a sticky error (an
// illegal address) every call fails while the context itself is torn down at process exit.
struct StreamDeleter {
  void operator()(CUstream s) const { Api().cuStreamDestroy(s); }
};
struct EventDeleter {
  void operator()(CUevent e) const { Api().cuEventDestroy(e); }
};
struct ModuleDeleter {
  void operator()(CUmodule m) const { Api().cuModuleUnload(m); }
};
struct DeviceMemDeleter {
  void operator()(CUdeviceptr p) const { Api().cuMemFree(p); }
};
struct PrimaryCtxDeleter {
  CUdevice dev = 0;
  void operator()(CUcontext) const { Api().cuDevicePrimaryCtxRelease(dev); }
};

using Stream = UniqueHandle<CUstream, StreamDeleter>;
using Event = UniqueHandle<CUevent, EventDeleter>;
using ModuleHandle = UniqueHandle<CUmodule, ModuleDeleter>;
using DeviceMem = UniqueHandle<CUdeviceptr, DeviceMemDeleter>;
using PrimaryCtx = UniqueHandle<CUcontext, PrimaryCtxDeleter>;

// Create calls that throw CudaError on failure (nothing to destroy then).
Stream CreateStream(unsigned flags = CU_STREAM_DEFAULT);
Event CreateEvent(unsigned flags = CU_EVENT_DEFAULT);

#endif  // DSX_HAVE_CUDA_H

}  // namespace dsx::kernel::cuda
