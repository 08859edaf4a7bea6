// Internal to the Redis store: key names, the Lua scripts, and the encoding of a stream's
// state in its meta and producers hashes (the data model is in redis_store.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "redis/client.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session::redisstore {

struct Keys {
  std::string meta, producers, data, leases;
};
Keys StreamKeys(std::string_view prefix, std::string_view path);

// The Lua scripts (sources and SHA1s), made once.
struct Scripts {
  redis::Script create, append, soft_delete, drop, read, verify, put_lease;
};
const Scripts& GetScripts();

// One message as stored in the data stream.
struct Entry {
  std::uint64_t end = 0;
  std::string bytes;
  bool first = false;
};

// The meta hash fields for a new stream (HSET pairs: field, value, field, value...).
std::vector<std::string> EncodeMeta(const CreateOp& op, std::uint64_t tail, std::uint64_t message_count);

// The state from the flat HGETALL replies of the meta and producers hashes. Failed on a field
// that does not parse (a key not written by dsx).
Result<StreamState> DecodeState(const redis::Reply& meta, const redis::Reply& producers);

// XRANGE-shaped reply ([[id, [field, value...]]...]) to entries.
Result<std::vector<Entry>> DecodeEntries(const redis::Reply& reply);

// "<epoch> <seq> <id>" (closed_by) and back.
std::string EncodeProducer(const ProducerTuple& p);
std::optional<ProducerTuple> DecodeProducer(std::string_view text);

// Decimal uint64 (the whole string); nullopt otherwise.
std::optional<std::uint64_t> ParseU64(std::string_view text);

// A reply as text for error messages: "ERR ..." or the type.
std::string Describe(const redis::Reply& reply);

}  // namespace dsx::session::redisstore
