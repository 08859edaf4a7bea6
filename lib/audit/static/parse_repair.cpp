// Repairs for known grammar gaps; see parse_repair.hpp.
#include "audit/static/parse_repair.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include <tree_sitter/api.h>

#include "audit/static/syntax.hpp"

namespace dsx::audit {

ParseErrors FindParseErrors(const ParsedFile& file, size_t max) {
  ParseErrors out;
  if (!file.has_errors()) return out;
  TSTreeCursor cursor = ts_tree_cursor_new(file.root());
  for (int guard = 0; guard < 1'000'000; ++guard) {
    TSNode n = ts_tree_cursor_current_node(&cursor);
    bool error = std::string_view(ts_node_type(n)) == "ERROR" || ts_node_is_missing(n);
    if (error) {
      ++out.count;
      int row = static_cast<int>(ts_node_start_point(n).row);
      if (out.rows.size() < max && std::find(out.rows.begin(), out.rows.end(), row) == out.rows.end())
        out.rows.push_back(row);
    }
    // Descend only into subtrees that hold an error (an ERROR node's own children too).
    if (ts_node_has_error(n) && ts_tree_cursor_goto_first_child(&cursor)) continue;
    bool moved = false;
    while (!(moved = ts_tree_cursor_goto_next_sibling(&cursor)))
      if (!ts_tree_cursor_goto_parent(&cursor)) break;
    if (!moved) break;
  }
  ts_tree_cursor_delete(&cursor);
  return out;
}

namespace {

// "&amp;", "&#39;", "&#x27;": an HTML character reference starts at text[i] == '&'.
bool IsEntity(std::string_view line, size_t i) {
  size_t j = i + 1;
  if (j < line.size() && line[j] == '#') {
    ++j;
    bool hex = j < line.size() && (line[j] == 'x' || line[j] == 'X');
    if (hex) ++j;
    size_t start = j;
    while (j < line.size() && (hex ? std::isxdigit(static_cast<unsigned char>(line[j]))
                                   : std::isdigit(static_cast<unsigned char>(line[j]))))
      ++j;
    return j > start && j < line.size() && line[j] == ';';
  }
  size_t start = j;
  while (j < line.size() && std::isalnum(static_cast<unsigned char>(line[j]))) ++j;
  return j > start && j < line.size() && line[j] == ';';
}

bool RepairAmpersands(std::string& line, bool aggressive) {
  bool changed = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '&') continue;
    bool paired = (i + 1 < line.size() && (line[i + 1] == '&' || line[i + 1] == '=')) || (i > 0 && line[i - 1] == '&');
    if (paired && !aggressive) {
      ++i;
      continue;
    }
    if (IsEntity(line, i)) continue;
    line[i] = ' ';
    changed = true;
  }
  return changed;
}

bool RepairImportTypes(std::string& line) {
  bool changed = false;
  for (size_t at = line.find("import("); at != std::string::npos; at = line.find("import(", at + 1)) {
    if (at > 0 && (std::isalnum(static_cast<unsigned char>(line[at - 1])) || line[at - 1] == '_' ||
                   line[at - 1] == '.' || line[at - 1] == '$'))
      continue;
    size_t j = at + 7;
    while (j < line.size() && line[j] == ' ') ++j;
    if (j >= line.size() || (line[j] != '"' && line[j] != '\'')) continue;
    char quote = line[j];
    size_t close = line.find(quote, j + 1);
    if (close == std::string::npos) continue;
    size_t k = close + 1;
    while (k < line.size() && line[k] == ' ') ++k;
    if (k >= line.size() || line[k] != ')') continue;
    // Only a type position: `: import(`, `<import(`, `= import(` after `type X`, `typeof import(`,
    // `| import(`... A dynamic import (`await import(`, `import(...).then`) is valid code already
    // and is left alone: the grammar parses it, so it is not on an error row anyway.
    size_t end = k + 1;
    bool member = end < line.size() && line[end] == '.';
    if (member) {
      std::fill(line.begin() + static_cast<long>(at), line.begin() + static_cast<long>(end + 1), ' ');
    } else {
      line[at] = '_';
      std::fill(line.begin() + static_cast<long>(at + 1), line.begin() + static_cast<long>(end), ' ');
    }
    changed = true;
  }
  return changed;
}

}  // namespace

bool RepairKnownGrammarGaps(Lang lang, std::string& text, const std::vector<int>& rows, bool aggressive) {
  bool jsx = lang == Lang::kJavaScript || lang == Lang::kTsx;
  bool ts = lang == Lang::kTypeScript || lang == Lang::kTsx;
  if (!jsx && !ts) return false;
  // Offsets of the wanted rows.
  std::vector<int> want = rows;
  std::sort(want.begin(), want.end());
  bool changed = false;
  size_t start = 0;
  int row = 0;
  size_t w = 0;
  while (start <= text.size() && w < want.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (row == want[w]) {
      std::string line = text.substr(start, end - start);
      bool c = false;
      if (jsx) c = RepairAmpersands(line, aggressive) || c;
      if (ts) c = RepairImportTypes(line) || c;
      if (c) {
        text.replace(start, end - start, line);  // same length
        changed = true;
      }
      ++w;
    }
    if (end == text.size()) break;
    start = end + 1;
    ++row;
  }
  return changed;
}

}  // namespace dsx::audit
