// NVRTC loaded with dlopen: dsx starts (and `list`, `show`, `bench --help`...) on machines without
// the CUDA toolkit. Only `compile` (and what compiles) needs it; without it: Unavailable (exit 5).
#pragma once

#include <string>

#include "core/status.hpp"

namespace dsx::kernel {

#if defined(DSX_HAVE_NVRTC)
}  // namespace dsx::kernel
#include <nvrtc.h>
namespace dsx::kernel {

struct NvrtcApi {
  decltype(&::nvrtcVersion) Version = nullptr;
  decltype(&::nvrtcGetErrorString) GetErrorString = nullptr;
  decltype(&::nvrtcCreateProgram) CreateProgram = nullptr;
  decltype(&::nvrtcDestroyProgram) DestroyProgram = nullptr;
  decltype(&::nvrtcAddNameExpression) AddNameExpression = nullptr;
  decltype(&::nvrtcCompileProgram) CompileProgram = nullptr;
  decltype(&::nvrtcGetProgramLogSize) GetProgramLogSize = nullptr;
  decltype(&::nvrtcGetProgramLog) GetProgramLog = nullptr;
  decltype(&::nvrtcGetPTXSize) GetPTXSize = nullptr;
  decltype(&::nvrtcGetPTX) GetPTX = nullptr;
  decltype(&::nvrtcGetCUBINSize) GetCUBINSize = nullptr;
  decltype(&::nvrtcGetCUBIN) GetCUBIN = nullptr;
  decltype(&::nvrtcGetLoweredName) GetLoweredName = nullptr;
  std::string library_path;  // the file dlopen picked (realpath)
  std::string version;       // "13.0"
};

// Loads once per process ($DSX_NVRTC_LIBRARY, else libnvrtc.so.13, .so.12, .so).
Result<const NvrtcApi*> LoadNvrtc();
#endif

// NVRTC's "major.minor" without loading the 100 MB library when possible: the answer is memoised
// in <cache_dir>/nvrtc-id.json keyed by the library file's path, size and mtime and by the
// environment that steers dlopen (LD_LIBRARY_PATH, DSX_NVRTC_LIBRARY). This keeps a warm
// compile-cache hit in the low milliseconds. Unavailable when NVRTC cannot be loaded.
Result<std::string> NvrtcVersionFast(const std::string& cache_dir);

}  // namespace dsx::kernel
