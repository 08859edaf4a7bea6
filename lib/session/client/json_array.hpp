// Splitting a JSON array into its elements' source text, without re-serializing them, so a
// message comes out of `tail` byte for byte as the server stored it (key order, number
// spelling and escapes kept).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace dsx::session::client {

// For a valid JSON text: the top-level array's elements, each trimmed of surrounding
// whitespace; a non-array value is one element. nullopt when `text` is not valid JSON.
std::optional<std::vector<std::string_view>> SplitJsonArray(std::string_view text);

}  // namespace dsx::session::client
