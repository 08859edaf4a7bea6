// Facts: what detectors (per file) and manifest readers (per project) found, with a location.
// Capability rules only ever look at facts, never at source text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dsx::audit {

struct Fact {
  std::string name;      // dotted, e.g. "server.resume_endpoint"
  std::string value;     // "" = just present; else e.g. "stub_204", "5" (a major version)
  std::string file;      // relative to the audited root, '/' separators
  int line = 0;          // 1-based
  std::string excerpt;   // the source line, trimmed and shortened
  std::string detector;  // id of the detector or manifest rule that emitted it
};

using Facts = std::vector<Fact>;

// Trim a source line for an excerpt: strip leading/trailing blanks, cut at `max` bytes on a
// UTF-8 boundary and add "..." when cut.
std::string MakeExcerpt(std::string_view line, size_t max = 160);

// An excerpt that says nothing on its own: fewer than 12 non-blank characters, or no word of 3+
// characters starting with a letter ("const {", "}", "(", "})", "x = [").
bool IsWeakExcerpt(std::string_view excerpt);

// The excerpt of a match spanning bytes [begin, end) of a file's `text`: the line holding `begin`,
// and while that is weak (IsWeakExcerpt), the next non-blank lines joined by one space: through
// the match's last line, and at least 3 lines past the first (so `streamText(` on its own line
// still shows its arguments), at most 6 lines in all; then cut to `max` like MakeExcerpt.
// A weak first line that ends with an opening bracket is shown with the line where that bracket
// closes, when that line says something: `const { ... } = useChat({`.
std::string MakeStatementExcerpt(std::string_view text, size_t begin, size_t end, size_t max = 160);

}  // namespace dsx::audit
