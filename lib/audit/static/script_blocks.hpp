// Component files (.svelte, .vue) hold their code in <script> blocks inside markup. The audit parses
// that code as TypeScript: ExtractScriptBlocks keeps the bytes inside every script block and blanks
// everything else, so the result is exactly as long as the file and every byte keeps its line and
// column (facts point at the real file's lines; detector fixtures annotate the real file).
#pragma once

#include <string>
#include <string_view>

namespace dsx::audit {

// True for paths whose code lives in <script> blocks (".svelte", ".vue"; any letter case).
bool IsComponentFile(std::string_view rel);

// Returns a string of text.size() bytes: the contents of each <script ...>...</script> block as
// they are, every other byte a space except '\n' and '\r' (kept so lines stay where they were).
// - Tags are found in any letter case (<SCRIPT>); attributes may hold '>' inside quotes.
// - A block ends at the first "</script" after it, as browsers do, even inside a JS string.
// - A block without "</script" runs to the end of the file; "<script ... />" has no content.
// - Blocks whose type names data, not code (type="application/json", "text/template", ...) are
//   blanked: parsing them as TypeScript would only report syntax errors.
// - <!-- HTML comments --> in the markup are skipped, so a commented-out <script> is not code.
std::string ExtractScriptBlocks(std::string_view text);

}  // namespace dsx::audit
