// The official Durable Streams server conformance suite (pinned in package.json), run against
// the server at CONFORMANCE_TEST_URL. The published CLI cannot find its test file from an npm
// install (vitest include globs), so this file is the entry point (see the research note).
import { runConformanceTests } from "@durable-streams/server-conformance-tests"

runConformanceTests({
  baseUrl: process.env.CONFORMANCE_TEST_URL,
  longPollTimeoutMs: Number(process.env.LONG_POLL_MS ?? 20000),
  // subscriptions: false — dsx does not implement the reserved __ds subscription APIs.
})
