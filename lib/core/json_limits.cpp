#include "core/json_limits.hpp"

#include <string>

namespace dsx {

int JsonDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '"') {
      // Skip the string: up to the next quote that no backslash escapes.
      for (++i; i < n && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return limit + 1;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

Result<nlohmann::json> ParseJsonBounded(std::string_view text, int max_depth) {
  // JSON text never holds a raw NUL (RFC 8259: control characters are escaped inside strings, and
  // not allowed outside them), but nlohmann's lexer takes one for the end of the input: "5\0junk"
  // would parse as 5, and a caller that keeps the text as written would store the junk unchecked.
  if (std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Status::Failed("invalid JSON: a NUL byte at offset " + std::to_string(nul));
  }
  // Text no longer than the limit cannot nest past it (each level is at least one byte).
  if (text.size() > static_cast<std::size_t>(max_depth) && JsonDepth(text, max_depth) > max_depth) {
    return Status::Failed("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  }
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status::Failed("invalid JSON");
  return value;
}

nlohmann::json ParseJsonOrDiscarded(std::string_view text, int max_depth) {
  auto parsed = ParseJsonBounded(text, max_depth);
  if (!parsed.ok()) return nlohmann::json(nlohmann::json::value_t::discarded);
  return std::move(parsed).value();
}

}  // namespace dsx
