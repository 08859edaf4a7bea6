// The Redis store: Durable Streams kept in Redis, shared by several dsx servers
// (`dsx session serve --store redis://...`). See stream_store.hpp, "Shared stores", for what a
// shared store promises, and docs/scaling.md for the deployment side.
//
// Data model (every key of one stream in one cluster slot: the {hash tag} is the stream path):
//   <prefix>:{<path>}:m  hash   the metadata and committed state: id, path, content_type, ttl,
//                               expires_at, expires_at_ms, fork_source, fork_source_path,
//                               base_offset, fork_sub_offset, fork_offset_given, created_ms,
//                               soft_deleted, tail, closed, stream_seq, closed_by, message_count,
//                               version (the CAS token of the last mutation)
//   <prefix>:{<path>}:p  hash   producer id -> "<epoch> <last seq>"
//   <prefix>:{<path>}:d  stream one entry per message, fields e (end offset), b (bytes),
//                               f ("1" if it starts a batch, else "0") and, on a batch's first
//                               message only, v (the mutation's version token: WAIT's check).
//                               Entry ids are explicit, "<end offset>-0": XRANGE finds messages
//                               by offset with no index of our own, and XADD refuses an id that
//                               does not grow, a second guard against a torn or repeated append
//   <prefix>:{<path>}:l  hash   run leases: run -> deadline (epoch ms), the later one kept
//   <prefix>:streams     set    every stream path, for Load (another slot, so it is written
//                               outside the per-stream scripts: added before a create, removed
//                               after a drop; Load skips a path whose meta key is gone)
//   <prefix>:changes     channel "<version> <path>" after every mutation (version 0: dropped)
//
// Every mutation is one Lua script over the stream's keys: it checks the version token (compare
// and set), writes data and state together and publishes the change, so two servers racing on a
// stream never interleave. Reads never touch Redis: each server keeps a local copy of the data of
// every stream it knows (filled by Load, by its own mutations and by Fetch).
//
// Limits: Load reads every stream's whole data into memory (and so does Fetch for a stream this
// server had not seen), so a server's memory bounds the total data; offsets must stay below 2^53
// (Lua numbers). Unlike the file store, a failed mutation does not make the store fail the next
// ones (redis_store.cpp, "Failure model").
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "redis/client.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session {

struct RedisStoreOptions {
  // Where Redis is: `url` (redis://, redis+sentinel://, redis+cluster://; see redis::ParseUrl)
  // plus `password`, or, when `url` is empty, `client` as is.
  std::string url;
  std::string password;
  redis::Options client;
  // After each mutation, `WAIT wait_replicas wait_timeout`: acknowledge only once that many
  // replicas hold it (0: acknowledge when the primary has applied it).
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{1000};
  // First part of every key and of the change channel; no braces.
  std::string key_prefix = "dsx";
};

// Connects (blocking: call at start-up). Errors: Usage (bad options or URL), Unavailable (no
// Redis answers). When `warnings` is given, it receives DurabilityWarnings for the connected
// Redis (persistence and replication settings that may lose acknowledged appends).
Result<std::unique_ptr<StreamStore>> OpenRedisStore(const RedisStoreOptions& options,
                                                    std::vector<std::string>* warnings = nullptr);

// Human-readable warnings about what the connected Redis may lose of acknowledged appends:
// AOF off, appendfsync everysec/no, replicas without `wait_replicas`, fewer replicas than
// `wait_replicas`, a replica as the target, or CONFIG unavailable (renamed or denied: one
// warning saying the settings could not be checked). Empty: nothing to warn about. Blocking.
std::vector<std::string> DurabilityWarnings(redis::Client& client, int wait_replicas);
// Replicas that can acknowledge a WAIT, from INFO replication text: the slaveN lines with
// state=online. connected_slaves also counts replicas still in their first sync.
int OnlineReplicas(const std::string& info_replication);

}  // namespace dsx::session
