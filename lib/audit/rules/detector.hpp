// Tier 1 of the rules: detectors. A detector matches inside ONE file (a tree-sitter query plus
// conditions on imports, paths and the enclosing code) and emits a fact at each match. Detectors
// are data: configs/audit/detectors/*.yaml (schema dsx/detector@1, documented in
// configs/audit/README.md and man/dsx-audit.1). A detector file may also hold `packages:` rules that
// turn manifest/lockfile entries into facts (see manifests.hpp).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <tree_sitter/api.h>

#include "audit/rules/fact.hpp"
#include "audit/rules/symbols.hpp"
#include "audit/static/source_walker.hpp"
#include "core/status.hpp"

namespace dsx::audit {

class ParsedFile;

// A manifest rule: package `name` in ecosystem npm|pypi -> fact (value = "major", "version" or fixed).
struct PackageRule {
  std::string id;
  std::string ecosystem;  // "npm" | "pypi"
  std::string name;       // package name as in the manifest
  std::string fact;
  std::string value;  // "major" (default), "version", or a literal
};

// A tree-sitter query compiled for one language, with its text predicates pre-parsed.
class CompiledQuery {
 public:
  // `allow_kinds`: accept #kind? / #not-kind? (only detectors' match queries may use them: they are
  // decided after the whole project is read, see symbols.hpp).
  static Result<std::unique_ptr<CompiledQuery>> Compile(Lang lang, const std::string& source, bool allow_kinds = false);
  ~CompiledQuery();
  CompiledQuery(const CompiledQuery&) = delete;
  CompiledQuery& operator=(const CompiledQuery&) = delete;

  struct Match {
    uint32_t pattern = 0;                    // index of the pattern that matched
    std::map<std::string, TSNode> captures;  // by name (the first node of each capture)
    struct KindCheck {
      TSNode node;
      std::string kind;
      bool negate = false;
    };
    std::vector<KindCheck> kind_checks;  // #kind? predicates, left for the project pass
  };
  // All matches in `file` whose predicates hold.
  std::vector<Match> Run(const ParsedFile& file) const;
  uint32_t PatternCount() const;
  uint32_t PatternStartByte(uint32_t pattern) const;

 private:
  struct Predicate {
    std::string op;  // eq? not-eq? match? not-match? any-of? not-any-of? kind? not-kind?
    uint32_t capture = 0;
    bool other_is_capture = false;
    uint32_t other_capture = 0;
    std::vector<std::string> strings;
    std::shared_ptr<std::regex> regex;
    std::string literal;  // set when the regex is a plain substring
  };
  CompiledQuery() = default;
  TSQuery* query_ = nullptr;
  std::vector<std::vector<Predicate>> predicates_;  // per pattern
  std::vector<std::string> capture_names_;
};

struct Detector {
  std::string id;
  std::string description;
  std::string stack;   // "vercel-ai-sdk", "fastapi", ... (reported as detected stack)
  std::string origin;  // "configs/audit/detectors/ai-sdk.yaml"
  std::vector<Lang> langs;
  std::vector<std::string> imports;        // the file must import one of these (empty: no condition)
  std::vector<std::string> paths_include;  // globs on the relative path (empty: all)
  std::vector<std::string> paths_exclude;
  std::string fact;
  std::string value;  // literal, or "$capture" for a capture's text (unquoted)
  // Per language, the optional structural conditions. The match query (query_text) is compiled
  // into the DetectorIndex; its @hit capture locates the fact (else the first capture).
  struct Compiled {
    std::unique_ptr<CompiledQuery> inside;      // @hit must lie within a @scope of this query
    std::unique_ptr<CompiledQuery> not_inside;  // ... and within no @scope of this one
    std::unique_ptr<CompiledQuery> file_has;    // the file must also match this
    std::unique_ptr<CompiledQuery> file_lacks;  // the file must not match this
  };
  std::map<Lang, Compiled> compiled;
  // The raw YAML query texts (for `dsx audit rules list`).
  std::string query_text;
};

// Load every detectors/*.yaml under `dir` (sorted by name): detectors, package rules and kind rules.
Status LoadDetectors(const std::filesystem::path& dir, std::vector<Detector>& detectors,
                     std::vector<PackageRule>& packages, std::vector<KindRule>& kinds);

// Speed: all detectors' match queries for one language compiled into ONE query, so a file's tree
// is walked once instead of once per detector; each pattern maps back to its detector. The
// structural conditions (inside, file_has, ...) run only for files where a match was found.
// Kind rules' queries join the same combined query.
struct DetectorIndex {
  struct PerLang {
    std::unique_ptr<CompiledQuery> combined;
    // pattern index -> index into the detector list; values >= detectors.size() are kind rules
    // (index - detectors.size()).
    std::vector<size_t> pattern_detector;
  };
  std::map<Lang, PerLang> langs;
  size_t detector_count = 0;
};
Result<DetectorIndex> BuildDetectorIndex(const std::vector<Detector>& detectors, const std::vector<KindRule>& kinds);

// A fact that holds only if its #kind? checks hold and (when `needs_import` is set) the file
// imports one of those modules through a project file; decided by ResolveDeferred (static_audit).
struct DeferredFact {
  Fact fact;
  std::vector<KindProbe> probes;
  std::vector<std::string> needs_import;
};

struct FileDetection {
  Facts facts;                         // in source order, deduplicated
  std::vector<DeferredFact> deferred;  // decided once every file is read
  std::vector<KindHit> kind_hits;      // for Summarize
};

// Run all detectors and kind rules that apply to `file`.
FileDetection RunDetectors(const std::vector<Detector>& detectors, const std::vector<KindRule>& kinds,
                           const DetectorIndex& index, const ParsedFile& file);

// The path of a fixture-relative glob check (exposed for tests).
bool PathSelected(const Detector& d, std::string_view rel);

}  // namespace dsx::audit
