// StreamService: the Durable Streams protocol over any StreamStore.
//
// Every protocol decision lives here (status codes included, since they are the protocol's
// answers): create/idempotent create, append with producer fencing and Stream-Seq, closure,
// JSON mode, TTL/Expires-At, forks with sub-offsets, soft delete with cascading GC, reads
// across fork chains, and waking live readers. The HTTP layer (lib/session/server) parses
// headers into the *Args structs below and turns Replies into headers; it never decides.
//
// Concurrency: all methods are thread-safe. Per stream there are two locks: `write_mu`
// serializes validation and submission of mutations (so the store sees them in order, and
// producer/Stream-Seq checks see pending appends), `read_mu` guards the durable view that
// readers see and the live waiters. A mutation is answered, and its data becomes visible to
// readers, only when the store's callback says it is durable. Replies to mutations (the
// `done` callbacks) may run on any thread, including the caller's, and must not block.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "session/model/offset.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session {

struct Stream;  // internal (stream_record.hpp)
struct Waiter;  // internal (stream_record.hpp)
using StreamHandle = std::shared_ptr<Stream>;

struct ServiceOptions {
  std::size_t max_read_bytes = 4u << 20;  // per catch-up response / SSE batch [bytes]
};

// A snapshot of a stream's durable state, for response headers.
struct StreamInfo {
  std::string content_type;
  std::uint64_t tail = 0;  // Stream-Next-Offset when caught up
  bool closed = false;
  std::optional<std::uint64_t> ttl_seconds;
  std::optional<std::string> expires_at;
};

// What every operation answers. `status` is the HTTP status the protocol prescribes.
struct Reply {
  int status = 200;
  std::string error;      // short reason for 4xx/5xx (response body)
  bool has_info = false;  // `info` is valid (the stream was found)
  StreamInfo info;
  bool closed_header = false;                   // send Stream-Closed: true
  std::optional<std::uint64_t> next_offset;     // override Stream-Next-Offset
  std::optional<std::uint64_t> producer_epoch;  // Producer-Epoch
  std::optional<std::uint64_t> producer_seq;    // Producer-Seq
  std::optional<std::uint64_t> expected_seq;    // Producer-Expected-Seq
  std::optional<std::uint64_t> received_seq;    // Producer-Received-Seq
  bool changed_elsewhere = false;               // 409 for AppendArgs::expect_remote_changes
};
using ReplyCallback = std::function<void(Reply)>;

struct CreateArgs {
  std::string path;
  std::optional<std::string> content_type;  // absent: inherited (fork) or octet-stream
  std::optional<std::uint64_t> ttl_seconds;
  std::optional<std::string> expires_at;
  std::optional<std::int64_t> expires_at_ms;
  std::optional<std::string> fork_from;      // source path
  std::optional<std::uint64_t> fork_offset;  // position; absent: source tail
  std::uint64_t fork_sub_offset = 0;
  bool closed = false;
  std::string body;
};

struct ProducerArgs {
  std::string id;
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
};

struct AppendArgs {
  std::string path;
  std::optional<std::string> content_type;
  std::optional<ProducerArgs> producer;
  std::optional<std::string> stream_seq;
  bool close = false;
  std::string body;
  // Shared stores: refuse (409, Reply::changed_elsewhere) if another server changed the stream
  // since the caller read this many remote changes (RemoteChanges). The SessionHub decides on
  // its replay of the log; this tells it the log moved under it.
  std::optional<std::uint64_t> expect_remote_changes;
  // Internal (shared stores): this append was already decided once, then again after a fetch.
  bool view_fetched = false;
  // Answer only if `producer` is a retry of an accepted append (204, as for any duplicate);
  // anything else is refused (409) and nothing is written, whatever the body. The SessionHub
  // asks this when its checks refuse a producer's request that may be a retry.
  bool only_if_duplicate = false;
};

// One read's result: the framed body (raw bytes, or a JSON array in JSON mode).
struct ReadReply {
  Reply reply;          // status 200, or an error (then the rest is empty)
  StreamHandle stream;  // for live modes
  std::string body;
  std::size_t messages = 0;    // messages in body (0 = no data)
  std::uint64_t next = 0;      // Stream-Next-Offset
  bool up_to_date = false;     // reached the durable tail
  bool closed_at_end = false;  // closed and reached the final offset
  bool json = false;           // JSON mode
};

// One stream as ListStreams sees it (live streams only).
struct StreamListing {
  std::string path;
  bool json = false;       // JSON mode (application/json)
  bool closed = false;     // durably closed
  std::uint64_t tail = 0;  // durable tail
};

struct ServiceStats {
  std::atomic<std::uint64_t> appends{0};
  std::atomic<std::uint64_t> append_bytes{0};
  std::atomic<std::uint64_t> creates{0};
  std::atomic<std::uint64_t> deletes{0};
  std::atomic<std::uint64_t> streams{0};      // live streams (not soft-deleted)
  std::atomic<std::int64_t> live_waiters{0};  // registered long-poll/SSE waits
};

class StreamService {
 public:
  // `clock` decides every TTL and Expires-At check and stamps reads (sliding TTLs); it must
  // outlive the service. Tests pass a ManualClock and expire streams by advancing it.
  StreamService(std::unique_ptr<StreamStore> store, ServiceOptions options, Clock& clock = Clock::System());
  ~StreamService();
  StreamService(const StreamService&) = delete;
  StreamService& operator=(const StreamService&) = delete;

  // Load every stream from the store. Call once before serving.
  Status Open();
  // Stop accepting mutations and close the store (completes in-flight appends, syncs).
  Status Close();

  // PUT: 201 created, 200 identical exists, 400/404/409 per protocol.
  void Create(CreateArgs args, ReplyCallback done);
  // POST: 204/200, 400/403/404/409/410 per protocol. Answered once durable.
  void Append(AppendArgs args, ReplyCallback done);
  // DELETE: 204, 404, 410.
  void Delete(const std::string& path, ReplyCallback done);
  // HEAD: 200 with info, 404, 410. Does not renew TTL.
  Reply Head(const std::string& path);

  // GET (catch-up or the first step of a live read). Renews TTL.
  ReadReply Read(const std::string& path, const OffsetParam& offset);
  // Read again on a handle from a previous Read (live modes); renews TTL.
  ReadReply ReadFrom(const StreamHandle& stream, std::uint64_t offset);

  // The durable tail as readers see it now, without reading data (live readers holding a
  // shared page ask this to know whether they are caught up); renews TTL like a read.
  struct TailState {
    bool gone = false;  // deleted or expired: live readers end
    std::uint64_t tail = 0;
    bool closed = false;
  };
  TailState Peek(const StreamHandle& stream);

  // Live readers: call `wake` once, from any thread, when the durable tail passes `offset`,
  // the stream closes, or it is deleted. Returns false (and never calls `wake`) if that is
  // already the case: read again instead. Cancel with CancelWait(token) (idempotent).
  struct WaitToken {
    std::shared_ptr<std::atomic<bool>> armed;
  };
  bool Wait(const StreamHandle& stream, std::uint64_t offset, std::function<void()> wake, WaitToken* token);
  void CancelWait(WaitToken& token);

  // Retention (stream_sweep.cpp): expire every stream whose TTL or Expires-At has passed at
  // `now_ms`, exactly as the lazy path does when a request finds one (a stream that forks
  // still read through is soft-deleted and keeps its data; the rest are dropped, and dropping
  // the last fork of a soft-deleted source drops the source too). Streams whose creation is
  // not yet durable are left for the next sweep. Returns how many streams expired. Cost: one
  // pass over the registry under a shared lock; the exclusive lock only when something expired.
  std::size_t SweepExpired(std::int64_t now_ms);
  // Streams whose path starts with `prefix`, sorted by path: live ones only (not deleted,
  // not expired at `now_ms`, creation durable). Does not renew TTLs. O(streams).
  std::vector<StreamListing> ListStreams(std::string_view prefix, std::int64_t now_ms);

  // ---- Several servers on one shared store (stream_sync.cpp; see StreamStore "Shared stores").
  // Every server keeps its view of the streams in memory; before a request is served the router
  // brings the stream it names up to date (Sync), and changes other servers make arrive through
  // the store's change listener (live readers wake on every server).
  bool Shared() const { return shared_; }
  // Bring `path` up to the store's committed state (created, appended, closed or deleted by
  // another server), then call `then` (on a store thread, or inline for unshared stores and
  // when the store cannot be reached: the request then meets the store's error itself).
  void Sync(const std::string& path, std::function<void()> then);
  // Store outages (shared stores). While the store cannot be reached this server cannot see
  // what other servers write: a live reader at the tail would wait for changes that never come
  // here. So then a read at the tail of an open stream answers 503 with the reason (data this
  // server holds is still served), Wait does not park, and CheckStoreHealth, called about once
  // a second by the server, wakes every parked reader when the store is found unreachable at
  // two checks in a row (a connection re-opened in between is no outage), so
  // long-polls answer 503 and SSE/WebSocket readers get an error event: clients retry, on
  // another server when they have a list. StoreHealth: the state as of the last check (for
  // /health: a load balancer sees what readers see).
  Status StoreHealth() const;
  void CheckStoreHealth();
  // This server has a view of `path` (a stream it created, loaded or fetched).
  bool Holds(const std::string& path);
  // Called (any thread) after a state from another server was installed for `path`.
  void SetRemoteChangeObserver(std::function<void(const std::string& path)> observer);
  // How many states from other servers were installed into this stream (see AppendArgs).
  std::uint64_t RemoteChanges(const StreamHandle& stream) const;

  const ServiceStats& stats() const { return stats_; }
  StreamStore& store() { return *store_; }
  // The service's time: whatever runs beside it (the hub's leases, the retention sweep, live
  // cursors) reads this one, so all of them see the same now.
  Clock& clock() const { return clock_; }

 private:
  StreamHandle Find(const std::string& path, std::int64_t now_ms, Reply* error);
  void ExpireLocked(StreamHandle s);  // map_mu_ held exclusively; by value: it may erase the map entry
  void RemoveLocked(StreamHandle s);  // map_mu_ held exclusively
  // Calls the wake of each waiter still armed (the others were cancelled or already fired).
  void WakeArmed(std::vector<Waiter>& waiters);
  void AfterDurable(const StreamHandle& s, std::function<void()> fn);
  void CompleteAppend(const StreamHandle& s, const Result<AppendResult>& r, bool close,
                      std::optional<ProducerTuple> closer);
  Result<ReadChunk> ReadChain(const Stream& s, std::uint64_t from, std::uint64_t end, std::size_t max_bytes) const;

  // Shared stores (stream_sync.cpp).
  // Sliding TTL: note a read or write (and, on a shared store, tell the others ~once a second).
  void NoteAccess(const StreamHandle& s, std::int64_t now_ms);
  void EnableSharing();
  void OnRemoteChange(const std::string& path, std::uint64_t version);
  void ResyncAll();
  void Install(const std::string& path, const Result<std::optional<StreamState>>& fetched);
  StreamHandle Adopt(StreamState st);                       // map_mu_ held exclusively
  void ForgetLocked(const StreamHandle& s);                 // map_mu_ held exclusively
  bool RefetchBeforeRefusing(const StreamHandle& s, AppendArgs& args, ReplyCallback& done);  // write_mu held
  bool RedecideAfterInFlight(const StreamHandle& s, AppendArgs& args, ReplyCallback& done);  // write_mu held
  void MaybeStartResync(const StreamHandle& s);             // s->write_mu held
  std::uint64_t NextVersion();

  std::unique_ptr<StreamStore> store_;
  bool shared_ = false;
  std::uint64_t node_tag_ = 0;  // high 32 bits of this server's version tokens
  std::atomic<std::uint32_t> version_counter_{0};
  std::mutex observer_mu_;
  std::function<void(const std::string&)> remote_observer_;  // GUARDED_BY(observer_mu_)
  ServiceOptions options_;
  Clock& clock_;
  ServiceStats stats_;
  std::shared_mutex map_mu_;
  std::unordered_map<std::string, StreamHandle> by_path_;  // GUARDED_BY(map_mu_)
  std::atomic<StreamId> next_id_{1};
  std::atomic<bool> closing_{false};
  // Set by CheckStoreHealth; read under a stream's read_mu by Wait, so a reader either parks
  // before the flag is set (and is woken by the check) or sees it.
  std::atomic<bool> store_down_{false};
  std::string store_down_reason_;  // GUARDED_BY(health_mu_)
  mutable std::mutex health_mu_;   // store_down_reason_
  int failed_health_checks_ = 0;   // in a row; CheckStoreHealth runs on one thread
};

}  // namespace dsx::session
