#!/usr/bin/env bash
# Run the Durable Streams conformance suite against a fresh `dsx session serve`.
#   run_conformance.sh DSX_BINARY memory|file [vitest args...]
# Starts the server on a free port (500 ms long-poll timeout), runs vitest, prints the pass
# count, exits non-zero if any test failed or the server died.
set -euo pipefail
dsx=$1
store=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/@durable-streams/server-conformance-tests" ]; then
  echo "conformance: node packages missing; run scripts/setup (npm ci in tests/conformance)" >&2
  exit 1
fi
work=$(mktemp -d)
log="$work/serve.log"
args=(session serve --listen 127.0.0.1:0 --long-poll-timeout-ms 500)
if [ "$store" = memory ]; then
  args+=(--memory)
else
  args+=(--data "$work/data" --fsync always)
fi
# Created here: the redirection below happens in the background child, and under load the
# loop further down could read the log before the child has created it.
: > "$log"
"$dsx" "${args[@]}" 2>"$log" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^dsx: listening on \(http:[^ ]*\)$/\1/p' "$log" | head -1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "conformance: server exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "conformance: server did not report its address" >&2; cat "$log" >&2; exit 1; }
echo "conformance: $store store at $url" >&2
cd "$here"
set +e
# --testTimeout: the suite's 5 s default is a client-CPU budget too (one test checks 102400
# bytes with one expect() each, ~8 s on a loaded 2-core box); the server's own timing is held
# by the 500 ms long-poll timeout and the TTL tests, which do not depend on this value.
CONFORMANCE_TEST_URL=$url LONG_POLL_MS=500 npx --no-install vitest run conformance.test.mjs \
  --testTimeout "${DSX_CONFORMANCE_TEST_TIMEOUT_MS:-20000}" --reporter=default --reporter=json --outputFile="$work/results.json" "$@"
rc=$?
set -e
if ! kill -0 "$pid" 2>/dev/null; then
  echo "conformance: the server died during the run" >&2
  tail -20 "$log" >&2
  rc=1
fi
if [ -f "$work/results.json" ]; then
  node -e '
    const r = require(process.argv[1]);
    console.log(`conformance: ${r.numPassedTests}/${r.numTotalTests - r.numPendingTests} passed (${r.numFailedTests} failed, ${r.numPendingTests} skipped)`);
  ' "$work/results.json"
fi
exit $rc
