// Known grammar gaps repaired before a second parse (lib/audit/static/parse_repair.hpp).
#include <doctest/doctest.h>

#include <string>

#include "audit/static/parse_repair.hpp"
#include "audit/static/syntax.hpp"

using namespace dsx::audit;

namespace {

// Parse, repair the error rows once, parse again: the error count after.
int ErrorsAfterRepair(Lang lang, std::string text, std::string* repaired = nullptr) {
  auto first = ParsedFile::Parse(lang, "f", text);
  REQUIRE(first.ok());
  ParseErrors errors = FindParseErrors(**first);
  if (errors.count == 0) return 0;
  RepairKnownGrammarGaps(lang, text, errors.rows);
  if (repaired) *repaired = text;
  auto second = ParsedFile::Parse(lang, "f", text);
  REQUIRE(second.ok());
  return FindParseErrors(**second).count;
}

}  // namespace

TEST_CASE("parse repair: a bare & in JSX text is blanked; entities, && and &= are kept") {
  std::string src = "export function A() {\n  return <p>Terms & conditions &amp; more</p>;\n}\n";
  auto first = ParsedFile::Parse(Lang::kTsx, "a.tsx", src);
  REQUIRE(first.ok());
  ParseErrors errors = FindParseErrors(**first);
  REQUIRE(errors.count > 0);  // the grammar gap this works around; if a new grammar fixes it, drop the repair
  CHECK(errors.rows.front() == 1);
  std::string repaired;
  CHECK(ErrorsAfterRepair(Lang::kTsx, src, &repaired) == 0);
  CHECK(repaired.size() == src.size());
  CHECK(repaired.find("Terms   conditions &amp; more") != std::string::npos);
  std::string code = "const x = <div>R&D</div>;\nconst y = a && b;\nlet z = 1; z &= 2;\n";
  CHECK(ErrorsAfterRepair(Lang::kJavaScript, code, &repaired) == 0);
  CHECK(repaired.find("a && b") != std::string::npos);
  CHECK(repaired.find("z &= 2") != std::string::npos);
}

TEST_CASE("parse repair: import(\"m\").T types in TypeScript") {
  std::string src = "type T = import('./x').Foo;\nexport let v: import(\"ai\").UIMessage[] = [];\n";
  std::string repaired;
  CHECK(ErrorsAfterRepair(Lang::kTypeScript, src, &repaired) == 0);
  CHECK(repaired.size() == src.size());
  // Dynamic imports are code, and are never on an error row: untouched.
  std::string dyn = "const m = await import('./m');\nlet broken = ;\n";
  CHECK(ErrorsAfterRepair(Lang::kTypeScript, dyn, &repaired) > 0);
  CHECK(repaired.find("await import('./m')") != std::string::npos);
}

TEST_CASE("parse repair: a real syntax error stays one, and only error rows are touched") {
  std::string src = "const a = b & c;\nfunction (\n";
  std::string repaired;
  CHECK(ErrorsAfterRepair(Lang::kJavaScript, src, &repaired) > 0);
  CHECK(repaired.find("b & c") != std::string::npos);  // row 0 had no error
  std::string py = "def f(:\n  x = a & b\n";
  CHECK_FALSE(RepairKnownGrammarGaps(Lang::kPython, py, {0, 1}));
}

TEST_CASE("parse repair: '&&' in JSX text needs the aggressive pass, which the code rows never get") {
  std::string src = "const y = a && b;\nexport const A = () => <p>a && b</p>;\n";
  auto first = ParsedFile::Parse(Lang::kTsx, "a.tsx", src);
  REQUIRE(first.ok());
  ParseErrors errors = FindParseErrors(**first);
  REQUIRE(errors.count > 0);
  std::string conservative = src;
  RepairKnownGrammarGaps(Lang::kTsx, conservative, errors.rows, false);
  CHECK(conservative == src);
  std::string aggressive = src;
  CHECK(RepairKnownGrammarGaps(Lang::kTsx, aggressive, errors.rows, true));
  auto second = ParsedFile::Parse(Lang::kTsx, "a.tsx", aggressive);
  REQUIRE(second.ok());
  CHECK(FindParseErrors(**second).count == 0);
  CHECK(aggressive.find("const y = a && b;") == 0);  // row 0 had no error
}
