// UTF-8 validity: JSON text must be UTF-8, and nlohmann::json's dump() throws on anything else,
// so every string from outside (a user's instruction or --set value, a job's argv, a server's
// bytes) that ends up in a JSON document dsx writes is checked first, or dumped with the
// replace handler where a lossy copy is fine (display only).
#pragma once

#include <cstddef>
#include <string_view>

namespace dsx {

// True if `s` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);
// Offset of the first byte that starts an invalid (or truncated) sequence; npos when `s` is valid.
size_t FirstInvalidUtf8(std::string_view s);

}  // namespace dsx
