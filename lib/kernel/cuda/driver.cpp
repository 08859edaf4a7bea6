#include "kernel/cuda/driver.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace dsx::kernel::cuda {

#if defined(DSX_HAVE_CUDA_H)

#define DSX_STR2(x) #x
#define DSX_STR(x) DSX_STR2(x)

namespace {

DriverApi g_api;

Status OpenDriver() {
  const char* override_lib = std::getenv("DSX_CUDA_DRIVER_LIBRARY");  // tests point this at a fake
  const char* lib = override_lib && *override_lib ? override_lib : "libcuda.so.1";
  void* h = ::dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h)
    return Status::Unavailable(std::string("no CUDA driver: cannot load ") + lib +
                               " (is the NVIDIA driver installed?)");
  std::string missing;
  // The versioned name the header maps to (cuMemAlloc -> "cuMemAlloc_v2"), then the plain name
  // for drivers older than the header (same signature).
  auto sym = [&](auto& fn, const char* versioned, const char* plain) {
    void* p = ::dlsym(h, versioned);
    if (!p) p = ::dlsym(h, plain);
    if (!p && missing.empty()) missing = versioned;
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
#define DSX_CU_FN(name) sym(g_api.name, DSX_STR(name), #name);
#include "kernel/cuda/driver_fns.inc"
#undef DSX_CU_FN
  if (!missing.empty())
    return Status::Unavailable("no usable CUDA driver: " + std::string(lib) + " lacks '" + missing +
                               "' (driver too old?)");
  CUresult rc = g_api.cuInit(0);
  if (rc == CUDA_ERROR_NO_DEVICE) return Status::Unavailable("no CUDA device");
  if (rc != CUDA_SUCCESS) return Status::Unavailable("no CUDA device: cuInit failed: " + ErrorText(rc));
  int count = 0;
  rc = g_api.cuDeviceGetCount(&count);
  if (rc != CUDA_SUCCESS || count == 0) return Status::Unavailable("no CUDA device");
  return Status::Ok();
}

}  // namespace

Result<const DriverApi*> LoadDriver() {
  static std::once_flag once;
  static Status* status = nullptr;
  std::call_once(once, [] { status = new Status(OpenDriver()); });  // lives until exit
  if (!status->ok()) return *status;
  return &g_api;
}

const DriverApi& Api() { return g_api; }

DriverApi& MutableApiForTesting() { return g_api; }

std::string ErrorText(CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (g_api.cuGetErrorName) g_api.cuGetErrorName(r, &name);
  if (g_api.cuGetErrorString) g_api.cuGetErrorString(r, &text);
  std::string out = name ? name : ("CUresult " + std::to_string(static_cast<int>(r)));
  if (text) out += std::string(": ") + text;
  return out;
}

void ThrowCudaError(CUresult r, const char* call, const char* file, int line) {
  std::string f = file;
  if (auto p = f.rfind("lib/kernel/"); p != std::string::npos) f = f.substr(p);
  throw CudaError(r, std::string(call) + " failed: " + ErrorText(r) + " (" + f + ":" + std::to_string(line) + ")");
}

bool BuiltWithCuda() { return true; }

#else

bool BuiltWithCuda() { return false; }

#endif

}  // namespace dsx::kernel::cuda
