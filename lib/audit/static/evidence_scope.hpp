// What counts as evidence about the product. Tests, scripts, mocks, fixtures and stories hold
// code that never runs in the shipped app: a `void run()` in a test or an asyncio.create_task in a
// seed script proves nothing about how the app streams, and a test file is never a fix target.
// The static audit drops facts from these paths before the capability rules run, unless
// `dsx audit --include-tests` asks for them (StaticAuditOptions::include_tests).
#pragma once

#include <string_view>

namespace dsx::audit {

// True when `rel` (a path relative to the audited root, '/' separators) is test, script, mock,
// fixture or story code, at any depth:
//   folders  tests/ test/ __tests__/ e2e/ spec/ scripts/ __mocks__/ fixtures/ __fixtures__/
//            loadtest(s)/ mock*/ (mocks/, mock_llm/) *_tests/ *-tests/ (integration_tests/)
//   files    *.spec.*  *.test.*  *.stories.*  test_*.py  *_test.py  conftest.py  mock*
// Examples (examples/) are product code of example apps and are NOT excluded.
bool IsNonProductPath(std::string_view rel);

}  // namespace dsx::audit
