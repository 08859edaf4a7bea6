// Compaction: a sealed segment that is mostly dead (its streams were dropped) but still holds
// some live batches would otherwise stay on disk as long as those live. At each roll, the
// writer copies the live batches of such segments into the active segment as kRelocate
// records, syncs, and re-points the streams' extents; the old segments then hold nothing live
// and are unlinked. Runs on the writer thread, between batches, so nothing else moves meanwhile.
#include <set>

#include "core/log.hpp"
#include "session/store/file/coding.hpp"
#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore {

Status FileStore::Compact() {
  struct Move {
    LogId lid;
    Extent extent;
    std::shared_ptr<RandomFile> file;
  };
  std::vector<Move> moves;
  std::set<std::uint64_t> victims;
  {
    MutexLock lk(&mu_);
    // Mostly dead: under half of the file is live records, and enough dead bytes to be worth a copy. At most about one
    // segment's worth of live data is copied per roll, so a roll's pause stays bounded.
    const std::uint64_t min_dead = std::min<std::uint64_t>(tuning_.segment_target_size / 4, 1u << 20);
    std::uint64_t budget = tuning_.segment_target_size;
    for (const auto& [n, seg] : segments_) {
      if (!seg.sealed || n >= active_ || seg.live_extents == 0) continue;
      if (seg.live_bytes * 2 >= seg.size || seg.size - seg.live_bytes < min_dead) continue;
      if (seg.live_bytes > budget) continue;
      budget -= seg.live_bytes;
      victims.insert(n);
    }
    if (victims.empty()) return {};
    for (const auto& [lid, s] : by_lid_)
      for (const auto& e : s->extents)
        if (victims.count(e.segment)) moves.push_back({lid, e, segments_.at(e.segment).file});
  }

  std::vector<std::string> recs;
  std::string buf;
  std::vector<std::uint32_t> sizes;
  std::uint64_t total = 0, moved_bytes = 0;
  for (const auto& m : moves) {
    buf.resize(m.extent.record_len);
    auto got = m.file->Read(m.extent.record_pos, buf.data(), buf.size());
    std::string_view payload = std::string_view(buf).substr(std::min<std::size_t>(buf.size(), kRecordHeaderSize));
    std::string_view data;
    if (!got || *got != buf.size() ||
        !CheckRecord(std::string_view(buf).substr(0, kRecordHeaderSize), payload).empty() ||
        !DecodeBatchData(payload, m.extent.data_off, &sizes, &data)) {
      // Never copy a record that does not verify; leave the segment as it is (readers of that
      // batch get the error) and say so.
      log::Warn("compaction skipped: a live record does not verify",
                {{"file", m.file->name()}, {"pos", std::to_string(m.extent.record_pos)}});
      return {};
    }
    std::string rec = BeginRecord();
    EncodeRelocate(rec, m.lid, m.extent.start, sizes, data);
    FinishRecord(rec, RecordType::kRelocate);
    total += rec.size();
    moved_bytes += data.size();
    recs.push_back(std::move(rec));
  }

  std::shared_ptr<RandomFile> file;
  {
    MutexLock lk(&mu_);
    file = segments_.at(active_).file;
  }
  std::string out;
  out.reserve(total);
  for (const auto& r : recs) out += r;
  DSX_RETURN_IF_ERROR(file->Write(active_size_, out));
  // Synced in every mode: the old copies are about to be unlinked.
  DSX_RETURN_IF_ERROR(file->Sync());
  {
    MutexLock lk(&mu_);
    std::uint64_t pos = active_size_;
    for (const auto& r : recs) {
      std::string_view payload(r.data() + kRecordHeaderSize, r.size() - kRecordHeaderSize);
      std::string why = ApplyRecord(RecordType::kRelocate, payload, active_, pos, static_cast<std::uint32_t>(r.size()),
                                    &active_index_, nullptr);
      if (!why.empty()) return Status::Failed("compaction: " + why);
      pos += r.size();
    }
  }
  active_size_ += total;
  RemoveDeadSegments();
  log::Info("compacted segments",
            {{"segments", std::to_string(victims.size())}, {"moved_bytes", std::to_string(moved_bytes)}});
  return {};
}

}  // namespace dsx::session::filestore
