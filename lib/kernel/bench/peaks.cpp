#include "kernel/bench/peaks.hpp"

#include <algorithm>
#include <vector>

#include "core/fs.hpp"
#include "kernel/bench/summary.hpp"
#include "kernel/cuda/device.hpp"
#include "kernel/cuda/handles.hpp"

#if defined(DSX_HAVE_CUDA_H)
#include "kernel/bench/harness_kernels.hpp"
#endif

namespace dsx::kernel::bench {

using nlohmann::json;

json LoadPeaks(const std::string& cache_dir, const std::string& uuid) {
  if (uuid.empty()) return nullptr;
  auto text = dsx::fs::ReadFile(cache_dir + "/peaks/" + uuid + ".json");
  if (!text.ok()) return nullptr;
  auto j = json::parse(*text, nullptr, false);
  return j.is_object() ? j : json(nullptr);
}

Status SavePeaks(const std::string& cache_dir, const std::string& uuid, const json& peaks) {
  if (uuid.empty()) return Status::Failed("device has no UUID; peaks not cached");
  DSX_RETURN_IF_ERROR(dsx::fs::EnsureDir(cache_dir + "/peaks"));
  return dsx::fs::AtomicWriteFile(cache_dir + "/peaks/" + uuid + ".json", peaks.dump(1));
}

#if !defined(DSX_HAVE_CUDA_H)

json RunPeaks(const json&) {
  return {{"status", "unavailable"}, {"reasons", {"no CUDA driver: dsx was built without the CUDA headers"}}};
}

#else

namespace {

using cuda::Api;

// Median of `reps` timed calls of `fn` [ms]; device-wide sync before the stop event, like bench.
template <typename Fn>
double TimeMedianMs(CUstream s, CUevent a, CUevent b, int reps, Fn&& fn) {
  fn();
  fn();
  DSX_CU(Api().cuCtxSynchronize());
  std::vector<double> v;
  for (int i = 0; i < reps; ++i) {
    DSX_CU(Api().cuEventRecord(a, s));
    fn();
    DSX_CU(Api().cuCtxSynchronize());
    DSX_CU(Api().cuEventRecord(b, s));
    DSX_CU(Api().cuEventSynchronize(b));
    float ms = 0;
    DSX_CU(Api().cuEventElapsedTime(&ms, a, b));
    v.push_back(ms);
  }
  return Percentile(v, 50);
}

}  // namespace

json RunPeaks(const json& req) {
  try {
    const int ordinal = req.value("device", 0);
    auto dev = cuda::ProbeDevice(ordinal);
    if (!dev.ok()) return {{"status", "unavailable"}, {"reasons", {dev.status().message()}}};
    const std::string arch = req.value("arch", std::string()).empty() ? dev->Arch() : req.value("arch", std::string());
    cuda::Context ctx(ordinal);
    auto hk = HarnessKernels::Create(arch, req.value("cache_dir", std::string()));
    if (!hk.ok()) return {{"status", "failed"}, {"reasons", {hk.status().message()}}};
    const cuda::Stream s_owner = cuda::CreateStream();
    const cuda::Event a_owner = cuda::CreateEvent(), b_owner = cuda::CreateEvent();
    CUstream s = s_owner.get();
    CUevent a = a_owner.get(), b = b_owner.get();
    size_t free_b = 0, total_b = 0;
    DSX_CU(Api().cuMemGetInfo(&free_b, &total_b));
    // 1 GiB each way (or a quarter of free memory): >> any L2, long enough to time precisely.
    size_t bytes = std::min<size_t>(size_t{1} << 30, free_b / 4) & ~size_t{255};
    json out{{"status", "ok"}, {"device", cuda::DeviceToJson(*dev)}, {"copy_bytes", bytes}};
    {
      cuda::DeviceBuffer src(bytes), dst(bytes);
      DSX_CU(Api().cuMemsetD8(src.ptr(), 0x3c, bytes));
      const double t_drv =
          TimeMedianMs(s, a, b, 20, [&] { DSX_CU(Api().cuMemcpyDtoDAsync(dst.ptr(), src.ptr(), bytes, s)); });
      const double t_ker =
          TimeMedianMs(s, a, b, 20, [&] { (*hk)->Copy16(s, dst.ptr(), src.ptr(), static_cast<int64_t>(bytes)); });
      const double g_drv = 2.0 * bytes / (t_drv * 1e-3) / 1e9, g_ker = 2.0 * bytes / (t_ker * 1e-3) / 1e9;
      out["copy_gbps_memcpy"] = g_drv;
      out["copy_gbps_kernel"] = g_ker;
      out["copy_gbps"] = std::max(g_drv, g_ker);
    }
    {
      const int n = 4096;
      cuda::DeviceBuffer A(size_t{4} * n * n), B(size_t{4} * n * n), C(size_t{4} * n * n);
      (*hk)->Fill(s, DType::kF32, A.ptr(), int64_t{n} * n, 1, 1);
      (*hk)->Fill(s, DType::kF32, B.ptr(), int64_t{n} * n, 2, 1);
      const double t = TimeMedianMs(s, a, b, 5, [&] { (*hk)->Sgemm(s, A.ptr(), B.ptr(), C.ptr(), n, n, n); });
      out["sgemm_tiled_tflops"] = 2.0 * n * n * static_cast<double>(n) / (t * 1e-3) / 1e12;
    }
    return out;
  } catch (const cuda::CudaError& e) {
    return {{"status", "crashed"}, {"reasons", {std::string("CUDA error: ") + e.what()}}};
  } catch (const std::exception& e) {
    return {{"status", "failed"}, {"reasons", {std::string("internal error: ") + e.what()}}};
  }
}

#endif

}  // namespace dsx::kernel::bench
