// <script> blocks of component files; see script_blocks.hpp.
#include "audit/static/script_blocks.hpp"

#include <cctype>

namespace dsx::audit {

namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i)
    if (Lower(s[s.size() - suffix.size() + i]) != suffix[i]) return false;
  return true;
}

// Whether `word` (lowercase) starts at `pos`, in any letter case.
bool AtNoCase(std::string_view text, size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (Lower(text[pos + i]) != word[i]) return false;
  return true;
}

// The first position >= from where `word` (lowercase) starts, in any letter case; npos if none.
size_t FindNoCase(std::string_view text, std::string_view word, size_t from) {
  for (size_t i = from; i + word.size() <= text.size(); ++i)
    if (Lower(text[i]) == word[0] && AtNoCase(text, i, word)) return i;
  return std::string_view::npos;
}

bool IsTagNameEnd(char c) { return c == '>' || c == '/' || std::isspace(static_cast<unsigned char>(c)); }

// The value of attribute `type` in an opening tag's attribute text, lowercased ("" when absent).
std::string TypeAttribute(std::string_view attrs) {
  for (size_t i = 0; (i = FindNoCase(attrs, "type", i)) != std::string_view::npos; i += 4) {
    if (i > 0 && !std::isspace(static_cast<unsigned char>(attrs[i - 1]))) continue;  // e.g. data-type
    size_t j = i + 4;
    while (j < attrs.size() && std::isspace(static_cast<unsigned char>(attrs[j]))) ++j;
    if (j >= attrs.size() || attrs[j] != '=') continue;
    ++j;
    while (j < attrs.size() && std::isspace(static_cast<unsigned char>(attrs[j]))) ++j;
    std::string value;
    char quote = j < attrs.size() && (attrs[j] == '"' || attrs[j] == '\'') ? attrs[j++] : 0;
    for (; j < attrs.size(); ++j) {
      char c = attrs[j];
      if (quote ? c == quote : (std::isspace(static_cast<unsigned char>(c)) || c == '/')) break;
      value += Lower(c);
    }
    return value;
  }
  return "";
}

// Script types whose body is data or markup, not JavaScript/TypeScript.
bool IsDataType(const std::string& type) {
  return type.find("json") != std::string::npos || type.find("template") != std::string::npos ||
         type.find("html") != std::string::npos || type.find("importmap") != std::string::npos ||
         type.find("markdown") != std::string::npos;
}

}  // namespace

bool IsComponentFile(std::string_view rel) { return EndsWithNoCase(rel, ".svelte") || EndsWithNoCase(rel, ".vue"); }

std::string ExtractScriptBlocks(std::string_view text) {
  std::string out(text.size(), ' ');
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n' || text[i] == '\r') out[i] = text[i];

  size_t pos = 0;
  while (pos < text.size()) {
    size_t lt = text.find('<', pos);
    if (lt == std::string_view::npos) break;
    if (text.compare(lt, 4, "<!--") == 0) {  // a comment in the markup: nothing inside is a tag
      size_t end = text.find("-->", lt + 4);
      if (end == std::string_view::npos) break;
      pos = end + 3;
      continue;
    }
    if (!AtNoCase(text, lt + 1, "script") || lt + 7 >= text.size() || !IsTagNameEnd(text[lt + 7])) {
      pos = lt + 1;
      continue;
    }
    // The opening tag ends at the first '>' outside a quoted attribute value.
    size_t j = lt + 7;
    char quote = 0;
    for (; j < text.size(); ++j) {
      char c = text[j];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
    }
    if (j >= text.size()) break;  // an unfinished opening tag: no code follows it
    std::string_view attrs = text.substr(lt + 7, j - (lt + 7));
    size_t body = j + 1;
    if (!attrs.empty() && attrs.back() == '/') {  // <script src="..." />: no body
      pos = body;
      continue;
    }
    size_t close = FindNoCase(text, "</script", body);
    size_t end = close == std::string_view::npos ? text.size() : close;
    if (!IsDataType(TypeAttribute(attrs))) text.substr(body, end - body).copy(out.data() + body, end - body);
    if (close == std::string_view::npos) break;
    size_t gt = text.find('>', close);
    pos = gt == std::string_view::npos ? text.size() : gt + 1;
  }
  return out;
}

}  // namespace dsx::audit
