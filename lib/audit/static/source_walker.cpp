// Source discovery for the static audit; see source_walker.hpp.
#include "audit/static/source_walker.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <system_error>
#include <utility>

#include "audit/static/gitignore.hpp"
#include "audit/static/script_blocks.hpp"
#include "core/fs.hpp"

namespace dsx::audit {

namespace stdfs = std::filesystem;

std::string_view LangName(Lang lang) {
  switch (lang) {
    case Lang::kJavaScript: return "js";
    case Lang::kTypeScript: return "ts";
    case Lang::kTsx: return "tsx";
    case Lang::kPython: return "py";
    case Lang::kNone: break;
  }
  return "";
}

namespace {
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

Lang LangForPath(std::string_view path) {
  if (EndsWith(path, ".d.ts")) return Lang::kNone;  // declarations: no behaviour to audit
  if (EndsWith(path, ".tsx")) return Lang::kTsx;
  if (EndsWith(path, ".ts") || EndsWith(path, ".mts") || EndsWith(path, ".cts")) return Lang::kTypeScript;
  if (EndsWith(path, ".js") || EndsWith(path, ".mjs") || EndsWith(path, ".cjs") || EndsWith(path, ".jsx"))
    return Lang::kJavaScript;
  if (EndsWith(path, ".py")) return Lang::kPython;
  // Component files: their <script> blocks (ExtractScriptBlocks) are parsed as TypeScript, which
  // also reads plain JavaScript blocks.
  if (IsComponentFile(path)) return Lang::kTypeScript;
  return Lang::kNone;
}

bool IsManifestName(std::string_view name) {
  return name == "package.json" || name == "package-lock.json" || name == "pyproject.toml" ||
         (name.substr(0, 12) == "requirements" && EndsWith(name, ".txt"));
}

namespace {

class Walker {
 public:
  Walker(stdfs::path root, const WalkOptions& options) : root_(std::move(root)), options_(options) {}

  void Dir(const stdfs::path& dir, const std::string& rel) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      Skip(rel.empty() ? "." : rel, "cannot stat directory");
      return;
    }
    // A directory reached twice (through a symlink loop or two links) is read once.
    if (!visited_.insert({st.st_dev, st.st_ino}).second) {
      Skip(rel, "symlink loop or directory already visited");
      return;
    }
    if (options_.use_gitignore) {
      stdfs::path gi = dir / ".gitignore";
      std::error_code ec;
      if (stdfs::is_regular_file(gi, ec)) {
        auto content = dsx::fs::ReadFile(gi);
        if (content.ok()) ignore_.AddFile(rel, *content);
      }
    }
    std::error_code ec;
    stdfs::directory_iterator it(dir, stdfs::directory_options::none, ec);
    if (ec) {
      Skip(rel.empty() ? "." : rel, "cannot read directory: " + ec.message());
      return;
    }
    std::vector<std::pair<std::string, stdfs::path>> entries;
    for (; it != stdfs::directory_iterator(); it.increment(ec)) {
      if (ec) {
        Skip(rel.empty() ? "." : rel, "directory listing stopped: " + ec.message());
        break;
      }
      entries.emplace_back(it->path().filename().string(), it->path());
    }
    std::sort(entries.begin(), entries.end());  // deterministic order
    for (const auto& [name, path] : entries) {
      std::string child = rel.empty() ? name : rel + "/" + name;
      std::error_code sec;
      auto status = stdfs::status(path, sec);  // follows symlinks
      if (sec) {
        auto lstatus = stdfs::symlink_status(path, sec);
        if (stdfs::is_symlink(lstatus)) Skip(child, "broken or looping symlink");
        else Skip(child, "cannot stat: " + sec.message());
        continue;
      }
      if (stdfs::is_directory(status)) {
        if (IsSkippedDir(name)) continue;
        if (options_.use_gitignore && ignore_.Ignored(child, true)) continue;
        Dir(path, child);
      } else if (stdfs::is_regular_file(status)) {
        File(path, child, name);
      }
    }
  }

  void File(const stdfs::path& path, const std::string& rel, const std::string& name) {
    SourceFile f;
    f.lang = LangForPath(name);
    f.manifest = f.lang == Lang::kNone && IsManifestName(name);
    if (f.lang == Lang::kNone && !f.manifest) return;
    if (options_.use_gitignore && ignore_.Ignored(rel, false)) return;
    if (name.size() > 7 && (EndsWith(name, ".min.js") || EndsWith(name, ".bundle.js"))) return;  // generated
    std::error_code ec;
    f.size = stdfs::file_size(path, ec);
    if (ec) {
      Skip(rel, "cannot stat: " + ec.message());
      return;
    }
    std::uintmax_t limit = f.manifest ? options_.max_file_bytes * 16 : options_.max_file_bytes;
    if (f.size > limit) {
      Skip(rel,
           "larger than " + std::to_string(limit >> 10) + " KiB (" + std::to_string(f.size >> 10) + " KiB); not read");
      return;
    }
    f.path = path;
    f.rel = rel;
    result_.files.push_back(std::move(f));
    if (options_.on_found) options_.on_found(result_.files.size());
  }

  bool IsSkippedDir(const std::string& name) const {
    for (const auto& s : options_.skip_dirs)
      if (s == name) return true;
    return false;
  }

  void Skip(std::string path, std::string reason) { result_.skipped.push_back({std::move(path), std::move(reason)}); }

  WalkResult Take() { return std::move(result_); }

 private:
  stdfs::path root_;
  const WalkOptions& options_;
  Gitignore ignore_;
  std::set<std::pair<dev_t, ino_t>> visited_;
  WalkResult result_;
};

}  // namespace

Result<WalkResult> WalkSources(const stdfs::path& root, const WalkOptions& options) {
  std::error_code ec;
  auto status = stdfs::status(root, ec);
  if (ec || !stdfs::exists(status))
    return Status::NotFound("cannot open '" + root.string() + "': no such file or directory");
  Walker walker(root, options);
  if (stdfs::is_directory(status)) {
    walker.Dir(root, "");
  } else {
    walker.File(root, root.filename().string(), root.filename().string());
  }
  return walker.Take();
}

}  // namespace dsx::audit
