// Internal to the Redis store: this server's local copy of one stream's data (what Read
// serves, without touching Redis), and the queue that completes the stream's mutations in
// submission order.
//
// The copy only grows by whole messages at its tail, from three sources that may overlap: the
// store's own acknowledged mutations, Fetch and Load. Apply is idempotent by offset (a message
// that ends at or before the local tail is skipped), so a Fetch that already brought a message
// in makes the later own-append completion a no-op and the other way round.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/mutex.hpp"
#include "core/status.hpp"
#include "session/store/redis/redis_codec.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session::redisstore {

class LocalLog {
 public:
  LocalLog(StreamId id, std::string path, std::uint64_t base, bool committed)
      : id_(id), path_(std::move(path)), base_(base), committed_(committed) {}

  StreamId id() const { return id_; }
  const std::string& path() const { return path_; }

  // ---- data --------------------------------------------------------------------------------
  enum class Applied {
    kOk,        // every message is in the copy now (appended or already there)
    kGap,       // a message starts after the local tail: the ones before it are missing
    kMismatch,  // a message overlaps the tail (the copy disagrees with Redis)
  };
  // Messages in offset order; stops at the first one it cannot place.
  Applied Apply(const std::vector<Entry>& entries);
  // A batch known to start at `start` (this server's own acknowledged append).
  Applied ApplyBatch(std::uint64_t start, const Batch& batch);
  // Forget the data (the copy disagreed with Redis): the next Fetch refills it from `base`.
  void Reset();
  std::uint64_t Tail() const;
  void SetCommitted();
  bool Committed() const;
  // Read as StreamStore::Read.
  ReadChunk Read(std::uint64_t from, std::uint64_t end_limit, std::size_t max_bytes) const;

  // ---- ordered completion ------------------------------------------------------------------
  struct Ticket;
  // Reserve the next completion slot (at submission).
  std::shared_ptr<Ticket> Enqueue();
  // The mutation behind `ticket` finished: `fn` runs once every earlier ticket's has run, on
  // whichever thread completes the last of them (never while holding a lock).
  void Complete(const std::shared_ptr<Ticket>& ticket, std::function<void()> fn);
  // Mutations submitted and not yet completed.
  bool Busy() const;

 private:
  Applied AppendMessage(std::uint64_t end, std::string_view bytes, bool first) REQUIRES(mu_);
  std::uint64_t TailLocked() const REQUIRES(mu_) { return spans_.empty() ? base_ : spans_.back().end; }

  const StreamId id_;
  const std::string path_;

  mutable Mutex mu_;
  const std::uint64_t base_;
  std::string data_ GUARDED_BY(mu_);                // from base_
  std::vector<MessageSpan> spans_ GUARDED_BY(mu_);  // absolute end offsets
  bool committed_ GUARDED_BY(mu_);                  // created in Redis (not a pending Create)

  mutable Mutex seq_mu_;
  std::deque<std::shared_ptr<Ticket>> pending_ GUARDED_BY(seq_mu_);
  bool delivering_ GUARDED_BY(seq_mu_) = false;
};

struct LocalLog::Ticket {
  bool ready = false;
  std::function<void()> fn;
};

}  // namespace dsx::session::redisstore
