// One GPU as the harness sees it: identity, limits and theoretical peaks (device attributes),
// plus small RAII owners for the context, device memory and loaded modules.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "kernel/cuda/driver.hpp"
#include "kernel/cuda/handles.hpp"

namespace dsx::kernel::cuda {

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  std::string uuid;        // "GPU-xxxxxxxx-..." (NVML spelling), stable per card
  std::string pci_bus_id;  // "0000:3b:00.0"
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int64_t total_mem = 0;          // [bytes]
  int64_t l2_bytes = 0;           // [bytes]
  int64_t max_persisting_l2 = 0;  // [bytes]
  int sm_clock_khz = 0;           // max (boost) SM clock [kHz]
  int mem_clock_khz = 0;          // peak memory clock [kHz]
  int bus_width_bits = 0;
  int driver_version = 0;  // 13000 = 13.0
  // Theoretical peaks: DRAM = 2 (DDR) x memory clock x bus width / 8 (nvbench device_info.cuh).
  double peak_gbps = 0;             // [GB/s = 1e9 B/s]
  double peak_tflops_fp32 = 0;      // CUDA cores, FMA = 2 flops
  double peak_tflops_tensor16 = 0;  // dense bf16/f16 tensor cores (0: unknown arch)
  std::string Arch() const { return "sm_" + std::to_string(cc_major) + std::to_string(cc_minor); }
  std::string DriverString() const {
    return std::to_string(driver_version / 1000) + "." + std::to_string((driver_version % 1000) / 10);
  }
};

nlohmann::json DeviceToJson(const DeviceInfo& d);

// Loads the driver and reads device `ordinal`'s attributes; creates no context (cheap).
Result<DeviceInfo> ProbeDevice(int ordinal);

#if defined(DSX_HAVE_CUDA_H)

// The device's primary context made current, with the persisting-L2 carve-out set to 0 so no
// access-policy window can survive an L2 flush (karpathy/llm.c #851). Throws CudaError.
class Context {
 public:
  explicit Context(int ordinal);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  CUdevice device() const { return ctx_.deleter().dev; }

 private:
  PrimaryCtx ctx_;  // released even when the constructor throws after the retain
};

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  DeviceBuffer(DeviceBuffer&& o) noexcept : mem_(std::move(o.mem_)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    mem_ = std::move(o.mem_);
    bytes_ = std::exchange(o.bytes_, 0);
    return *this;
  }
  CUdeviceptr ptr() const { return mem_.get(); }
  size_t bytes() const { return bytes_; }

 private:
  DeviceMem mem_;
  size_t bytes_ = 0;
};

class Module {
 public:
  explicit Module(const std::string& image);  // CUBIN or NUL-terminated PTX
  CUfunction Function(const std::string& symbol) const;

 private:
  ModuleHandle mod_;
};

#endif

}  // namespace dsx::kernel::cuda
