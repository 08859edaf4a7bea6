// tree-sitter glue; see syntax.hpp.
#include "audit/static/syntax.hpp"

extern "C" {
const TSLanguage* tree_sitter_javascript(void);
const TSLanguage* tree_sitter_typescript(void);
const TSLanguage* tree_sitter_tsx(void);
const TSLanguage* tree_sitter_python(void);
}

namespace dsx::audit {

const TSLanguage* GrammarFor(Lang lang) {
  switch (lang) {
    case Lang::kJavaScript: return tree_sitter_javascript();
    case Lang::kTypeScript: return tree_sitter_typescript();
    case Lang::kTsx: return tree_sitter_tsx();
    case Lang::kPython: return tree_sitter_python();
    case Lang::kNone: break;
  }
  return nullptr;
}

Result<Lang> ParseLangName(std::string_view name) {
  if (name == "js" || name == "jsx" || name == "javascript") return Lang::kJavaScript;
  if (name == "ts" || name == "typescript") return Lang::kTypeScript;
  if (name == "tsx") return Lang::kTsx;
  if (name == "py" || name == "python") return Lang::kPython;
  return Status::Usage("unknown language '" + std::string(name) + "' (want js, ts, tsx or py)");
}

Result<std::unique_ptr<ParsedFile>> ParsedFile::Parse(Lang lang, std::string rel, std::string text) {
  const TSLanguage* grammar = GrammarFor(lang);
  if (!grammar) return Status::Usage("no grammar for '" + rel + "'");
  TSParser* parser = ts_parser_new();
  if (!ts_parser_set_language(parser, grammar)) {
    ts_parser_delete(parser);
    return Status::Failed("grammar for '" + std::string(LangName(lang)) +
                          "' has an ABI this tree-sitter runtime rejects");
  }
  ts_parser_set_timeout_micros(parser, 5'000'000);  // pathological input: give up after 5 s
  TSTree* tree = ts_parser_parse_string(parser, nullptr, text.data(), static_cast<uint32_t>(text.size()));
  ts_parser_delete(parser);
  if (!tree) return Status::Failed("cannot parse '" + rel + "': parser timed out");
  return std::unique_ptr<ParsedFile>(new ParsedFile(lang, std::move(rel), std::move(text), tree));
}

ParsedFile::~ParsedFile() { ts_tree_delete(tree_); }

std::string_view ParsedFile::NodeText(TSNode node) const {
  uint32_t a = ts_node_start_byte(node), b = ts_node_end_byte(node);
  if (a > text_.size() || b > text_.size() || b < a) return {};
  return std::string_view(text_).substr(a, b - a);
}

std::string_view ParsedFile::LineAt(uint32_t byte) const {
  if (byte > text_.size()) byte = static_cast<uint32_t>(text_.size());
  size_t start = text_.rfind('\n', byte == 0 ? 0 : byte - 1);
  start = (start == std::string::npos || (byte == 0)) ? 0 : start + 1;
  if (byte > 0 && text_[byte - 1] == '\n') start = byte;
  size_t end = text_.find('\n', byte);
  if (end == std::string::npos) end = text_.size();
  return std::string_view(text_).substr(start, end - start);
}

namespace {

std::string Unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'' || s.front() == '`') && s.back() == s.front())
    return std::string(s.substr(1, s.size() - 2));
  return std::string(s);
}

// One node: returns whether its children may hold more imports.
bool JsImportAt(const ParsedFile& f, TSNode node, std::vector<std::string>& out) {
  std::string_view t(ts_node_type(node));
  if (t == "import_statement" || t == "export_statement") {
    TSNode src = ts_node_child_by_field_name(node, "source", 6);
    if (!ts_node_is_null(src)) out.push_back(Unquote(f.NodeText(src)));
    return t == "export_statement";  // `export const x = require('m')`
  }
  if (t == "call_expression") {
    TSNode fn = ts_node_child_by_field_name(node, "function", 8);
    TSNode args = ts_node_child_by_field_name(node, "arguments", 9);
    if (!ts_node_is_null(fn) && !ts_node_is_null(args) && ts_node_named_child_count(args) >= 1) {
      std::string_view name = f.NodeText(fn);
      if (name == "require" || name == "import") {
        TSNode arg = ts_node_named_child(args, 0);
        if (std::string_view(ts_node_type(arg)) == "string") out.push_back(Unquote(f.NodeText(arg)));
      }
    }
  }
  return true;
}

bool PyImportAt(const ParsedFile& f, TSNode node, std::vector<std::string>& out) {
  std::string_view t(ts_node_type(node));
  if (t == "import_statement") {
    uint32_t n = ts_node_named_child_count(node);
    for (uint32_t i = 0; i < n; ++i) {
      TSNode c = ts_node_named_child(node, i);
      std::string_view ct(ts_node_type(c));
      if (ct == "dotted_name") out.emplace_back(f.NodeText(c));
      else if (ct == "aliased_import") {
        TSNode name = ts_node_child_by_field_name(c, "name", 4);
        if (!ts_node_is_null(name)) out.emplace_back(f.NodeText(name));
      }
    }
    return false;
  }
  if (t == "import_from_statement") {
    TSNode mod = ts_node_child_by_field_name(node, "module_name", 11);
    if (!ts_node_is_null(mod)) {
      std::string base(f.NodeText(mod));
      out.push_back(base);
      // `from fastapi import responses` also counts as importing "fastapi.responses".
      uint32_t n = ts_node_named_child_count(node);
      for (uint32_t i = 1; i < n; ++i) {
        TSNode c = ts_node_named_child(node, i);
        if (std::string_view(ts_node_type(c)) == "dotted_name") out.push_back(base + "." + std::string(f.NodeText(c)));
      }
    }
    return false;
  }
  return true;
}

// Every named node, depth first, with a cursor (ts_node_named_child(i) is O(i), which made the
// recursive walk quadratic on long files); at most 400 levels deep, where generated code is.
template <typename Visit>
void WalkNamed(TSNode root, Visit visit) {
  TSTreeCursor cursor = ts_tree_cursor_new(root);
  int depth = 0;
  for (;;) {
    TSNode node = ts_tree_cursor_current_node(&cursor);
    bool descend = ts_node_is_named(node) && depth < 400 && visit(node);
    if (descend && ts_tree_cursor_goto_first_child(&cursor)) {
      ++depth;
      continue;
    }
    bool moved = false;
    while (!(moved = ts_tree_cursor_goto_next_sibling(&cursor))) {
      if (!ts_tree_cursor_goto_parent(&cursor)) break;
      --depth;
    }
    if (!moved) break;
  }
  ts_tree_cursor_delete(&cursor);
}

}  // namespace

const std::vector<std::string>& ParsedFile::Imports() const {
  if (!imports_done_) {
    if (lang_ == Lang::kPython) WalkNamed(root(), [&](TSNode n) { return PyImportAt(*this, n, imports_); });
    else WalkNamed(root(), [&](TSNode n) { return JsImportAt(*this, n, imports_); });
    imports_done_ = true;
  }
  return imports_;
}

bool ImportMatches(std::string_view module, std::string_view wanted) {
  if (module.size() < wanted.size() || module.substr(0, wanted.size()) != wanted) return false;
  if (module.size() == wanted.size()) return true;
  char next = module[wanted.size()];
  return next == '/' || next == '.';
}

}  // namespace dsx::audit
