#include <doctest/doctest.h>

#include "audit/static/evidence_scope.hpp"

using dsx::audit::IsNonProductPath;

TEST_CASE("evidence scope: test, script, mock and fixture folders at any depth are not product code") {
  for (const char* p :
       {"tests/chat.ts", "test/app.py", "src/__tests__/chat.tsx", "e2e/stop.spec.ts", "packages/web/e2e/resume.ts",
        "spec/helpers.js", "scripts/seed.py", "tools/scripts/run.ts", "mocks/llm.ts", "src/__mocks__/ai.ts",
        "tests/fixtures/app/route.ts", "fixtures/stream.py", "apps/api/Tests/test_chat.py", "Scripts/migrate.js"})
    CHECK_MESSAGE(IsNonProductPath(p), p);
}

TEST_CASE("evidence scope: test, spec, story and mock file names are not product code") {
  for (const char* p : {"app/chat/page.test.tsx", "lib/stream.spec.ts", "components/Chat.stories.tsx",
                        "app/test_server.py", "app/server_test.py", "conftest.py", "backend/conftest.py",
                        "lib/mockServer.ts", "app/mock_llm.py", "src/mocks.ts", "src/MockProvider.tsx"})
    CHECK_MESSAGE(IsNonProductPath(p), p);
}

TEST_CASE("evidence scope: product code, examples and look-alike names stay") {
  for (const char* p : {"app/api/chat/route.ts", "examples/chat/app.py", "src/testing-library.ts", "app/contest.py",
                        "lib/latest.ts", "lib/specs.ts", "app/api/test-run/route.ts", "main.py", "server.js",
                        "app/protest.py", "src/hammock.ts", "lib/testimonials/page.tsx", "app/e2e-keys.ts",
                        "app/script.ts", "app/hammock/page.tsx", "app/tests-page/route.ts", "src/latest_tests.ts"})
    CHECK_MESSAGE(!IsNonProductPath(p), p);
}
