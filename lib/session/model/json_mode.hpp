// JSON mode (Content-Type application/json): bodies are validated and flattened one array
// level into messages; each message is stored as the client wrote it (its original bytes,
// trimmed of surrounding whitespace: no re-serialization, keys keep their order); reads return
// a JSON array of the stored messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session {

// Validate `body` as JSON. A top-level array becomes one message per element (exactly one level
// is flattened; each element's original bytes); any other value is one message (the body's
// bytes without surrounding whitespace or a UTF-8 byte order mark). `[]` is an error on POST (allow_empty false)
// and an empty batch on PUT. Text nested deeper than kMaxJsonDepth (json_input.hpp) is refused.
// Errors are Status::Failed with a short reason (HTTP 400).
Result<Batch> JsonBatchFromBody(std::string_view body, bool allow_empty);

// The byte spans of the top-level elements of `text`, a JSON array already known to be valid
// (parsed), each without surrounding whitespace. Empty for "[]". Used to store each element's
// own bytes and, reading a stored batch back, to find where each message ends.
std::vector<std::string_view> SplitValidJsonArray(std::string_view text);

// Append "[m1,m2,...]" built from `count` stored messages laid out back to back in `data`
// with the given sizes. Used by catch-up reads and SSE data events.
void AppendJsonArray(std::string& out, std::string_view data, const std::uint32_t* sizes, std::size_t count);

}  // namespace dsx::session
