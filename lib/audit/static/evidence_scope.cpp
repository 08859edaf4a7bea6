// Non-product paths; see evidence_scope.hpp.
#include "audit/static/evidence_scope.hpp"

#include <array>
#include <cctype>
#include <string>

namespace dsx::audit {

namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Folder names compared case-insensitively: Windows-made repositories have Tests/ and Scripts/.
std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsNonProductDir(std::string_view dir) {
  static constexpr std::array<std::string_view, 11> kDirs = {"tests",    "test",      "__tests__",   "e2e",
                                                             "spec",     "scripts",   "__mocks__",   "fixtures",
                                                             "loadtest", "loadtests", "__fixtures__"};
  std::string d = Lower(dir);
  for (auto k : kDirs)
    if (d == k) return true;
  // mocks/, mock_llm/, mock-server/; integration_tests/, load-tests/
  return StartsWith(d, "mock") || EndsWith(d, "_tests") || EndsWith(d, "-tests");
}

// `name` has `.tag.` between its stem and its extension: page.test.tsx, chat.spec.ts, Button.stories.jsx.
bool HasInfix(std::string_view name, std::string_view tag) {
  std::string needle = "." + std::string(tag) + ".";
  return name.find(needle) != std::string_view::npos;
}

bool IsNonProductFile(std::string_view file) {
  std::string name = Lower(file);
  if (HasInfix(name, "spec") || HasInfix(name, "test") || HasInfix(name, "stories")) return true;
  if (EndsWith(name, ".py") && (StartsWith(name, "test_") || EndsWith(name, "_test.py") || name == "conftest.py"))
    return true;
  return StartsWith(name, "mock");  // mockServer.ts, mock_llm.py, mocks.ts
}

}  // namespace

bool IsNonProductPath(std::string_view rel) {
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) return IsNonProductFile(rel.substr(start));
    if (IsNonProductDir(rel.substr(start, slash - start))) return true;
    start = slash + 1;
  }
  return false;
}

}  // namespace dsx::audit
