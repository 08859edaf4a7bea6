#include "kernel/compile/cache.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "core/fs.hpp"
#include "core/hash.hpp"

namespace dsx::kernel {

namespace stdfs = std::filesystem;

std::string DefaultCacheDir() {
  if (const char* d = std::getenv("DSX_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/dsx/kernels";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/dsx/kernels";
  return "/tmp/dsx-cache/kernels";
}

std::string KernelCache::Base(const std::string& key) const { return dir_ + "/" + key.substr(0, 2) + "/" + key; }

std::optional<CacheEntry> KernelCache::Get(const std::string& key) const {
  if (key.size() < 8) return std::nullopt;
  auto meta_text = dsx::fs::ReadFile(Base(key) + ".json");
  if (!meta_text.ok()) return std::nullopt;
  auto meta = nlohmann::json::parse(*meta_text, nullptr, false);
  if (!meta.is_object()) return std::nullopt;
  auto image = dsx::fs::ReadFile(Base(key) + ".img");
  if (!image.ok()) return std::nullopt;
  if (meta.value("image_sha256", "") != dsx::hash::Sha256Hex(*image)) return std::nullopt;
  return CacheEntry{std::move(*image), std::move(meta)};
}

Status KernelCache::Put(const std::string& key, const std::string& image, nlohmann::json meta) const {
  const std::string base = Base(key);
  DSX_RETURN_IF_ERROR(dsx::fs::EnsureDir(stdfs::path(base).parent_path()));
  meta["image_sha256"] = dsx::hash::Sha256Hex(image);
  meta["image_bytes"] = image.size();
  // No fsync: a cache entry lost in a crash is recompiled; a torn one fails the sha256 check.
  DSX_RETURN_IF_ERROR(dsx::fs::AtomicWriteFile(base + ".img", image, false));
  return dsx::fs::AtomicWriteFile(base + ".json", meta.dump(), false);
}

namespace {
bool IsShardDir(const stdfs::directory_entry& e) {
  auto n = e.path().filename().string();
  return e.is_directory() && n.size() == 2 && std::isxdigit(static_cast<unsigned char>(n[0])) &&
         std::isxdigit(static_cast<unsigned char>(n[1]));
}
}  // namespace

Result<CacheStats> KernelCache::Stats() const {
  CacheStats s;
  std::error_code ec;
  if (!stdfs::exists(dir_, ec)) return s;
  for (const auto& shard : stdfs::directory_iterator(dir_, ec)) {
    if (!IsShardDir(shard)) continue;
    std::map<std::string, int> seen;
    for (const auto& f : stdfs::directory_iterator(shard.path(), ec)) {
      if (!f.is_regular_file()) continue;
      auto ext = f.path().extension().string();
      if (ext != ".img" && ext != ".json") continue;
      s.bytes += static_cast<int64_t>(f.file_size(ec));
      seen[f.path().stem().string()] |= ext == ".img" ? 1 : 2;
    }
    for (const auto& [k, v] : seen) (v == 3 ? s.entries : s.partial)++;
  }
  if (ec) return Status::Failed("cannot read cache '" + dir_ + "': " + ec.message());
  return s;
}

Result<int64_t> KernelCache::Clear(bool all) const {
  std::error_code ec;
  int64_t removed = 0;
  if (!stdfs::exists(dir_, ec)) return removed;
  for (const auto& e : stdfs::directory_iterator(dir_, ec)) {
    bool ours = IsShardDir(e) || (all && (e.path().filename() == "peaks" || e.path().filename() == "nvrtc-id.json"));
    if (!ours) continue;
    auto n = stdfs::remove_all(e.path(), ec);
    if (ec) return Status::Failed("cannot clear '" + e.path().string() + "': " + ec.message());
    removed += static_cast<int64_t>(n);
  }
  return removed;
}

}  // namespace dsx::kernel
