// FileStore: the StreamStore over one shared segment log (docs/formats/segment-log.md).
// Internal header: the public entry point is file_store.hpp. Tests include this one to pass a
// fault-injecting FileEnv and small segment sizes.
//
// Threads. Callers' threads encode records and queue them (Create/Append/SoftDelete/Drop) and
// read (Read). A two-stage pipeline commits them (group commit):
// - the writer thread takes the whole queue, writes it with one pwrite and syncs once, then
//   hands the batch to the completer and at once takes the next queue;
// - the completer thread applies each record of a synced batch to the committed registry (the
//   same ApplyRecord that recovery uses, so live state and recovered state cannot drift) and
//   runs the callbacks, in batch order.
// So the next fdatasync runs while the previous batch's callbacks do (file_store_writer.cpp
// says why that is the split).
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/mutex.hpp"
#include "session/store/file/file_env.hpp"
#include "session/store/file/file_store.hpp"
#include "session/store/file/index_files.hpp"
#include "session/store/file/records.hpp"
#include "session/store/file/recovery_report.hpp"
#include "session/store/file/segment_format.hpp"
#include "session/store/file/segment_scan.hpp"

namespace dsx::session::filestore {

struct Tuning {
  FileEnv* env = nullptr;                                  // nullptr: PosixEnv()
  std::uint64_t segment_target_size = kSegmentTargetSize;  // roll threshold [bytes]
  std::uint64_t prefill_chunk = kPrefillChunk;             // zeros written ahead; 0: none [bytes]
  // Read and verify every record of every segment at open instead of trusting the sealed
  // segments' .idx files (fsck and repair; the server trusts them: start-up reads indexes only).
  bool verify_segments = false;
};

// One batch of a stream in the log.
struct Extent {
  std::uint64_t start = 0;  // stream offset of the first byte
  std::uint64_t len = 0;    // data bytes
  std::uint64_t segment = 0;
  std::uint64_t record_pos = 0;  // record header position in the segment [bytes]
  std::uint32_t record_len = 0;  // header + payload [bytes]
  std::uint32_t data_off = 0;    // the batch's data structure within the payload [bytes]
  std::uint32_t msg_count = 0;
  std::uint64_t end() const { return start + len; }
};

struct StreamRec {
  LogId lid = 0;
  bool committed = false;          // its kCreate record has been applied
  StreamState state;               // committed state (applied in log order by the writer)
  std::vector<Extent> extents;     // committed batches, by start offset
  std::uint64_t pending_tail = 0;  // tail including queued appends: next append's start
  bool dropping = false;           // a Drop is queued: later mutations get NotFound
  // Offsets whose data is gone (damaged or missing records): the extents and these tile
  // [base_offset, tail). Persisted in the CHECKPOINT. While state.unavailable is set the stream
  // refuses reads and appends; after a repair accepted the loss, reads step over these ranges.
  std::vector<LostRange> lost;
  bool loss_unbounded = false;  // see CheckpointStream: a repair leaves it unavailable
};

struct Segment {
  std::uint64_t number = 0;
  std::shared_ptr<RandomFile> file;
  std::uint64_t live_extents = 0;  // extents of streams not dropped; 0 and sealed: removable
  // Record bytes holding those extents (a record with several batches counts once per batch:
  // an overestimate, so compaction errs towards copying less). Compaction compares it with size.
  std::uint64_t live_bytes = 0;
  std::uint64_t size = 0;  // file size once sealed [bytes]
  bool sealed = false;
  bool index_pending = false;  // its .idx is still being written (not removable yet)
};

class FileStore final : public StreamStore {
 public:
  FileStore(FileStoreOptions options, Tuning tuning, std::unique_ptr<FileLock> lock);
  ~FileStore() override;
  FileStore(const FileStore&) = delete;
  FileStore& operator=(const FileStore&) = delete;

  const char* Name() const override { return "file"; }
  Result<std::vector<StreamState>> Load() override;
  void Create(CreateOp op, StatusCallback done) override;
  void Append(AppendOp op, AppendCallback done) override;
  Result<ReadChunk> Read(StreamId id, std::uint64_t from, std::uint64_t end_limit,
                         std::size_t max_bytes) const override;
  void SoftDelete(StreamId id, StatusCallback done) override;
  void Drop(StreamId id, StatusCallback done) override;
  void SetSyncObserver(SyncObserver observer) override;
  Status Close() override;

  // What the last Load() found (recovery_report.hpp).
  const RecoveryReport& recovery_report() const { return report_; }
  // Repair (repair.cpp), after Load() and before any mutation: rewrite every segment recovery
  // found corrupt with only its valid records (and its .idx), then accept the losses: damaged
  // streams are served again, their lost ranges kept so no offset is handed out twice.
  Status RewriteCorruptSegments();
  void AcceptLosses();

 private:
  struct Pending {
    RecordType type;
    std::string rec;  // header + payload, ready to write
    std::variant<StatusCallback, AppendCallback> done;
    std::uint64_t pos = 0;  // where it was written (set by the writer)
    std::uint64_t segment = 0;
    Result<AppendResult> result = AppendResult{};  // filled when applied
  };

  // ---- enqueue side (file_store.cpp) ----
  void Submit(Pending p);
  static void Complete(Pending& p, const Status& s);
  void SubmitStreamRecord(StreamId id, RecordType type, StatusCallback done);

  // A batch the writer is done with: written (and under kAlways synced), or failed with `st`.
  struct Written {
    std::vector<Pending> batch;
    Status st;
    std::shared_ptr<RandomFile> file;  // the segment it was written to
  };

  // ---- writer thread (file_store_writer.cpp) ----
  void WriterLoop();
  Status WriteBatch(Written& w);  // write (+ sync under kAlways); sets w.file
  void WaitCompleted();           // until the completer has finished every batch
  Status SyncActive(std::size_t covered);
  Status Roll();  // seal the active segment, start the next, checkpoint
  Status NewActiveSegment(std::uint64_t number);
  // Zeros ahead of `end` in the active segment, so appends up to it overwrite allocated blocks
  // instead of growing the file (file_store_prefill.cpp).
  Status Prefill(RandomFile& file, std::uint64_t end);
  Status WriteCheckpoint(std::uint64_t replay_segment);
  void RemoveDeadSegments();  // unlink sealed segments without live data
  Status Compact();           // copy live batches out of mostly dead segments (file_store_compact.cpp)

  // ---- completer thread (file_store_completer.cpp) ----
  void CompleterLoop();
  void CompleteBatch(Written& w);  // apply, free dead segments, run the callbacks

  // ---- shared by recovery and the writer (file_store_apply.cpp) ----
  // Apply one valid record at (segment, pos) to the registry. "" or why it is invalid.
  std::string ApplyRecord(RecordType type, std::string_view payload, std::uint64_t segment, std::uint64_t pos,
                          std::uint32_t record_len, std::vector<IndexEntry>* index, Result<AppendResult>* result)
      REQUIRES(mu_);
  // Attach a batch to a stream, in start order; a batch already known at that start moved
  // (compaction), so the old copy is released.
  void AddExtent(StreamRec& s, const Extent& e) REQUIRES(mu_);
  void ReleaseExtent(const Extent& e) REQUIRES(mu_);  // its segment loses a live batch

  // ---- recovery (file_store_recovery.cpp) ----
  struct Replay;  // the replay's working state
  // Recover holds mu_ (not contended: no writer yet) while the helpers rebuild the registry.
  Status Recover() EXCLUDES(mu_);
  Status LoadSealed(std::uint64_t number, SegmentReport* rep) REQUIRES(mu_);
  Status ReplaySegment(std::uint64_t number, Replay& r) REQUIRES(mu_);
  void ReplayRecord(const ScannedRecord& rec, std::uint64_t segment, Replay& r) REQUIRES(mu_);
  void StartRangeCheck(std::uint64_t segment, const BadRange& range, std::string_view bytes, Replay& r) REQUIRES(mu_);
  void FinishRangeChecks(Replay& r) REQUIRES(mu_);
  void CheckCoverage(Replay& r) REQUIRES(mu_);
  static void Damage(StreamRec& s, const std::string& reason);

  std::filesystem::path SegmentPath(std::uint64_t n) const;
  std::filesystem::path IndexPath(std::uint64_t n) const;

  const FileStoreOptions options_;
  const Tuning tuning_;
  FileEnv* const env_;
  std::unique_ptr<FileLock> lock_;
  const std::filesystem::path seg_dir_;

  mutable Mutex mu_;
  CondVar work_cv_{&mu_};     // writer waits for work
  CondVar done_cv_{&mu_};     // completer waits for written batches
  CondVar drained_cv_{&mu_};  // writer waits for the completer (backpressure, roll, close)
  std::unordered_map<StreamId, std::shared_ptr<StreamRec>> streams_ GUARDED_BY(mu_);
  std::unordered_map<LogId, std::shared_ptr<StreamRec>> by_lid_ GUARDED_BY(mu_);
  std::map<std::uint64_t, Segment> segments_ GUARDED_BY(mu_);
  std::vector<Pending> queue_ GUARDED_BY(mu_);
  LogId next_lid_ GUARDED_BY(mu_) = 1;
  Status failed_ GUARDED_BY(mu_);  // sticky: first write/sync error
  bool loaded_ GUARDED_BY(mu_) = false;
  bool closing_ GUARDED_BY(mu_) = false;
  std::deque<Written> written_ GUARDED_BY(mu_);  // handed to the completer, in log order
  std::size_t completing_ GUARDED_BY(mu_) = 0;   // batches handed over and not yet completed
  bool completer_stop_ GUARDED_BY(mu_) = false;
  Status completer_failed_ GUARDED_BY(mu_);                   // sticky: first failure found by the completer
  std::vector<std::uint64_t> dead_segments_ GUARDED_BY(mu_);  // found by ApplyRecord(kDrop)
  SyncObserver observer_ GUARDED_BY(mu_);
  RecoveryReport report_;  // written by Load() only

  // Writer-thread state (only the writer thread, or Load before it starts, touches these; the
  // completer reads active_ and appends to active_index_ only while the writer cannot roll, see
  // WaitCompleted).
  std::uint64_t active_ = 0;         // active segment number
  std::uint64_t active_size_ = 0;    // bytes written to it
  std::uint64_t prefilled_end_ = 0;  // zeros written (or records) up to here in it [bytes]
  std::vector<IndexEntry> active_index_;
  bool dirty_ = false;  // written but not synced (kBatch, kNever)
  std::size_t unsynced_appends_ = 0;
  std::chrono::steady_clock::time_point last_sync_{};
  std::string write_buf_;
  std::thread writer_;
  std::thread completer_;
  // The .idx of the segment the last roll sealed, written in the background (file_store_writer.cpp,
  // Roll); the writer thread starts it, the next roll or Close waits for it.
  std::future<void> index_write_;
};

// OpenFileStore with test knobs.
Result<std::unique_ptr<StreamStore>> OpenFileStoreWith(const FileStoreOptions& options, const Tuning& tuning);

}  // namespace dsx::session::filestore
