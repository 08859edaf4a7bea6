// The writer thread: group commit, segment rolls, checkpoints and segment removal.
//
// Invariants (docs/formats/segment-log.md):
// - records reach the active segment in queue order, each at the position the writer assigns;
// - under kAlways a batch goes to the completer only after an fdatasync that began after its
//   write returned OK, so a callback never runs before the sync that covers its record;
// - a failed write or sync is sticky (failed_): nothing after it is acknowledged;
// - every CHECKPOINT names as replay segment the active segment at the time it is written,
//   so every sealed segment is below it and may be unlinked once its data is dead.
//
// Why a pipeline (writer | completer) and not one thread: measured on the 2-core VM the
// serial loop (write, fdatasync, apply + callbacks, repeat) spent about half of each cycle at
// 256 connections on the callbacks (≈10 µs per append: registry update, reply, waking the
// connection's thread), during which no sync ran. Now the writer starts the next write +
// fdatasync as soon as the previous sync returns, and the callbacks run meanwhile on the
// completer. One sync at a time is kept: a second fdatasync overlapping the first raised
// syncs/s only about 1.4x in a throwaway test while making each one slower, and the batch
// already grows to everything queued during the running sync.
#include <chrono>
#include <future>

#include "core/log.hpp"
#include "session/store/file/coding.hpp"
#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore {

using Mode = FileStoreOptions::FsyncMode;

// Batches written and not yet completed before the writer waits: one being completed, one
// ready behind it, while the writer syncs a third.
constexpr std::size_t kMaxUncompleted = 2;

// A roll taking longer than this is logged [ms].
constexpr long kSlowRollMs = 20;

void FileStore::WriterLoop() {
  MutexLock lk(&mu_);
  const auto interval = std::chrono::milliseconds(options_.batch_interval_ms);
  for (;;) {
    if (queue_.empty()) {
      if (closing_) break;
      if (dirty_ && options_.fsync == Mode::kBatch) {
        // kBatch: an unsynced write never waits longer than the interval for its sync.
        if (!work_cv_.WaitUntil(last_sync_ + interval) && queue_.empty()) {
          lk.Unlock();
          Status st = SyncActive(unsynced_appends_);
          lk.Lock();
          if (!st.ok() && failed_.ok()) failed_ = st;
        }
        continue;
      }
      work_cv_.Wait();
      continue;
    }
    // Backpressure: while the completer still has kMaxUncompleted batches, more writes would
    // only mean more, smaller syncs; waiting lets the queue grow into one bigger batch instead
    // (and bounds what is held for the completer).
    if (completing_ >= kMaxUncompleted) {
      while (completing_ >= kMaxUncompleted) drained_cv_.Wait();
      continue;
    }
    Written w;
    w.batch.swap(queue_);
    lk.Unlock();
    w.st = WriteBatch(w);
    lk.Lock();
    // Sticky before the hand-over: the next batch (taken below) and every later Append see it.
    if (!w.st.ok() && failed_.ok()) failed_ = w.st;
    ++completing_;
    written_.push_back(std::move(w));
    done_cv_.Signal();
  }
  // Close: everything queued is written; once it is completed, make it durable and leave a
  // checkpoint so the next open scans nothing.
  lk.Unlock();
  WaitCompleted();
  lk.Lock();
  if (!failed_.ok()) return;
  lk.Unlock();
  Status st = Roll();
  lk.Lock();
  if (!st.ok()) failed_ = st;
}

void FileStore::WaitCompleted() {
  MutexLock lk(&mu_);
  while (completing_ != 0) drained_cv_.Wait();
}

Status FileStore::SyncActive(std::size_t covered) {
  std::shared_ptr<RandomFile> file;
  SyncObserver observer;
  {
    MutexLock lk(&mu_);
    file = segments_.at(active_).file;
    observer = observer_;
  }
  auto t0 = std::chrono::steady_clock::now();
  Status st = file->Sync();
  auto t1 = std::chrono::steady_clock::now();
  last_sync_ = t1;
  if (!st.ok()) {
    log::Error("file store sync failed; refusing all further writes",
               {{"file", file->name()}, {"error", st.message()}});
    return Status::Unavailable(st.message());
  }
  dirty_ = false;
  unsynced_appends_ = 0;
  if (observer) observer(t1 - t0, covered);
  return {};
}

// Writes the batch at the end of the active segment (rolling first if it would overflow) and,
// under kAlways, syncs it. Every record's position is assigned here; the registry is not
// touched (the completer applies the batch). The error, if any, is what every record of the
// batch is answered with.
Status FileStore::WriteBatch(Written& w) {
  std::vector<Pending>& batch = w.batch;
  {
    MutexLock lk(&mu_);
    if (!failed_.ok()) return Status::Unavailable("file store failed: " + failed_.message());
  }
  Status st;
  std::uint64_t total = 0;
  for (const auto& p : batch) total += p.rec.size();
  if (active_size_ > kSegmentHeaderSize && active_size_ + total > tuning_.segment_target_size) {
    // The index, checkpoint and compaction of a roll read the committed registry and
    // active_index_, which the completer updates: it must have caught up with the writer.
    WaitCompleted();
    st = Roll();
    if (!st.ok()) return st;
  }

  std::shared_ptr<RandomFile> file;
  {
    MutexLock lk(&mu_);
    file = segments_.at(active_).file;
  }
  w.file = file;
  // Zeros ahead first (file_store_prefill.cpp): the sync below covers them too.
  st = Prefill(*file, active_size_ + total);
  if (!st.ok()) {
    log::Error("file store write failed; refusing all further writes",
               {{"file", file->name()}, {"error", st.message()}});
    return Status::Unavailable(st.message());
  }
  std::uint64_t pos = active_size_;
  for (auto& p : batch) {
    p.pos = pos;
    p.segment = active_;
    pos += p.rec.size();
  }
  if (batch.size() == 1) {
    st = file->Write(active_size_, batch.front().rec);
  } else {
    write_buf_.clear();
    write_buf_.reserve(total);
    for (const auto& p : batch) write_buf_ += p.rec;
    st = file->Write(active_size_, write_buf_);
    if (write_buf_.capacity() > (8u << 20)) std::string().swap(write_buf_);  // do not pin big buffers
  }
  if (!st.ok()) {
    log::Error("file store write failed; refusing all further writes",
               {{"file", file->name()}, {"error", st.message()}});
    return Status::Unavailable(st.message());
  }
  active_size_ += total;
  if (options_.fsync == Mode::kAlways) return SyncActive(batch.size());
  dirty_ = true;
  unsynced_appends_ += batch.size();
  if (options_.fsync == Mode::kBatch &&
      std::chrono::steady_clock::now() - last_sync_ >= std::chrono::milliseconds(options_.batch_interval_ms))
    return SyncActive(unsynced_appends_);
  return {};
}

Status FileStore::NewActiveSegment(std::uint64_t number) {
  auto file = env_->Open(SegmentPath(number), /*create=*/true);
  if (!file) return file.status();
  std::string header(kSegmentMagic);
  PutU64(header, number);
  DSX_RETURN_IF_ERROR((*file)->Truncate(0));
  DSX_RETURN_IF_ERROR((*file)->Write(0, header));
  DSX_RETURN_IF_ERROR((*file)->Sync());
  DSX_RETURN_IF_ERROR(env_->SyncDir(seg_dir_));
  {
    MutexLock lk(&mu_);
    segments_[number] = Segment{number, *file, 0, 0, 0, false};
  }
  active_ = number;
  active_size_ = kSegmentHeaderSize;
  // Zeros come with the first batch, not here: the segment a clean close starts stays empty.
  prefilled_end_ = kSegmentHeaderSize;
  active_index_.clear();
  dirty_ = false;
  unsynced_appends_ = 0;
  last_sync_ = std::chrono::steady_clock::now();
  return {};
}

Status FileStore::Roll() {
  // Appends wait while a roll runs (about seven syncs): a slow one shows in append latency, so
  // it is logged with the time of each step.
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto lap = [t = t0]() mutable {
    const auto now = Clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count();
    t = now;
    return std::to_string(ms);
  };
  std::shared_ptr<RandomFile> file;
  {
    MutexLock lk(&mu_);
    file = segments_.at(active_).file;
  }
  // Sealing syncs in every mode (once per segment): the checkpoint written below claims that
  // everything before the new segment is on disk. The prefilled zeros go first, so a sealed
  // segment ends exactly at its last record (its .idx records that size).
  Status st = prefilled_end_ > active_size_ ? file->Truncate(active_size_) : Status{};
  if (st.ok()) st = file->Sync();
  const std::string seal_ms = lap();
  if (st.ok()) {
    MutexLock lk(&mu_);
    Segment& seg = segments_.at(active_);
    seg.sealed = true;
    seg.size = active_size_;
    seg.index_pending = true;
  }
  if (st.ok()) {
    // The .idx is written in the background: for a full segment of small appends it is ≈8 MB,
    // and encoding + writing + syncing it took 25-53 ms of the 28-57 ms a roll stalled appends
    // (measured under 256 connections). Nothing waits for it: it only spares the next start-up
    // a scan, and a missing or bad .idx is rebuilt from the segment (LoadSealed). The segment
    // is not unlinked before its .idx is written (index_pending), so no .idx outlives its
    // segment. At most one is in flight. The index is moved, not copied; NewActiveSegment
    // clears it next.
    if (index_write_.valid()) index_write_.wait();
    index_write_ =
        std::async(std::launch::async, [this, idx = SegmentIndex{active_, active_size_, std::move(active_index_)}] {
          Status written = env_->WriteAtomic(IndexPath(idx.segment), EncodeIndex(idx), /*sync=*/true);
          if (!written.ok())
            log::Warn("cannot write segment index; the next start scans the segment instead",
                      {{"segment", std::to_string(idx.segment)}, {"error", written.message()}});
          MutexLock lk(&mu_);
          if (auto it = segments_.find(idx.segment); it != segments_.end()) it->second.index_pending = false;
        });
    active_index_.clear();
  }
  const std::string index_ms = lap();
  if (st.ok()) st = NewActiveSegment(active_ + 1);
  const std::string create_ms = lap();
  if (st.ok()) st = WriteCheckpoint(active_);
  const std::string checkpoint_ms = lap();
  if (!st.ok()) {
    log::Error("file store cannot roll to a new segment; refusing all further writes", {{"error", st.message()}});
    return Status::Unavailable(st.message());
  }
  RemoveDeadSegments();
  st = Compact();
  if (!st.ok()) {
    log::Error("file store compaction failed; refusing all further writes", {{"error", st.message()}});
    return Status::Unavailable(st.message());
  }
  const std::string compact_ms = lap();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  if (ms >= kSlowRollMs)
    log::Info("slow segment roll", {{"segment", std::to_string(active_)},
                                    {"ms", std::to_string(ms)},
                                    {"seal_ms", seal_ms},
                                    {"index_ms", index_ms},
                                    {"create_ms", create_ms},
                                    {"checkpoint_ms", checkpoint_ms},
                                    {"compact_ms", compact_ms}});
  return {};
}

Status FileStore::WriteCheckpoint(std::uint64_t replay_segment) {
  Checkpoint cp;
  {
    MutexLock lk(&mu_);
    cp.replay_segment = replay_segment;
    cp.next_lid = next_lid_;
    cp.streams.reserve(by_lid_.size());
    for (const auto& [lid, s] : by_lid_)
      if (s->committed) cp.streams.push_back({lid, s->state, s->lost, s->loss_unbounded});
  }
  return env_->WriteAtomic(options_.dir / "CHECKPOINT", EncodeCheckpoint(cp), /*sync=*/true);
}

void FileStore::RemoveDeadSegments() {
  std::vector<std::uint64_t> dead;
  {
    MutexLock lk(&mu_);
    for (auto it = segments_.begin(); it != segments_.end();) {
      if (it->second.sealed && it->second.live_extents == 0 && it->first < active_ && !it->second.index_pending) {
        dead.push_back(it->first);
        it = segments_.erase(it);  // readers holding the file keep it open until they finish
      } else {
        ++it;
      }
    }
    dead_segments_.clear();
  }
  for (auto n : dead) {
    Status a = env_->Remove(SegmentPath(n));
    Status b = env_->Remove(IndexPath(n));
    if (!a.ok() || !b.ok()) {
      log::Warn("cannot remove dead segment", {{"segment", std::to_string(n)}, {"error", (a.ok() ? b : a).message()}});
    } else {
      log::Debug("removed segment without live data", {{"segment", std::to_string(n)}});
    }
  }
}

}  // namespace dsx::session::filestore
