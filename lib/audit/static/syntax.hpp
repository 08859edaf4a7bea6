// tree-sitter glue: the grammars compiled into dsx_audit, a parsed file (RAII over TSTree), and
// import extraction (which modules a file imports: the "requires_import" condition of detectors).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tree_sitter/api.h>

#include "audit/static/source_walker.hpp"

namespace dsx::audit {

// The grammar for a language (never null for kJavaScript/kTypeScript/kTsx/kPython).
const TSLanguage* GrammarFor(Lang lang);

// Languages a detector may name: js (also jsx), ts, tsx, py.
Result<Lang> ParseLangName(std::string_view name);

// One parsed source file. Owns the tree and the source text it points into.
class ParsedFile {
 public:
  // Parse `text`; a syntax error still yields a tree (with ERROR nodes): has_errors() tells.
  static Result<std::unique_ptr<ParsedFile>> Parse(Lang lang, std::string rel, std::string text);
  ~ParsedFile();
  ParsedFile(const ParsedFile&) = delete;
  ParsedFile& operator=(const ParsedFile&) = delete;

  Lang lang() const { return lang_; }
  const std::string& rel() const { return rel_; }
  const std::string& text() const { return text_; }
  TSNode root() const { return ts_tree_root_node(tree_); }
  bool has_errors() const { return ts_node_has_error(root()); }

  std::string_view NodeText(TSNode node) const;
  // The whole source line holding `byte` (without the newline).
  std::string_view LineAt(uint32_t byte) const;
  // Modules imported: JS/TS `import ... from 'm'`, `require('m')`, `import('m')`, `export ... from 'm'`;
  // Python `import a.b`, `from a.b import c` (as "a.b"). Computed on first use.
  const std::vector<std::string>& Imports() const;

 private:
  ParsedFile(Lang lang, std::string rel, std::string text, TSTree* tree)
      : lang_(lang), rel_(std::move(rel)), text_(std::move(text)), tree_(tree) {}
  Lang lang_;
  std::string rel_;
  std::string text_;
  TSTree* tree_;
  mutable bool imports_done_ = false;
  mutable std::vector<std::string> imports_;
};

// Does `module` (e.g. "@ai-sdk/react/foo", "openai.types") satisfy the wanted name ("@ai-sdk/react",
// "openai")? Equal, or wanted followed by '/' or '.' (Python submodules).
bool ImportMatches(std::string_view module, std::string_view wanted);

}  // namespace dsx::audit
