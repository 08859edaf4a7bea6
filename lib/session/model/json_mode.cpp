#include "session/model/json_mode.hpp"

#include <nlohmann/json.hpp>

#include "session/model/json_input.hpp"

namespace dsx::session {

namespace {

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);  // a BOM the parser skipped
  while (!s.empty() && IsJsonSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsJsonSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string_view> SplitValidJsonArray(std::string_view text) {
  std::vector<std::string_view> out;
  text = Trim(text);
  if (text.size() < 2 || text.front() != '[') return out;
  int depth = 0;
  bool in_string = false, escaped = false;
  std::size_t start = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth == 0) {  // the closing bracket of the outer array
        std::string_view last = Trim(text.substr(start, i - start));
        if (!last.empty()) out.push_back(last);
        break;
      }
    } else if (c == ',' && depth == 1) {
      out.push_back(Trim(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

Result<Batch> JsonBatchFromBody(std::string_view body, bool allow_empty) {
  // Validation only (nesting limited, json_input.hpp): what is stored is the client's own text,
  // as the protocol's users expect (docs/protocol/streams.md, JSON mode).
  auto parsed = ParseClientJson(body);
  if (!parsed.ok()) return Status::Failed(parsed.status().message() + " in the body");
  const nlohmann::json& value = *parsed;
  Batch batch;
  auto add = [&batch](std::string_view message) {
    batch.payload.append(message);
    batch.sizes.push_back(static_cast<std::uint32_t>(message.size()));
  };
  if (value.is_array()) {
    if (value.empty() && !allow_empty) return Status::Failed("empty JSON array");
    const auto elements = SplitValidJsonArray(body);
    if (elements.size() != value.size()) return Status::Failed("invalid JSON array in the body");  // not reached
    batch.sizes.reserve(elements.size());
    for (std::string_view element : elements) add(element);
  } else {
    add(Trim(body));
  }
  return batch;
}

void AppendJsonArray(std::string& out, std::string_view data, const std::uint32_t* sizes, std::size_t count) {
  out.reserve(out.size() + data.size() + count + 2);
  out.push_back('[');
  std::size_t pos = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out.push_back(',');
    out.append(data.substr(pos, sizes[i]));
    pos += sizes[i];
  }
  out.push_back(']');
}

}  // namespace dsx::session
