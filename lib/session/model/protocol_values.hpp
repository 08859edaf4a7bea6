// Small protocol value rules shared by the service and the HTTP layer: content types, time
// stamps (Stream-Expires-At), the long-poll/SSE cursor. Pure functions, unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dsx::session {

inline constexpr std::string_view kDefaultContentType = "application/octet-stream";

// Lowercase media type without parameters, trimmed: "Application/JSON; charset=utf-8" ->
// "application/json". Used to compare content types; the stored value stays as given.
std::string NormalizeContentType(std::string_view content_type);

// JSON mode: the normalized type is application/json.
bool IsJsonContentType(std::string_view content_type);

// SSE sends payloads base64-encoded unless the type is text/* or application/json.
bool SseNeedsBase64(std::string_view content_type);

// RFC 3339 date-time ("2026-11-26T10:00:00.123Z", "...+01:00") -> Unix epoch milliseconds.
std::optional<std::int64_t> ParseRfc3339Ms(std::string_view text);

// Cursor (spec 10.1): 20 s intervals since 2024-10-09T00:00:00Z. If the client's cursor is at
// or past the current interval, return a strictly larger one (cursor + jitter), so caches
// never serve a loop. `client_cursor` is the `cursor` query parameter, if any and numeric.
std::uint64_t NextCursor(std::int64_t now_ms, std::optional<std::uint64_t> client_cursor);

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace dsx::session
