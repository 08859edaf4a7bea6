// JSON from clients, at the server's edge: one parse with a nesting limit for every JSON input
// (session event bodies, heartbeat and presence bodies, WebSocket frames, JSON-stream appends,
// token header and claims), and typed reads of an object's fields that return errors instead
// of throwing (nlohmann's value()/get<>() throw type_error on a field of the wrong type).
//
// Why a nesting limit: nlohmann parses iteratively, but copying, comparing and serializing a
// value recurse once per level, so a 100,000-deep array overflows the stack in dump(). The
// limit bounds that recursion for everything the server keeps or echoes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_limits.hpp"
#include "core/status.hpp"
#include "session/wire/event.hpp"

namespace dsx::session {

// Deepest nesting accepted from a client and the depth scan: core/json_limits.hpp (docs/protocol/
// streams.md, "JSON mode"; sessions.md section 2), shared with every client module.
using ::dsx::JsonDepth;
using ::dsx::kMaxJsonDepth;

// Parse client JSON, refusing text nested deeper than `max_depth` before any value is built.
// Errors are Status::Failed (HTTP 400): "invalid JSON" or "JSON nested deeper than 64 levels".
Result<nlohmann::json> ParseClientJson(std::string_view text, int max_depth = kMaxJsonDepth);

// Lenient read of stored or server-made data (the one definition is shared with the clients).
using wire::StringOr;

// Typed reads of a client object's fields, never throwing. A field that is present with the
// wrong type records an error naming it and the type it needs (the first such error is
// kept); absent fields give the fallback. Use: read every field, then check ok().
//   JsonFields f(body, "heartbeat body");
//   const std::string state = f.String("state", "");
//   if (!f.ok()) return 400 with f.error();
class JsonFields {
 public:
  // `what` names the object in the error when it is not an object at all; `prefix` goes before
  // field names ("data." gives "field 'data.takeover' ...").
  JsonFields(const nlohmann::json& object, std::string what, std::string prefix = "");

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool Has(const char* key) const;

  std::string String(const char* key, std::string fallback = "");
  std::optional<std::string> OptString(const char* key);
  bool Bool(const char* key, bool fallback);
  // An integer that fits in int64 (floats, and integers past int64, are the wrong type).
  std::optional<std::int64_t> OptInt(const char* key);
  // A non-negative integer (fits in uint64).
  std::optional<std::uint64_t> OptUint(const char* key);
  // Present and of that type, or nullptr.
  const nlohmann::json* Object(const char* key);
  const nlohmann::json* Array(const char* key);

 private:
  const nlohmann::json* Find(const char* key, bool ok, const char* want);
  const nlohmann::json* At(const char* key) const;

  const nlohmann::json& object_;
  std::string prefix_;
  std::string error_;
};

}  // namespace dsx::session
