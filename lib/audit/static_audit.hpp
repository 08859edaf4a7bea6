// `dsx audit PATH`: the static audit. Loads the rules (configs/audit), walks the tree, parses
// every source file with tree-sitter on a thread pool, runs the detectors, reads manifests, and
// evaluates the capability rules into a Report (lib/audit/report/report.hpp).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "audit/report/report.hpp"
#include "audit/rules/capability_rules.hpp"
#include "audit/rules/detector.hpp"
#include "audit/static/progress.hpp"
#include "audit/static/source_walker.hpp"

namespace dsx::audit {

struct RuleSet {
  std::filesystem::path dir;  // the configs/audit folder they came from
  std::vector<Detector> detectors;
  std::vector<KindRule> kinds;  // `kinds:` rules (symbols.hpp)
  DetectorIndex index;          // detectors' and kind rules' queries combined per language
  std::vector<PackageRule> packages;
  CapabilityRules capability;
};

// Load <dir>/detectors/*.yaml and <dir>/capabilities/*.yaml. Usage errors name file and rule.
Result<std::unique_ptr<RuleSet>> LoadRuleSet(const std::filesystem::path& dir);

// Where the rules are: `flag` (--rules) if given, else $DSX_AUDIT_RULES, else next to the binary
// (<bindir>/../share/dsx/audit, then the source tree's configs/audit for build trees), else the
// source tree this binary was built from. NotFound lists what was tried.
Result<std::filesystem::path> FindRulesDir(const std::string& flag, const std::filesystem::path& exe);

struct StaticAuditOptions {
  std::filesystem::path root;
  WalkOptions walk;
  unsigned threads = 0;  // 0: hardware concurrency
  // Facts from tests, scripts, mocks and fixtures (lib/audit/static/evidence_scope.hpp) are not
  // evidence about the product unless asked for: a create_task in a test proves nothing.
  bool include_tests = false;
  // Told the phases and counts as the audit goes (a terminal line); nullptr: nothing is told.
  AuditProgress* progress = nullptr;
};

// Per-file result, exposed for `dsx audit rules test` and `--facts`.
struct FileScan {
  std::string rel;
  Facts facts;                                 // decided inside the file
  std::vector<DeferredFact> deferred;          // decided by ResolveDeferred
  std::shared_ptr<const FileSymbols> symbols;  // bindings, for the project pass
  std::string error;                           // why it could not be read ("" = fine)
  bool syntax_errors = false;
  int first_error_line = 0;
};

// Read and parse one file and run the detectors over it.
FileScan ScanFile(const RuleSet& rules, const SourceFile& file);

// The project pass: decide every scan's deferred facts (#kind? checks, imports through project
// files) now that all files are summarized, and add those that hold to scan.facts (source order).
// `package_dirs`: folders with a package.json ("" = root), where `@/` and `$lib/` imports point.
void ResolveDeferred(std::vector<FileScan>& scans, const std::vector<std::string>& package_dirs);

// The whole static audit. Fails only for a missing root; unreadable parts go to Report::skipped.
Result<Report> RunStaticAudit(const RuleSet& rules, const StaticAuditOptions& options, Facts* facts_out = nullptr);

}  // namespace dsx::audit
