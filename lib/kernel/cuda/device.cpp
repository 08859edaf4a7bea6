#include "kernel/cuda/device.hpp"

#include <cstdio>

namespace dsx::kernel::cuda {

nlohmann::json DeviceToJson(const DeviceInfo& d) {
  return {{"ordinal", d.ordinal},
          {"name", d.name},
          {"uuid", d.uuid},
          {"pci_bus_id", d.pci_bus_id},
          {"compute_capability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor)},
          {"arch", d.Arch()},
          {"sm_count", d.sm_count},
          {"total_mem_bytes", d.total_mem},
          {"l2_bytes", d.l2_bytes},
          {"sm_clock_max_mhz", d.sm_clock_khz / 1000},
          {"mem_clock_mhz", d.mem_clock_khz / 1000},
          {"bus_width_bits", d.bus_width_bits},
          {"driver_version", d.DriverString()},
          {"peak_gbps", d.peak_gbps},
          {"peak_tflops_fp32", d.peak_tflops_fp32},
          {"peak_tflops_tensor16", d.peak_tflops_tensor16}};
}

#if defined(DSX_HAVE_CUDA_H)

namespace {

// Dense tensor-core bf16/f16 flops per SM per clock, by architecture (public whitepapers).
double TensorFlopsPerSmClock(int major, int minor) {
  if (major == 7) return 1024;                // V100 / T4: 64 FMA x 8 tensor cores x 2
  if (major == 8 && minor == 0) return 2048;  // A100
  if (major == 8) return 1024;                // A10/A40/L4/L40 (sm_86, sm_89), dense
  if (major == 9) return 4096;                // H100/H200
  if (major >= 10) return 8192;               // Blackwell (B200) dense bf16
  return 0;
}

int FpCoresPerSm(int major, int minor) {
  if (major == 8 && minor != 0) return 128;  // sm_86/89: 128 FP32 lanes
  if (major == 8) return 64;                 // A100
  if (major == 7) return 64;
  return 128;  // sm_90, sm_100+
}

}  // namespace

Result<DeviceInfo> ProbeDevice(int ordinal) {
  auto api_r = LoadDriver();
  if (!api_r.ok()) return api_r.status();
  const DriverApi& api = **api_r;
  try {
    int count = 0;
    DSX_CU(api.cuDeviceGetCount(&count));
    if (ordinal < 0 || ordinal >= count)
      return Status::NotFound("no CUDA device " + std::to_string(ordinal) + " (" + std::to_string(count) + " present)");
    CUdevice dev;
    DSX_CU(api.cuDeviceGet(&dev, ordinal));
    DeviceInfo d;
    d.ordinal = ordinal;
    char name[256] = {0};
    DSX_CU(api.cuDeviceGetName(name, sizeof name - 1, dev));
    d.name = name;
    char bus[64] = {0};
    if (api.cuDeviceGetPCIBusId(bus, sizeof bus - 1, dev) == CUDA_SUCCESS) d.pci_bus_id = bus;
    CUuuid uuid{};
    if (api.cuDeviceGetUuid(&uuid, dev) == CUDA_SUCCESS) {
      char buf[64];
      const auto* b = reinterpret_cast<const unsigned char*>(uuid.bytes);
      std::snprintf(buf, sizeof buf, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                    b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
      d.uuid = buf;
    }
    auto attr = [&](CUdevice_attribute a) {
      int v = 0;
      if (api.cuDeviceGetAttribute(&v, a, dev) != CUDA_SUCCESS) v = 0;
      return v;
    };
    d.cc_major = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
    d.cc_minor = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    d.sm_count = attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    d.l2_bytes = attr(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
    d.max_persisting_l2 = attr(CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE);
    d.sm_clock_khz = attr(CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
    d.mem_clock_khz = attr(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
    d.bus_width_bits = attr(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
    size_t total = 0;
    if (api.cuDeviceTotalMem(&total, dev) == CUDA_SUCCESS) d.total_mem = static_cast<int64_t>(total);
    api.cuDriverGetVersion(&d.driver_version);
    d.peak_gbps = 2.0 * d.mem_clock_khz * 1e3 * (d.bus_width_bits / 8.0) / 1e9;
    const double clk_hz = d.sm_clock_khz * 1e3;
    d.peak_tflops_fp32 = 2.0 * FpCoresPerSm(d.cc_major, d.cc_minor) * d.sm_count * clk_hz / 1e12;
    d.peak_tflops_tensor16 = TensorFlopsPerSmClock(d.cc_major, d.cc_minor) * d.sm_count * clk_hz / 1e12;
    return d;
  } catch (const CudaError& e) {
    return Status::Unavailable(std::string("cannot query CUDA device: ") + e.what());
  }
}

Context::Context(int ordinal) {
  const DriverApi& api = Api();
  CUdevice dev = 0;
  DSX_CU(api.cuDeviceGet(&dev, ordinal));
  ctx_ = PrimaryCtx(nullptr, PrimaryCtxDeleter{dev});
  DSX_CU(api.cuDevicePrimaryCtxRetain(ctx_.out(), dev));
  DSX_CU(api.cuCtxSetCurrent(ctx_.get()));
  // Persisting L2 carve-out to 0 and any persisting lines back to normal. Devices without the
  // feature (pre-sm_80) report CUDA_ERROR_UNSUPPORTED_LIMIT: nothing to disable there.
  CUresult rc = api.cuCtxSetLimit(CU_LIMIT_PERSISTING_L2_CACHE_SIZE, 0);
  if (rc != CUDA_SUCCESS && rc != CUDA_ERROR_UNSUPPORTED_LIMIT && rc != CUDA_ERROR_NOT_SUPPORTED)
    ThrowCudaError(rc, "cuCtxSetLimit(CU_LIMIT_PERSISTING_L2_CACHE_SIZE, 0)", __FILE__, __LINE__);
  api.cuCtxResetPersistingL2Cache();  // unsupported on old devices; harmless
}

Context::~Context() {
  // Work still queued finishes before the release (ctx_ is released after this body).
  if (ctx_) Api().cuCtxSynchronize();
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  DSX_CU(Api().cuMemAlloc(mem_.out(), bytes));
}

Module::Module(const std::string& image) { DSX_CU(Api().cuModuleLoadData(mod_.out(), image.data())); }

CUfunction Module::Function(const std::string& symbol) const {
  CUfunction f = nullptr;
  CUresult rc = Api().cuModuleGetFunction(&f, mod_.get(), symbol.c_str());
  if (rc != CUDA_SUCCESS) ThrowCudaError(rc, ("cuModuleGetFunction(\"" + symbol + "\")").c_str(), __FILE__, __LINE__);
  return f;
}

#else

Result<DeviceInfo> ProbeDevice(int) {
  return Status::Unavailable("no CUDA driver: dsx was built without the CUDA headers (GPU support compiled out)");
}

#endif

}  // namespace dsx::kernel::cuda
