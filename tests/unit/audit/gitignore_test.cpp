#include <doctest/doctest.h>

#include "audit/static/gitignore.hpp"
#include "audit/static/source_walker.hpp"

using dsx::audit::Gitignore;
using dsx::audit::GlobMatch;

TEST_CASE("glob: * and ? stay within a path segment, ** crosses them") {
  CHECK(GlobMatch("*.js", "a.js"));
  CHECK_FALSE(GlobMatch("*.js", "dir/a.js"));
  CHECK(GlobMatch("**/route.ts", "app/api/chat/route.ts"));
  CHECK(GlobMatch("**/route.ts", "route.ts"));
  CHECK(GlobMatch("app/**", "app/x/y"));
  CHECK(GlobMatch("a/**/b", "a/b"));
  CHECK(GlobMatch("a/**/b", "a/x/y/b"));
  CHECK(GlobMatch("file?.txt", "file1.txt"));
  CHECK_FALSE(GlobMatch("file?.txt", "file/.txt"));
  CHECK(GlobMatch("[abc].py", "b.py"));
  CHECK_FALSE(GlobMatch("[!abc].py", "b.py"));
  CHECK(GlobMatch("**/stop/route.ts", "app/api/chat/[id]/stop/route.ts"));
}

TEST_CASE("gitignore: unanchored names match at any depth, anchored ones from their base") {
  Gitignore g;
  g.AddFile("", "# comment\n\ndist/\n*.log\n/build-out\n!keep.log\n");
  CHECK(g.Ignored("dist", true));
  CHECK(g.Ignored("pkg/dist", true));
  CHECK_FALSE(g.Ignored("dist", false));  // dir-only pattern, a file named dist
  CHECK(g.Ignored("x/y.log", false));
  CHECK_FALSE(g.Ignored("keep.log", false));  // negation wins (later line)
  CHECK(g.Ignored("build-out", true));
  CHECK_FALSE(g.Ignored("sub/build-out", true));  // anchored to the root
}

TEST_CASE("gitignore: a nested .gitignore applies only below its directory") {
  Gitignore g;
  g.AddFile("web", "generated/\n/local.ts\n");
  CHECK(g.Ignored("web/generated", true));
  CHECK(g.Ignored("web/a/generated", true));
  CHECK_FALSE(g.Ignored("generated", true));
  CHECK(g.Ignored("web/local.ts", false));
  CHECK_FALSE(g.Ignored("web/a/local.ts", false));
  CHECK_FALSE(g.Ignored("webx/generated", true));
}

TEST_CASE("languages by extension; declarations and unknown files are not sources") {
  using dsx::audit::Lang;
  using dsx::audit::LangForPath;
  CHECK(LangForPath("a/b.tsx") == Lang::kTsx);
  CHECK(LangForPath("a/b.mts") == Lang::kTypeScript);
  CHECK(LangForPath("a/b.d.ts") == Lang::kNone);
  CHECK(LangForPath("b.jsx") == Lang::kJavaScript);
  CHECK(LangForPath("b.py") == Lang::kPython);
  CHECK(LangForPath("b.go") == Lang::kNone);
  CHECK(dsx::audit::IsManifestName("requirements-dev.txt"));
  CHECK_FALSE(dsx::audit::IsManifestName("notes.txt"));
}
