// The store's half of `dsx session repair` (repair.hpp): rewrite the segments recovery found
// corrupt with only their valid records, then accept the losses. Runs after Load(), before any
// mutation, on the caller's thread.
#include <algorithm>
#include <unordered_map>

#include "core/log.hpp"
#include "session/store/file/coding.hpp"
#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore {

Status FileStore::RewriteCorruptSegments() {
  // Every sealed segment's .idx is rewritten from the registry: an index may list a batch
  // recovery dropped (an overlapping copy), and the next open must not attach it again.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> sealed;  // number, size
  {
    MutexLock lk(&mu_);
    for (const auto& [n, seg] : segments_)
      if (seg.sealed && n < active_) sealed.emplace_back(n, seg.size);
  }
  for (const auto& [n, size] : sealed) {
    bool corrupt = false;
    for (const auto& rep : report_.segments) corrupt = corrupt || (rep.number == n && !rep.bad.empty());
    if (corrupt) continue;  // rewritten below, with its index
    SegmentIndex idx{n, size, {}};
    {
      MutexLock lk(&mu_);
      for (const auto& [lid, s] : by_lid_)
        for (const auto& e : s->extents)
          if (e.segment == n)
            idx.entries.push_back(
                {lid, e.start, e.record_pos, e.record_len, static_cast<std::uint32_t>(e.len), e.msg_count, e.data_off});
    }
    std::sort(idx.entries.begin(), idx.entries.end(),
              [](const IndexEntry& a, const IndexEntry& b) { return a.record_pos < b.record_pos; });
    DSX_RETURN_IF_ERROR(env_->WriteAtomic(IndexPath(n), EncodeIndex(idx), /*sync=*/true));
  }
  for (const auto& rep : report_.segments) {
    if (rep.bad.empty() || rep.removed) continue;
    const std::uint64_t n = rep.number;
    std::shared_ptr<RandomFile> file;
    {
      MutexLock lk(&mu_);
      auto it = segments_.find(n);
      if (it == segments_.end()) continue;  // held nothing live: already removed
      file = it->second.file;
    }
    auto image = ReadWholeFile(*file);
    if (!image) return image.status();
    SegmentScan scan = ScanSegment(*image, n);
    // Every valid record, in order, behind a good header; the bad ranges go.
    std::string out(kSegmentMagic);
    PutU64(out, n);
    std::unordered_map<std::uint64_t, std::uint64_t> moved;  // old record position -> new
    for (const auto& r : scan.records) {
      moved[r.pos] = out.size();
      out.append(*image, r.pos, r.len);
    }
    // The index lists the batches the registry uses (not, say, an orphan's), at their new places.
    SegmentIndex idx{n, out.size(), {}};
    {
      MutexLock lk(&mu_);
      for (const auto& [lid, s] : by_lid_)
        for (const auto& e : s->extents) {
          auto m = moved.find(e.record_pos);
          if (e.segment != n || m == moved.end()) continue;
          idx.entries.push_back(
              {lid, e.start, m->second, e.record_len, static_cast<std::uint32_t>(e.len), e.msg_count, e.data_off});
        }
    }
    std::sort(idx.entries.begin(), idx.entries.end(),
              [](const IndexEntry& a, const IndexEntry& b) { return a.record_pos < b.record_pos; });
    // This open keeps reading the old file through its descriptor; the next one reads the new
    // file through the new index. Each is replaced atomically.
    DSX_RETURN_IF_ERROR(env_->WriteAtomic(SegmentPath(n), out, /*sync=*/true));
    DSX_RETURN_IF_ERROR(env_->WriteAtomic(IndexPath(n), EncodeIndex(idx), /*sync=*/true));
    log::Info("segment rewritten without its corrupt bytes",
              {{"file", SegmentPath(n).filename().string()},
               {"records", std::to_string(scan.records.size())},
               {"dropped_bytes", std::to_string(image->size() - out.size())}});
  }
  return env_->SyncDir(seg_dir_);
}

void FileStore::AcceptLosses() {
  MutexLock lk(&mu_);
  for (const auto& [lid, s] : by_lid_)
    if (!s->loss_unbounded) s->state.unavailable.reset();
}

}  // namespace dsx::session::filestore
