// JSON mode (Content-Type application/json): bodies are validated and flattened one array
// level into messages; each message is stored compactly serialized; reads return a JSON array.
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session {

// Parse `body` as JSON. A top-level array becomes one message per element (exactly one level
// is flattened); any other value is one message. `[]` is an error on POST (allow_empty false)
// and an empty batch on PUT. Text nested deeper than kMaxJsonDepth (json_input.hpp) is refused.
// Errors are Status::Failed with a short reason (HTTP 400).
Result<Batch> JsonBatchFromBody(std::string_view body, bool allow_empty);

// Append "[m1,m2,...]" built from `count` stored messages laid out back to back in `data`
// with the given sizes. Used by catch-up reads and SSE data events.
void AppendJsonArray(std::string& out, std::string_view data, const std::uint32_t* sizes, std::size_t count);

}  // namespace dsx::session
