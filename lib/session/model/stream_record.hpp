// Internal to the service: one stream's in-memory record. Not part of the service API.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "session/model/stream_service.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session {

struct Waiter {
  std::shared_ptr<std::atomic<bool>> armed;  // cleared by whoever fires or cancels first
  std::uint64_t offset = 0;
  std::function<void()> wake;
};

struct Stream {
  StreamMeta meta;                              // fixed at creation; soft_deleted under map_mu_
  std::string ct_normalized;                    // NormalizeContentType(meta.content_type)
  bool json = false;                            // JSON mode
  std::shared_ptr<Stream> source;               // fork source (kept alive for reads through it)
  std::string fork_from_path;                   // as given at creation (idempotency check)
  int fork_refs = 0;                            // live forks referring to this stream; under map_mu_
  std::atomic<std::int64_t> last_access_ms{0};  // sliding TTL clock
  std::atomic<std::int64_t> touch_sent_ms{0};    // shared stores: last StreamStore::Touch sent
  // Non-empty: the store cannot serve this stream (StreamState::unavailable, damaged records
  // on disk); every read and write is answered 503 with this reason. Fixed at Open.
  std::string unavailable;

  // Pending view: everything submitted to the store. Under write_mu.
  std::mutex write_mu;
  std::uint64_t pending_tail = 0;
  bool pending_closed = false;
  std::optional<std::string> pending_seq;
  std::map<std::string, ProducerState> producers;
  std::optional<ProducerTuple> pending_closed_by;
  std::uint64_t submitted = 0;      // mutations submitted
  std::atomic<bool> failed{false};  // the store failed a mutation: refuse more (sticky)
  // Shared stores only (stream_sync.cpp), under write_mu:
  std::uint64_t pending_version = 0;  // token of the last submitted mutation (the next one expects it)
  bool resyncing = false;             // a mutation lost a race: appends park until the store's state is in
  bool resync_fetching = false;       // the Fetch for that is under way
  std::vector<std::pair<AppendArgs, ReplyCallback>> parked;  // appends to decide again, in order
  std::atomic<std::uint64_t> remote_changes{0};  // states installed from other servers (SessionHub checks it)
  std::atomic<bool> remote_dirty{false};         // changed elsewhere, not fetched (no live reader here then)

  // Durable view: what readers see. Under read_mu.
  mutable std::mutex read_mu;
  std::uint64_t tail = 0;
  bool closed = false;
  bool ready = false;           // creation is durable
  bool gone = false;            // dropped (deleted/expired): live readers end
  std::uint64_t completed = 0;  // mutations completed
  std::uint64_t version = 0;    // shared stores: token of the last durable mutation
  std::vector<Waiter> waiters;
  std::size_t live_waiters_at_purge = 0;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> barriers;  // run when completed >= n

  bool Expired(std::int64_t now_ms) const {
    if (meta.expires_at_ms && *meta.expires_at_ms <= now_ms) return true;
    if (meta.ttl_seconds) {
      const std::int64_t ttl_ms = static_cast<std::int64_t>(*meta.ttl_seconds) * 1000;
      if (last_access_ms.load(std::memory_order_relaxed) + ttl_ms <= now_ms) return true;
    }
    return false;
  }
};

// A durable stream as the store gave it (Load at start, Fetch on a shared store): its record,
// caught up (pending view = durable view) and ready. Fork links are the caller's.
StreamHandle StreamFromState(StreamState st, std::int64_t last_access_ms);

}  // namespace dsx::session
