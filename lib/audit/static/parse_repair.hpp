// Known gaps of the pinned grammars, repaired before a second parse. tree-sitter-javascript/tsx
// 0.23 reject a bare '&' in JSX text ("Terms & conditions"), which React accepts, and
// tree-sitter-typescript 0.23 rejects some `import("mod").T` type queries. Either one turned a
// whole file into "syntax errors" although nothing is wrong with it.
//
// The repair only touches the lines where the first parse found errors, never changes a byte
// count (lines and columns stay where they are), and is kept only when the second parse has
// fewer errors than the first; a file that still has errors is reported as parsed partially.
#pragma once

#include <string>
#include <vector>

#include "audit/static/source_walker.hpp"

namespace dsx::audit {

class ParsedFile;

// 0-based rows where the tree has ERROR or MISSING nodes (at most `max`), and how many there are.
struct ParseErrors {
  std::vector<int> rows;
  int count = 0;
};
ParseErrors FindParseErrors(const ParsedFile& file, size_t max = 32);

// Rewrites, on the given rows of `text` only: a bare '&' (not '&&', '&=', nor an entity such as
// '&amp;') becomes a space in JS/JSX/TSX; in TS/TSX `import("m").` becomes blanks and a lone
// `import("m")` becomes `_` and blanks. Returns whether anything changed.
// `aggressive` (a second try, when the first did not reduce the errors) also blanks '&&' and
// '&=' on those rows: JSX text such as `<p>a && b</p>` is text, not an operator.
bool RepairKnownGrammarGaps(Lang lang, std::string& text, const std::vector<int>& rows, bool aggressive = false);

}  // namespace dsx::audit
