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

}  // namespace dsx::audit
