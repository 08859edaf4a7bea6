// Text helpers for what the AutoLab researcher reads and writes: notes, paper abstracts and the
// model's rationales come from outside and end up in a JSON request (the LLM client) and in the
// ledger, and nlohmann::json's dump() throws on invalid UTF-8, so every such string is made valid
// first; notes are cut to a bound at a character boundary (never mid-character).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dsx::autolab {

// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string ToValidUtf8(std::string_view s);

// The longest prefix of valid UTF-8 `s` of at most `max_bytes` bytes that ends on a character
// boundary.
std::string_view Utf8Prefix(std::string_view s, std::size_t max_bytes);

// One line: CR, LF and tabs become spaces, runs of spaces collapse, the ends are trimmed.
std::string OneLine(std::string_view s);

}  // namespace dsx::autolab
