// Manifests and lockfiles -> facts. Library versions change what code means (AI SDK 4 resumes with
// GET ?chatId=, 5+ with GET /{id}/stream), so detector files carry `packages:` rules that turn
// a dependency into a fact such as lib.ai_sdk_major=5. Read: package.json (dependencies,
// devDependencies, peer/optional), package-lock.json (exact versions, preferred over ranges),
// requirements*.txt, pyproject.toml ([project].dependencies and [tool.poetry.dependencies]).
#pragma once

#include <string>
#include <vector>

#include "audit/rules/detector.hpp"
#include "audit/rules/fact.hpp"

namespace dsx::audit {

struct Dependency {
  std::string ecosystem;  // npm | pypi
  std::string name;       // normalised: npm as is; pypi lower-case with '_' -> '-'
  std::string version;    // exact ("5.0.2") or a range ("^5.0.0", ">=0.2"); "" unknown
  bool exact = false;     // from a lockfile
  std::string file;       // relative path
  int line = 0;
  std::string excerpt;
};

// Parse one manifest's text (by file name). Bad JSON/TOML yields an error; the caller reports it
// as a file it could not read.
Result<std::vector<Dependency>> ParseManifest(const std::string& rel, const std::string& text);

// "^5.0.1" -> "5", ">=0.3,<1" -> "0", "5.0.2" -> "5"; "" when unknown (tags, URLs, "*").
std::string MajorVersion(const std::string& spec);

// Apply package rules; when several manifests name a package, lockfile entries win.
Facts PackageFacts(const std::vector<PackageRule>& rules, const std::vector<Dependency>& deps);

}  // namespace dsx::audit
