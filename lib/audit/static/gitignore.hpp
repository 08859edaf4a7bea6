// A small .gitignore matcher: enough of gitignore(5) for skipping build output and vendored code.
// Supported: blank lines and '#' comments, '!' negation, trailing '/' (directories only), a leading
// or middle '/' anchoring the pattern to the .gitignore's directory, '*', '?', '[...]' classes and
// '**' (any number of directories). Patterns from deeper .gitignore files are checked after (and
// so override) those of their parents, as git does. Not supported: escaped trailing spaces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dsx::audit {

class Gitignore {
 public:
  // Add the lines of a .gitignore that lives in `base` (relative dir, "" = root, '/' separators).
  void AddFile(std::string_view base, std::string_view content);
  // Is `rel` (relative path, '/' separators) ignored? `is_dir` for directories.
  bool Ignored(std::string_view rel, bool is_dir) const;
  size_t size() const { return patterns_.size(); }

 private:
  struct Pattern {
    std::string base;  // dir of the .gitignore, "" or "a/b"
    std::string glob;  // without '!' and trailing '/'
    bool negate = false;
    bool dir_only = false;
    bool anchored = false;  // contains a '/' (other than trailing): match against the full path
  };
  std::vector<Pattern> patterns_;
};

// Glob match with gitignore semantics: '*' and '?' do not cross '/', '**' does.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace dsx::audit
