// .gitignore matching; see gitignore.hpp for what is supported.
#include "audit/static/gitignore.hpp"

namespace dsx::audit {

namespace {

// Match a '[...]' class at p (p points after '['); sets `consumed` to the chars used in the pattern.
bool ClassMatch(std::string_view p, char c, size_t& consumed) {
  size_t i = 0;
  bool negate = false;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  while (i < p.size() && (p[i] != ']' || first)) {
    first = false;
    if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      if (c >= p[i] && c <= p[i + 2]) matched = true;
      i += 3;
    } else {
      if (p[i] == c) matched = true;
      ++i;
    }
  }
  if (i >= p.size()) {  // no closing ']': treat '[' literally
    consumed = 0;
    return c == '[';
  }
  consumed = i + 1;
  return matched != negate;
}

bool Match(std::string_view p, std::string_view t) {
  while (!p.empty()) {
    if (p.size() >= 2 && p[0] == '*' && p[1] == '*') {
      // '**/' matches zero or more directories; a trailing '**' matches everything.
      std::string_view rest = p.substr(2);
      if (!rest.empty() && rest[0] == '/') rest = rest.substr(1);
      if (rest.empty()) return true;
      for (size_t i = 0; i <= t.size(); ++i) {
        if ((i == 0 || t[i - 1] == '/') && Match(rest, t.substr(i))) return true;
      }
      return false;
    }
    if (p[0] == '*') {
      std::string_view rest = p.substr(1);
      for (size_t i = 0; i <= t.size(); ++i) {
        if (Match(rest, t.substr(i))) return true;
        if (i < t.size() && t[i] == '/') break;
      }
      return false;
    }
    if (t.empty()) return false;
    if (p[0] == '?') {
      if (t[0] == '/') return false;
      p.remove_prefix(1);
      t.remove_prefix(1);
      continue;
    }
    if (p[0] == '[') {
      size_t used = 0;
      if (!ClassMatch(p.substr(1), t[0], used)) return false;
      if (t[0] == '/') return false;
      p.remove_prefix(used == 0 ? 1 : used + 1);
      t.remove_prefix(1);
      continue;
    }
    if (p[0] == '\\' && p.size() > 1) p.remove_prefix(1);
    if (p[0] != t[0]) return false;
    p.remove_prefix(1);
    t.remove_prefix(1);
  }
  return t.empty();
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) { return Match(pattern, text); }

void Gitignore::AddFile(std::string_view base, std::string_view content) {
  size_t pos = 0;
  while (pos <= content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string line(content.substr(pos, end - pos));
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') {
      if (end == content.size()) break;
      continue;
    }
    Pattern p;
    p.base = std::string(base);
    if (line[0] == '!') {
      p.negate = true;
      line.erase(0, 1);
    } else if (line[0] == '\\') {
      line.erase(0, 1);
    }
    if (!line.empty() && line.back() == '/') {
      p.dir_only = true;
      line.pop_back();
    }
    if (line.find('/') != std::string::npos) p.anchored = true;
    if (!line.empty() && line[0] == '/') line.erase(0, 1);
    if (line.empty()) continue;
    p.glob = line;
    patterns_.push_back(std::move(p));
    if (end == content.size()) break;
  }
}

bool Gitignore::Ignored(std::string_view rel, bool is_dir) const {
  bool ignored = false;
  for (const auto& p : patterns_) {
    if (p.dir_only && !is_dir) continue;
    std::string_view path = rel;
    if (!p.base.empty()) {
      if (path.size() <= p.base.size() || path.substr(0, p.base.size()) != p.base || path[p.base.size()] != '/')
        continue;
      path.remove_prefix(p.base.size() + 1);
    }
    bool hit;
    if (p.anchored) {
      hit = Match(p.glob, path);
    } else {
      size_t slash = path.rfind('/');
      hit = Match(p.glob, slash == std::string_view::npos ? path : path.substr(slash + 1));
    }
    if (hit) ignored = !p.negate;
  }
  return ignored;
}

}  // namespace dsx::audit
