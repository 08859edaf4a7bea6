// The session event format that both sides speak (docs/protocol/sessions.md, sections 1-3):
// the envelope's names and limits, the ids clients mint, the bytes an event is stored as, and
// the lenient read of an event's fields.
//
// Header-only and free of server code, so that the server (session/live, session/server) and
// the clients (session/client) can both include it without either including the other, and
// without a library for either to link. What only the server does with events (stamping,
// validating drafts, reading them back from a stream, conflation) stays in session/live/event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace dsx::session::wire {

inline constexpr std::size_t kMaxDraftBytes = 1u << 20;  // one draft, serialized [bytes]
inline constexpr std::size_t kMaxNameBytes = 200;        // type, id, run, msg, lane; presence kind and state
inline constexpr const char* kServerSub = "@server";     // `from.sub` of server-written events
inline constexpr const char* kDefaultLane = "main";

// The bytes an event is written as (compact, keys sorted, UTF-8 as is); the JSON stream stores
// them as written (lib/session/model/json_mode.cpp), so they are also its stored size.
inline std::string StoredBytes(const nlohmann::json& event) {
  return event.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

// "k-", "r-", "m-" ids: prefix + 12 random hex digits.
inline std::string RandomId(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^
                                          static_cast<std::uint64_t>(NowMs()) * 0x9e3779b97f4a7c15ull};
  static constexpr const char* kHex = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string out = prefix;
  for (int i = 0; i < 12; ++i) {
    out.push_back(kHex[v & 15]);
    v >>= 4;
  }
  return out;
}

// Lenient read of an event read back from a log (which raw stream writes by an admin can fill
// with anything): the string at `key`, or `fallback` when `object` is not an object, or the
// field is absent or not a string. Never throws (nlohmann's value() throws on a wrong type).
inline std::string StringOr(const nlohmann::json& object, const char* key, std::string fallback = "") {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

}  // namespace dsx::session::wire
