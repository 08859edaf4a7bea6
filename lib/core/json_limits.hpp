// JSON from outside (a client, a server, a file someone edited, a child process's stdout) parsed
// with a nesting limit. nlohmann::json parses and destroys without recursion, but copying and
// dump() recurse once per level: text nested 100,000 deep parses fine and then overflows the
// stack the first time it is copied or printed. Refusing it before any value is built keeps
// every later use safe. Used by the session server (session/model/json_input.hpp) and by every
// client module that reads JSON it did not write itself.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx {

// 64 is far beyond anything dsx or the APIs it speaks send (a session event's data sits at
// depth 2, an HF Jobs answer at 3-4) and keeps the serializer's recursion to a few tens of KiB of
// stack, even under sanitizers; the same default as .NET's System.Text.Json.
inline constexpr int kMaxJsonDepth = 64;

// Nesting depth of the JSON text: arrays and objects count one level each, a scalar is 0.
// One pass over the bytes that skips strings (escapes included); it stops at limit + 1.
// Exact for valid JSON; for invalid JSON the number means nothing, and the parse fails anyway.
int JsonDepth(std::string_view text, int limit = kMaxJsonDepth);

// Parses `text`, refusing text nested deeper than `max_depth` before any value is built.
// Errors are Status::Failed: "invalid JSON" or "JSON nested deeper than 64 levels".
Result<nlohmann::json> ParseJsonBounded(std::string_view text, int max_depth = kMaxJsonDepth);

// The same as a drop-in for json::parse(text, nullptr, false): a discarded value (is_discarded())
// when the text is invalid or nested too deep.
nlohmann::json ParseJsonOrDiscarded(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace dsx
