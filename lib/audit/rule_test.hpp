// `dsx audit rules test`: every detector is checked against fixture files with annotations in
// comments (the semgrep convention):
//   `// ruleid: ID[, ID...]` or `# ruleid: ID` alone on a line: the NEXT code line must produce a
//   fact from detector ID; as a trailing comment: its own line must.
//   `ok: ID` the same way: that line must NOT produce a fact from ID.
// Any fact from a detector named in a file's annotations on a line not annotated `ruleid` for it
// is an unexpected match. A detector with no `ruleid` annotation in any fixture is untested and
// fails the run. Fixtures live in <rules>/detectors/fixtures/ (any depth); their path relative to
// that folder is what `paths:` conditions see.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "audit/static_audit.hpp"

namespace dsx::audit {

struct RuleTestResult {
  int files = 0;
  int checks = 0;                     // annotations checked
  std::vector<std::string> failures;  // "fixtures/x.ts:12: expected ruleid 'a.b', no match"
  std::vector<std::string> untested;  // detectors without a ruleid fixture
  bool ok() const { return failures.empty() && untested.empty(); }
};

Result<RuleTestResult> RunRuleTests(const RuleSet& rules, const std::filesystem::path& fixtures_dir);

}  // namespace dsx::audit
