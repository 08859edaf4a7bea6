// Fact helpers.
#include "audit/rules/fact.hpp"

#include <algorithm>

namespace dsx::audit {

namespace {

std::string_view Trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) --b;
  return s.substr(a, b - a);
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsWordChar(char c) { return IsAlpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '$'; }

}  // namespace

bool IsWeakExcerpt(std::string_view s) {
  size_t non_blank = 0;
  for (char c : s) non_blank += (c != ' ' && c != '\t' && c != '\r' && c != '\n');
  if (non_blank < 12) return true;
  for (size_t i = 0; i < s.size();) {
    if (!IsWordChar(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && IsWordChar(s[j])) ++j;
    if (IsAlpha(s[i]) && j - i >= 3) return false;
    i = j;
  }
  return true;
}

namespace {

// A weak first line that opens a bracket (`const {`, `foo(`): the line where that bracket closes,
// when it says something (`} = useChat({`), so the excerpt reads `const { ... } = useChat({`.
// Brackets inside strings and comments are not told apart: a miss only falls back to joining.
std::string_view ClosingLine(std::string_view text, size_t line_start) {
  constexpr int kMaxScan = 40;  // lines; a destructuring longer than that is not worth the walk
  int depth = 0, lines = 0;
  size_t at = line_start;
  for (size_t i = line_start; i < text.size(); ++i) {
    char c = text[i];
    if (c == '(' || c == '{' || c == '[') ++depth;
    if (c == ')' || c == '}' || c == ']') --depth;
    if (c == '\n') {
      if (++lines > kMaxScan || depth <= 0) return {};  // balanced on the first line: nothing opened
      at = i + 1;
    } else if (depth <= 0 && lines > 0) {
      size_t nl = text.find('\n', i);
      std::string_view line = Trim(text.substr(at, (nl == std::string_view::npos ? text.size() : nl) - at));
      return IsWeakExcerpt(line) ? std::string_view() : line;
    }
  }
  return {};
}

}  // namespace

std::string MakeStatementExcerpt(std::string_view text, size_t begin, size_t end, size_t max) {
  constexpr int kMinExtraLines = 3, kMaxLines = 6;
  begin = std::min(begin, text.size());
  end = std::max(begin, std::min(end, text.size()));
  size_t line_start = text.rfind('\n', begin == 0 ? std::string_view::npos : begin - 1);
  line_start = (begin == 0 || line_start == std::string_view::npos) ? 0 : line_start + 1;
  size_t first_end = text.find('\n', line_start);
  std::string_view first =
      Trim(text.substr(line_start, (first_end == std::string_view::npos ? text.size() : first_end) - line_start));
  if (IsWeakExcerpt(first) && !first.empty() && std::string_view("({[").find(first.back()) != std::string_view::npos) {
    std::string_view closing = ClosingLine(text, line_start);
    if (!closing.empty()) return MakeExcerpt(std::string(first) + " ... " + std::string(closing), max);
  }
  std::string joined;
  int lines = 0;
  for (size_t at = line_start; at < text.size() && lines < kMaxLines;) {
    size_t nl = text.find('\n', at);
    size_t stop = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = Trim(text.substr(at, stop - at));
    if (!line.empty() || lines == 0) {
      if (!joined.empty() && !line.empty()) joined += ' ';
      joined += line;
      ++lines;
    }
    if (joined.size() > max || !IsWeakExcerpt(joined)) break;
    if (lines > kMinExtraLines && at > end) break;  // past the match and enough context read
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return MakeExcerpt(joined, max);
}

std::string MakeExcerpt(std::string_view line, size_t max) {
  size_t a = 0, b = line.size();
  while (a < b && (line[a] == ' ' || line[a] == '\t' || line[a] == '\r')) ++a;
  while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t' || line[b - 1] == '\r')) --b;
  std::string_view s = line.substr(a, b - a);
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return std::string(s.substr(0, cut)) + "...";
}

}  // namespace dsx::audit
