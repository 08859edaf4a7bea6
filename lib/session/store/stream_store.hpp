// StreamStore: the persistence contract behind the Durable Streams service.
//
// The protocol layer (lib/session/model/stream_service.hpp) owns every protocol decision:
// validation, producer fencing, Stream-Seq, closure, TTL/expiry, forks, soft delete, JSON
// framing. A store only persists what the service has already decided, and reports when it
// is durable. Implementations: memory (store/memory_store.hpp) and the embedded segment-log
// file store (store/file/, `dsx::session::OpenFileStore`).
//
// Model
// -----
// A stream has a numeric id (assigned by the service, never reused within one store), a
// metadata record (StreamMeta) and a log of messages. Offsets are byte positions in the
// stream's offset space: a message of N payload bytes that starts at offset S ends at S+N.
// A fork's own log starts at `meta.base_offset` (the fork point in its source's offset
// space); a non-fork starts at 0. Messages are grouped into appends ("batches"): one POST or
// one initial PUT body is one batch. Binary streams have one message per batch; JSON streams
// may have several (an array body is flattened into one message per element). The batch
// boundary matters for fork sub-offsets, so stores must remember it (MessageSpan::first).
//
// Threading and ordering
// ----------------------
// - Every method may be called from any thread, concurrently.
// - Mutations (Create, Append, SoftDelete, Drop) on the SAME stream are applied, made durable
//   and completed (callback invoked) in the order they were submitted. The service submits
//   them for one stream under that stream's lock, so submission order is well defined.
// - Completion callbacks may run on any thread, INCLUDING synchronously inside the call that
//   submitted them (the memory store does that). Callbacks must be short and must not block;
//   they must not call back into the store for the same stream synchronously.
// - A mutation's callback is invoked exactly once, with OK only after the change is durable
//   under the store's fsync policy ("acknowledged means durable"). After a failed sync a
//   store must fail every later mutation too (sticky error), because its state on disk is
//   unknown.
// - Read is synchronous and may be called while appends are in flight; callers bound it by
//   `end` (the durable tail they know) so undurable bytes are never served.
//
// Changing this header: additive changes only (new optional fields, new virtuals with a
// default), stated in the commit message; the file store is built against it in parallel.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::session {

using StreamId = std::uint64_t;

// One append's payload: message bytes concatenated, with each message's size.
// Invariant: sum(sizes) == payload.size(); every size > 0 except that a batch may be empty
// (payload "" and sizes {}) for a close-only append.
struct Batch {
  std::string payload;
  std::vector<std::uint32_t> sizes;  // bytes of each message, in order

  bool empty() const { return sizes.empty(); }
};

// Per-producer fencing state (idempotent producers, Kafka style).
struct ProducerState {
  std::uint64_t epoch = 0;
  std::uint64_t last_seq = 0;  // highest accepted Producer-Seq in `epoch`
  bool operator==(const ProducerState&) const = default;
};

// The (id, epoch, seq) of one producer request; persisted with the append it belongs to.
struct ProducerTuple {
  std::string id;
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
  bool operator==(const ProducerTuple&) const = default;
};

// Stream configuration fixed at creation (plus the soft-delete flag).
struct StreamMeta {
  StreamId id = 0;
  std::string path;                           // full URL path, e.g. "/v1/stream/chat/42"
  std::string content_type;                   // as given at creation, e.g. "application/json"
  std::optional<std::uint64_t> ttl_seconds;   // Stream-TTL (sliding), if set
  std::optional<std::string> expires_at;      // Stream-Expires-At as given (RFC 3339), if set
  std::optional<std::int64_t> expires_at_ms;  // the same, parsed: Unix epoch milliseconds
  std::optional<StreamId> fork_source;        // set for forks: the source stream's id
  std::uint64_t base_offset = 0;              // first offset of this stream's own log (fork point)
  std::uint64_t fork_sub_offset = 0;          // Stream-Fork-Sub-Offset given at creation (0 = none)
  bool fork_offset_given = false;             // Stream-Fork-Offset was sent (idempotency check)
  std::int64_t created_ms = 0;                // Unix epoch milliseconds
  bool soft_deleted = false;                  // deleted while forks still refer to it (410)
};

// Everything a store must give back at open (Load) for one stream: its metadata and the
// state that was committed atomically with its appends.
struct StreamState {
  StreamMeta meta;
  std::uint64_t tail = 0;  // end offset of the log (== base_offset if empty)
  bool closed = false;
  std::optional<std::string> stream_seq;           // last accepted Stream-Seq
  std::map<std::string, ProducerState> producers;  // by Producer-Id
  std::optional<ProducerTuple> closed_by;          // the producer request that closed the stream
  std::uint64_t message_count = 0;                 // messages in the stream's own log (for metrics)
  // Set when the store cannot serve the stream: some of its acknowledged records are damaged
  // or missing on disk (docs/formats/segment-log.md, "Torn tails and corruption"). The reason;
  // the service answers 503 with it for every read and write until the stream is repaired
  // (`dsx session repair`) or deleted. Other streams are unaffected.
  std::optional<std::string> unavailable;
  // Shared stores only (see "Shared stores" below): the token of the last mutation applied,
  // and the source's path for a fork (so a server that never saw the source can find it).
  std::uint64_t version = 0;
  std::optional<std::string> fork_source_path;
  std::int64_t last_access_ms = 0;  // latest read or write any server recorded (Touch); 0: none
};

// Create a stream. `batches` are its initial appends (a fork's sub-offset prefix, then the
// PUT body), each committed as its own batch. `closed`: the stream is created closed.
struct CreateOp {
  StreamMeta meta;
  std::vector<Batch> batches;
  bool closed = false;
  // Shared stores: the created stream's version token, and the fork source's path.
  std::uint64_t new_version = 0;
  std::optional<std::string> fork_source_path;
};

// Append one batch atomically with the state update that goes with it: either all of it is
// durable (data, producer state, stream_seq, closed flag) or none of it is.
struct AppendOp {
  StreamId id = 0;
  Batch batch;                            // may be empty for a close-only request
  std::optional<ProducerTuple> producer;  // sets producers[id] = {epoch, seq}
  std::optional<std::string> stream_seq;  // sets the stream's last Stream-Seq
  bool close = false;                     // closes the stream (sets closed_by = producer)
  // Shared stores: apply only if the stream's version is `expect_version`, then set it to
  // `new_version`; otherwise apply nothing and fail with Conflict. Unused (0) elsewhere.
  std::uint64_t expect_version = 0;
  std::uint64_t new_version = 0;
};

struct AppendResult {
  std::uint64_t tail = 0;  // end offset of the log after this append
};

// One message in a read result.
struct MessageSpan {
  std::uint64_t end = 0;  // absolute end offset (exclusive) of the message
  bool first = false;     // true if this message starts an append batch
};

// A contiguous run of messages: data[i] covers offsets [begin .. messages.back().end).
struct ReadChunk {
  std::uint64_t begin = 0;  // offset of data[0] (start of the first message)
  std::string data;         // the messages' bytes, concatenated
  std::vector<MessageSpan> messages;
};

using StatusCallback = std::function<void(Status)>;
using AppendCallback = std::function<void(Result<AppendResult>)>;
// Called by a store after each sync (fdatasync or equivalent): how long it took and how many
// appends it covered. For the fsync latency histogram in /metrics. May run on any thread.
using SyncObserver = std::function<void(std::chrono::nanoseconds latency, std::size_t appends)>;

class StreamStore {
 public:
  virtual ~StreamStore() = default;

  // Short name for logs and /metrics: "memory", "file".
  virtual const char* Name() const = 0;

  // Called once, before any other method: every stream the store holds (including
  // soft-deleted ones) with its committed state. Recovery (torn tails...) happens here.
  virtual Result<std::vector<StreamState>> Load() = 0;

  // Persist a new stream and its initial batches. `op.meta.id` is unused by any other
  // stream of this store (the service assigns ids above every loaded one). Fails with
  // Conflict if the id exists. Callback: after the stream and its initial data are durable.
  virtual void Create(CreateOp op, StatusCallback done) = 0;

  // Append a batch (see AppendOp). The service has validated everything; the store only
  // fails on I/O errors (Unavailable/Failed) or an unknown id (NotFound). On success the
  // callback gets the new tail. Appends to one stream complete in submission order.
  virtual void Append(AppendOp op, AppendCallback done) = 0;

  // Read the stream's own log: messages with end > from and start < end_limit, in order,
  // starting with the message that contains `from` (or the first one after it), stopping
  // once at least `max_bytes` have been collected (always at least one message if any).
  // `end_limit` is a message boundary the caller knows to be durable. An empty chunk
  // (begin = from) when there is nothing. NotFound for an unknown id.
  virtual Result<ReadChunk> Read(StreamId id, std::uint64_t from, std::uint64_t end_limit,
                                 std::size_t max_bytes) const = 0;

  // Mark a stream soft-deleted (meta.soft_deleted = true), durably. Its data stays readable
  // (forks read through it) until Drop.
  virtual void SoftDelete(StreamId id, StatusCallback done) = 0;

  // Remove a stream and free its data, durably. After OK the id is gone from Load().
  virtual void Drop(StreamId id, StatusCallback done) = 0;

  // Optional hook for /metrics (see SyncObserver). Stores without syncs ignore it.
  virtual void SetSyncObserver(SyncObserver observer) { (void)observer; }

  // ---- Shared stores (store/redis: several servers on one store) ----------------------------
  // Every server keeps the service's view of a stream in memory; the store arbitrates:
  //  - each mutation carries a version token: Append applies only if the stream's version is
  //    op.expect_version (else Conflict, nothing applied) and sets op.new_version; Create fails
  //    with Conflict when the path exists (whoever made it). Tokens are unique per mutation (a
  //    server's random id in the high 32 bits, a counter below), so a chain of pipelined appends
  //    from one server breaks at the first conflict and never resumes on another server's write;
  //  - Fetch gives a stream's committed state by path (nullopt: no such stream), with its data
  //    up to state.tail readable through Read by the time `done` runs;
  //  - the change listener hears of every mutation any server made (path and new version), so
  //    live readers wake on every node;
  //  - callbacks never run inside the call that submitted them (the service takes its
  //    per-stream lock in them), and a mutation that may not have run (Redis unreachable,
  //    timeout) fails with Unavailable.
  virtual bool Shared() const { return false; }
  // Whether the store can be reached now (a shared store's connection to its server); cheap, any
  // thread. While it cannot, live readers are told (StreamService::CheckStoreHealth) and
  // /health answers 503, so clients and load balancers move to a server that can.
  virtual Status Health() const { return Status::Ok(); }
  // A fresh stream id (unique across servers for shared stores). `local_next` is the
  // service's own counter, which single-server stores use as is.
  virtual StreamId NewId(StreamId local_next) { return local_next; }
  using FetchCallback = std::function<void(Result<std::optional<StreamState>>)>;
  virtual void Fetch(const std::string& path, FetchCallback done) {
    (void)path;
    done(Status::Failed("not a shared store"));
  }
  using ChangeListener = std::function<void(const std::string& path, std::uint64_t version)>;
  virtual void SetChangeListener(ChangeListener listener) { (void)listener; }
  // The listener may have missed changes (subscription lost and re-established): the service
  // resynchronises every stream it holds. Shared stores call it after a reconnect.
  virtual void SetResyncListener(std::function<void()> listener) { (void)listener; }

  // Run leases every server sees (SessionHub): `deadline_ms` (the service clock's epoch ms) is
  // when the lease of `run` in the stream at `path` lapses unless renewed; a later PutLease
  // wins only if its deadline is later. GetLease: the latest deadline any server recorded, 0 when
  // none. Unshared stores keep leases in the hub's memory and never get these calls.
  virtual void PutLease(const std::string& path, const std::string& run, std::int64_t deadline_ms) {
    (void)path, (void)run, (void)deadline_ms;
  }
  virtual void GetLease(const std::string& path, const std::string& run,
                        std::function<void(Result<std::int64_t>)> done) {
    (void)path, (void)run;
    done(std::int64_t{0});
  }

  // Sliding TTLs across servers: record that the stream at `path` was read or written at
  // `now_ms` (only a later time replaces an earlier one; no version change). Fetch and Load give
  // it back as StreamState::last_access_ms, so a server never expires a stream that another
  // server's readers keep alive. Servers call it at most about once a second per stream.
  virtual void Touch(const std::string& path, std::int64_t now_ms) { (void)path, (void)now_ms; }

  // Ephemeral messages to every server (SessionHub presence): nothing is stored; a server that
  // is down misses them (the hub repeats its snapshot every few seconds). Unshared stores never
  // get these calls. The listener runs on a store thread and hears this server's own messages too.
  virtual void PublishEphemeral(std::string payload) { (void)payload; }
  virtual void SetEphemeralListener(std::function<void(std::string_view payload)> listener) { (void)listener; }

  // Shutdown: complete every submitted mutation (invoking its callback), sync, release
  // files. Later mutations fail with Unavailable. Blocks; call off the io threads.
  virtual Status Close() = 0;
};

}  // namespace dsx::session
