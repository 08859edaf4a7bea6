// The completer thread: the second stage of the commit pipeline (file_store_impl.hpp). It takes
// the batches the writer has written (and, under kAlways, synced), in log order, applies them to
// the committed registry, frees segments a kDrop killed, and runs the callbacks, while the writer
// already writes and syncs the next batch.
//
// Invariants:
// - batches complete in the order they were written, so callbacks (and registry updates) keep
//   log order; a reader never sees a later record applied without the earlier ones;
// - a batch is answered OK only if the writer's write and sync of it succeeded and nothing
//   before it in log order failed: a batch synced before a later failure is durable and is
//   answered OK; everything after the failure is refused (sticky, failed_);
// - the writer waits for this stage to drain before a roll (WaitCompleted), so every batch
//   here belongs to the active segment and active_index_.
#include "core/handoff_batch.hpp"
#include "core/log.hpp"
#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore {

void FileStore::CompleterLoop() {
  MutexLock lk(&mu_);
  for (;;) {
    while (written_.empty() && !completer_stop_) done_cv_.Wait();
    if (written_.empty()) break;  // stopping, and nothing left
    Written w = std::move(written_.front());
    written_.pop_front();
    lk.Unlock();
    CompleteBatch(w);
    w.batch.clear();  // callbacks' captures are released outside the lock
    lk.Lock();
    --completing_;
    drained_cv_.SignalAll();  // the writer waits for a free slot (backpressure) or for zero (roll)
  }
}

void FileStore::CompleteBatch(Written& w) {
  Status st = w.st;
  bool freed_segments = false;
  {
    MutexLock lk(&mu_);
    // A failure found here (below) is sticky for the batches after it; the writer's own
    // failures reach a batch through w.st.
    if (st.ok() && !completer_failed_.ok()) st = completer_failed_;
    if (st.ok()) {
      for (auto& p : w.batch) {
        std::string_view payload(p.rec.data() + kRecordHeaderSize, p.rec.size() - kRecordHeaderSize);
        std::string why = ApplyRecord(p.type, payload, p.segment, p.pos, static_cast<std::uint32_t>(p.rec.size()),
                                      &active_index_, &p.result);
        // Unreachable: the record was built from the registry a moment ago. Never acknowledge
        // something recovery would reject.
        if (!why.empty()) {
          completer_failed_ = Status::Unavailable("file store failed: registry is inconsistent: " + why);
          if (failed_.ok()) failed_ = completer_failed_;
          st = completer_failed_;
          break;
        }
      }
      freed_segments = st.ok() && !dead_segments_.empty();
    }
  }
  if (freed_segments) {
    // A segment may go only once the kDrop that killed its data is durable: under kAlways the
    // writer synced this batch already; otherwise sync it here. Removed before the callbacks
    // run, so a completed Drop has freed its space.
    Status synced = options_.fsync == FileStoreOptions::FsyncMode::kAlways ? Status{} : w.file->Sync();
    if (synced.ok()) {
      RemoveDeadSegments();
    } else {
      log::Error("file store sync failed; refusing all further writes",
                 {{"file", w.file->name()}, {"error", synced.message()}});
      MutexLock lk(&mu_);
      completer_failed_ = Status::Unavailable("file store failed: " + synced.message());
      if (failed_.ok()) failed_ = completer_failed_;
      st = completer_failed_;
    }
  }
  // The callbacks answer connections owned by the I/O threads: one hand-off per thread for
  // the whole batch instead of one per append (core/handoff_batch.hpp).
  HandoffBatch handoffs;
  for (auto& p : w.batch) Complete(p, st);
}

}  // namespace dsx::session::filestore
