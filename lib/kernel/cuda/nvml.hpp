// NVML through dlopen("libnvidia-ml.so.1"), only for the SM clock: samples taken while the GPU
// is throttled below 75% of its default clock are discarded (nvbench's throttle detection).
// Optional: without NVML the clock is reported as unknown and no sample is discarded.
#pragma once

#include <string>

namespace dsx::kernel::cuda {

class SmClock {
 public:
  // `pci_bus_id` as the driver reports it ("0000:3b:00.0").
  explicit SmClock(const std::string& pci_bus_id);
  bool available() const { return dev_ != nullptr; }
  unsigned CurrentMhz() const;                              // 0 if unknown
  unsigned ReferenceMhz() const { return reference_mhz_; }  // default application clock, else max
  const std::string& why_unavailable() const { return why_; }

 private:
  void* dev_ = nullptr;
  unsigned reference_mhz_ = 0;
  std::string why_;
};

}  // namespace dsx::kernel::cuda
