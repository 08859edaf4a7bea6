#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kernel/cuda/handles.hpp"

#if defined(DSX_HAVE_CUDA_H)
#include "kernel/cuda/device.hpp"
#endif

using namespace dsx::kernel::cuda;

namespace {

std::vector<int> g_destroyed;

struct FakeDeleter {
  int tag = 0;  // stateful deleters travel with the handle
  void operator()(int h) const { g_destroyed.push_back(h * 10 + tag); }
};
using FakeHandle = UniqueHandle<int, FakeDeleter>;

void OwnThenThrow() {
  FakeHandle h(3, FakeDeleter{1});
  throw std::runtime_error("a call between create and destroy fails");
}

}  // namespace

TEST_CASE("UniqueHandle destroys what it owns once, at scope exit and during unwinding") {
  g_destroyed.clear();
  { FakeHandle h(7); }
  CHECK(g_destroyed == std::vector<int>{70});

  g_destroyed.clear();
  CHECK_THROWS_AS(OwnThenThrow(), std::runtime_error);
  CHECK(g_destroyed == std::vector<int>{31});

  g_destroyed.clear();
  { FakeHandle empty; }
  CHECK(g_destroyed.empty());  // Handle{} is "nothing owned"
}

TEST_CASE("UniqueHandle: release gives up ownership, reset and out() destroy the old handle") {
  g_destroyed.clear();
  {
    FakeHandle h(4);
    CHECK(h.release() == 4);
    CHECK(!h);
  }
  CHECK(g_destroyed.empty());

  {
    FakeHandle h(5);
    h.reset(6);
    CHECK(g_destroyed == std::vector<int>{50});
    *h.out() = 8;  // what a create call with an out parameter does
    CHECK(g_destroyed == std::vector<int>{50, 60});
    CHECK(h.get() == 8);
  }
  CHECK(g_destroyed == std::vector<int>{50, 60, 80});
}

TEST_CASE("UniqueHandle moves ownership: one destroy, by the deleter that came with the handle") {
  g_destroyed.clear();
  {
    FakeHandle a(1, FakeDeleter{2});
    FakeHandle b(std::move(a));
    CHECK(!a);
    CHECK(b.get() == 1);
    FakeHandle c(9);
    c = std::move(b);  // c's old handle is destroyed now
    CHECK(g_destroyed == std::vector<int>{90});
    c = std::move(c);  // self-move keeps the handle
    CHECK(c.get() == 1);
  }
  CHECK(g_destroyed == std::vector<int>{90, 12});
}

#if defined(DSX_HAVE_CUDA_H)

namespace {

// Fake driver entry points: handles are counters cast to pointers, never dereferenced.
struct FakeDriver {
  static inline int created = 0, destroyed = 0, released = 0;
  static inline CUresult create_result = CUDA_SUCCESS, set_current_result = CUDA_SUCCESS;

  DriverApi saved = MutableApiForTesting();
  FakeDriver() {
    created = destroyed = released = 0;
    create_result = set_current_result = CUDA_SUCCESS;
    DriverApi& api = MutableApiForTesting();
    api.cuStreamCreate = [](CUstream* s, unsigned) {
      if (create_result != CUDA_SUCCESS) return create_result;
      *s = reinterpret_cast<CUstream>(static_cast<uintptr_t>(0x1000 + ++created));
      return CUDA_SUCCESS;
    };
    api.cuStreamDestroy = [](CUstream) {
      ++destroyed;
      return CUDA_SUCCESS;
    };
    api.cuEventCreate = [](CUevent* e, unsigned) {
      if (create_result != CUDA_SUCCESS) return create_result;
      *e = reinterpret_cast<CUevent>(static_cast<uintptr_t>(0x2000 + ++created));
      return CUDA_SUCCESS;
    };
    api.cuEventDestroy = [](CUevent) {
      ++destroyed;
      return CUDA_SUCCESS;
    };
    api.cuMemAlloc = [](CUdeviceptr* p, size_t) {
      *p = 0x3000 + ++created;
      return CUDA_SUCCESS;
    };
    api.cuMemFree = [](CUdeviceptr) {
      ++destroyed;
      return CUDA_SUCCESS;
    };
    api.cuDeviceGet = [](CUdevice* d, int ordinal) {
      *d = ordinal;
      return CUDA_SUCCESS;
    };
    api.cuDevicePrimaryCtxRetain = [](CUcontext* c, CUdevice) {
      *c = reinterpret_cast<CUcontext>(static_cast<uintptr_t>(0x4000 + ++created));
      return CUDA_SUCCESS;
    };
    api.cuDevicePrimaryCtxRelease = [](CUdevice) {
      ++released;
      return CUDA_SUCCESS;
    };
    api.cuCtxSetCurrent = [](CUcontext) { return set_current_result; };
    api.cuCtxSetLimit = [](CUlimit, size_t) { return CUDA_SUCCESS; };
    api.cuCtxResetPersistingL2Cache = [] { return CUDA_SUCCESS; };
    api.cuCtxSynchronize = [] { return CUDA_SUCCESS; };
    api.cuGetErrorName = nullptr;
    api.cuGetErrorString = nullptr;
  }
  ~FakeDriver() { MutableApiForTesting() = saved; }
};

}  // namespace

// A bench-like sequence: create a stream and two events, then a driver call fails.
void CreateThenFail() {
  Stream s = CreateStream();
  Event a = CreateEvent();
  Event b = CreateEvent();
  CHECK(s.get() != nullptr);
  CHECK(a.get() != b.get());
  ThrowCudaError(CUDA_ERROR_ILLEGAL_ADDRESS, "cuLaunchKernel(...)", __FILE__, __LINE__);
}

TEST_CASE("streams and events are destroyed when a later call throws") {
  FakeDriver fake;
  CHECK_THROWS_AS(CreateThenFail(), CudaError);
  CHECK(FakeDriver::created == 3);
  CHECK(FakeDriver::destroyed == 3);
}

TEST_CASE("a failed create throws and leaves nothing to destroy") {
  FakeDriver fake;
  {
    Stream s = CreateStream();
    FakeDriver::create_result = CUDA_ERROR_OUT_OF_MEMORY;
    CHECK_THROWS_AS(CreateEvent(), CudaError);
    CHECK(FakeDriver::destroyed == 0);
  }
  CHECK(FakeDriver::destroyed == 1);  // the stream
}

TEST_CASE("device buffers free once across moves") {
  FakeDriver fake;
  {
    DeviceBuffer a(256);
    CHECK(a.bytes() == 256);
    DeviceBuffer b(std::move(a));
    CHECK(a.ptr() == 0);
    CHECK(a.bytes() == 0);
    DeviceBuffer c(64);
    c = std::move(b);  // frees c's own allocation
    CHECK(FakeDriver::destroyed == 1);
    CHECK(c.bytes() == 256);
    DeviceBuffer empty(0);
    CHECK(empty.ptr() == 0);
  }
  CHECK(FakeDriver::created == 2);
  CHECK(FakeDriver::destroyed == 2);
}

TEST_CASE("the primary context is released when Context's constructor throws after the retain") {
  FakeDriver fake;
  FakeDriver::set_current_result = CUDA_ERROR_INVALID_CONTEXT;
  CHECK_THROWS_AS(Context(0), CudaError);
  CHECK(FakeDriver::released == 1);

  FakeDriver::set_current_result = CUDA_SUCCESS;
  {
    Context ctx(3);
    CHECK(ctx.device() == 3);
    CHECK(FakeDriver::released == 1);
  }
  CHECK(FakeDriver::released == 2);
}

#endif
