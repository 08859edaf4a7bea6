#include "kernel/cuda/nvml.hpp"

#include <dlfcn.h>

namespace dsx::kernel::cuda {

namespace {

// The few NVML declarations we need (stable C ABI; nvml.h is not in every toolkit install).
using nvmlDevice_t = void*;
constexpr int kNvmlSuccess = 0;
constexpr int kNvmlClockSm = 1;  // NVML_CLOCK_SM
struct Nvml {
  int (*Init)() = nullptr;
  int (*HandleByPciBusId)(const char*, nvmlDevice_t*) = nullptr;
  int (*ClockInfo)(nvmlDevice_t, int, unsigned*) = nullptr;
  int (*DefaultAppClock)(nvmlDevice_t, int, unsigned*) = nullptr;
  int (*MaxClock)(nvmlDevice_t, int, unsigned*) = nullptr;
};

const Nvml* LoadNvml(std::string& why) {
  static Nvml nvml;
  static bool tried = false, ok = false;
  static std::string error;
  if (!tried) {
    tried = true;
    void* h = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      error = "libnvidia-ml.so.1 not found";
    } else {
      nvml.Init = reinterpret_cast<int (*)()>(::dlsym(h, "nvmlInit_v2"));
      nvml.HandleByPciBusId =
          reinterpret_cast<int (*)(const char*, nvmlDevice_t*)>(::dlsym(h, "nvmlDeviceGetHandleByPciBusId_v2"));
      nvml.ClockInfo = reinterpret_cast<int (*)(nvmlDevice_t, int, unsigned*)>(::dlsym(h, "nvmlDeviceGetClockInfo"));
      nvml.DefaultAppClock =
          reinterpret_cast<int (*)(nvmlDevice_t, int, unsigned*)>(::dlsym(h, "nvmlDeviceGetDefaultApplicationsClock"));
      nvml.MaxClock = reinterpret_cast<int (*)(nvmlDevice_t, int, unsigned*)>(::dlsym(h, "nvmlDeviceGetMaxClockInfo"));
      if (!nvml.Init || !nvml.HandleByPciBusId || !nvml.ClockInfo) error = "NVML lacks the clock functions";
      else if (nvml.Init() != kNvmlSuccess) error = "nvmlInit failed";
      else ok = true;
    }
  }
  why = error;
  return ok ? &nvml : nullptr;
}

}  // namespace

SmClock::SmClock(const std::string& pci_bus_id) {
  const Nvml* n = LoadNvml(why_);
  if (!n) return;
  nvmlDevice_t d = nullptr;
  if (n->HandleByPciBusId(pci_bus_id.c_str(), &d) != kNvmlSuccess || !d) {
    why_ = "NVML does not know device " + pci_bus_id;
    return;
  }
  unsigned mhz = 0;
  if (n->DefaultAppClock && n->DefaultAppClock(d, kNvmlClockSm, &mhz) == kNvmlSuccess && mhz > 0) reference_mhz_ = mhz;
  else if (n->MaxClock && n->MaxClock(d, kNvmlClockSm, &mhz) == kNvmlSuccess && mhz > 0) reference_mhz_ = mhz;
  dev_ = d;
}

unsigned SmClock::CurrentMhz() const {
  if (!dev_) return 0;
  std::string why;
  const Nvml* n = LoadNvml(why);
  unsigned mhz = 0;
  if (!n || n->ClockInfo(dev_, kNvmlClockSm, &mhz) != kNvmlSuccess) return 0;
  return mhz;
}

}  // namespace dsx::kernel::cuda
