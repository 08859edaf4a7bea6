// Measured ceilings of a device (`--measure-peaks`): the best device-to-device copy bandwidth
// (driver copy and a 16-byte-vector copy kernel, read + write bytes counted) and the flop rate of
// a large matrix product (our tiled f32 kernel here; the parent adds the matmul task's optimized
// kernel per dtype). Cached per device UUID in <cache_dir>/peaks/<uuid>.json.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::kernel::bench {

// Child side: {"device": N, "arch": "...", "cache_dir": "..."} -> {"status": "ok", "copy_gbps": ..., ...}.
nlohmann::json RunPeaks(const nlohmann::json& request);

// The cached measurement for `uuid`, or null json.
nlohmann::json LoadPeaks(const std::string& cache_dir, const std::string& uuid);
Status SavePeaks(const std::string& cache_dir, const std::string& uuid, const nlohmann::json& peaks);

}  // namespace dsx::kernel::bench
