#include "session/client/json_array.hpp"

#include <nlohmann/json.hpp>

namespace dsx::session::client {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::vector<std::string_view>> SplitJsonArray(std::string_view text) {
  if (!nlohmann::json::accept(text)) return std::nullopt;
  std::string_view t = Trim(text);
  std::vector<std::string_view> out;
  if (t.empty() || t.front() != '[') {
    out.push_back(t);
    return out;
  }
  // Valid JSON from here on, so only nesting and strings need tracking.
  int depth = 0;
  bool in_string = false;
  size_t start = 1;
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    char c = t[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.push_back(Trim(t.substr(start, i - start)));
      start = i + 1;
    }
  }
  std::string_view last = Trim(t.substr(start, t.size() - 1 - start));
  if (!last.empty()) out.push_back(last);
  return out;
}

}  // namespace dsx::session::client
