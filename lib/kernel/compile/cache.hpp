// On-disk cache of compiled kernels, shared by parallel dsx processes.
//
// Layout: <dir>/<key[0:2]>/<key>.img (CUBIN or PTX) and <key>.json (metadata: lowered names, log,
// options, image sha256). Both are written with AtomicWriteFile (temp file + rename), image first,
// metadata last: the metadata is the commit record, so a reader never sees a half entry, and two
// processes writing the same key both write complete, identical files (last rename wins).
// An entry whose image does not match the recorded sha256 is a miss (and gets overwritten).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::kernel {

// $DSX_CACHE_DIR, else $XDG_CACHE_HOME/dsx/kernels, else ~/.cache/dsx/kernels.
std::string DefaultCacheDir();

struct CacheEntry {
  std::string image;
  nlohmann::json meta;
};

struct CacheStats {
  int64_t entries = 0;
  int64_t bytes = 0;
  int64_t partial = 0;  // an image without metadata, or the reverse (an interrupted writer)
};

class KernelCache {
 public:
  explicit KernelCache(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  std::optional<CacheEntry> Get(const std::string& key) const;
  Status Put(const std::string& key, const std::string& image, nlohmann::json meta) const;
  Result<CacheStats> Stats() const;
  // Removes compiled entries (the two-hex-digit folders); keeps peaks/ unless `all`.
  Result<int64_t> Clear(bool all) const;

 private:
  std::string Base(const std::string& key) const;
  std::string dir_;
};

}  // namespace dsx::kernel
