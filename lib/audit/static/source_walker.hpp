// Finds the files a static audit reads: source files (by extension) and manifests, skipping
// dependency folders, build output, vendored code and whatever .gitignore files exclude.
// Never fails on one bad entry: unreadable directories, symlink loops, binary and huge files end
// up in `skipped` with a reason, and the walk goes on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "audit/report/report.hpp"
#include "core/status.hpp"

namespace dsx::audit {

enum class Lang { kNone, kJavaScript, kTypeScript, kTsx, kPython };
std::string_view LangName(Lang lang);     // "js", "ts", "tsx", "py"
Lang LangForPath(std::string_view path);  // by extension (.svelte/.vue: ts); kNone for other files

struct SourceFile {
  std::filesystem::path path;  // absolute (or as given)
  std::string rel;             // relative to the root, '/' separators
  Lang lang = Lang::kNone;     // kNone for manifests
  bool manifest = false;       // package.json, package-lock.json, requirements*.txt, pyproject.toml
  std::uintmax_t size = 0;
};

struct WalkOptions {
  std::uintmax_t max_file_bytes = 2u << 20;  // larger source files are skipped with a note
  bool use_gitignore = true;
  // Called with the number of files found so far, after each one (progress; may be empty).
  std::function<void(size_t files_found)> on_found;
  // Directory names never entered (dependencies, build output, vendored code, VCS data).
  std::vector<std::string> skip_dirs = {"node_modules",
                                        ".git",
                                        ".hg",
                                        ".svn",
                                        "dist",
                                        "build",
                                        "out",
                                        ".next",
                                        ".nuxt",
                                        ".svelte-kit",
                                        ".vercel",
                                        ".turbo",
                                        "coverage",
                                        "vendor",
                                        "third_party",
                                        "__pycache__",
                                        ".venv",
                                        "venv",
                                        ".mypy_cache",
                                        ".pytest_cache",
                                        ".tox",
                                        "site-packages",
                                        "bower_components"};
};

struct WalkResult {
  std::vector<SourceFile> files;
  std::vector<Skipped> skipped;
};

// Walk `root` (a directory, or a single file). NotFound if root does not exist.
Result<WalkResult> WalkSources(const std::filesystem::path& root, const WalkOptions& options);

bool IsManifestName(std::string_view filename);

}  // namespace dsx::audit
