#!/usr/bin/env bash
# Run the Durable Streams conformance suite against a fresh `dsx session serve`.
#   run_conformance.sh DSX_BINARY memory|file|redis [vitest args...]
# Starts the server on a free port (500 ms long-poll timeout), runs vitest, prints the pass
# count, exits non-zero if any test failed or the server died.
# redis: starts its own redis-server (AOF, appendfsync always, no RDB) on a free loopback port
# with a temp dir and serves with --store redis://127.0.0.1:PORT; exits 77 (skipped) with a
# message only when redis-server is not installed.
set -euo pipefail
dsx=$1
store=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/@durable-streams/server-conformance-tests" ]; then
  echo "conformance: node packages missing; run scripts/setup (npm ci in tests/conformance)" >&2
  exit 1
fi
case $store in memory|file|redis) ;; *) echo "conformance: unknown store '$store' (memory, file or redis)" >&2; exit 2 ;; esac
if [ "$store" = redis ] && ! command -v redis-server >/dev/null; then
  echo "conformance: SKIP: redis-server is not installed (apt: scripts/deps/scale.apt)" >&2
  exit 77
fi
work=$(mktemp -d)
log="$work/serve.log"
pid=""
redis_pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
args=(session serve --listen 127.0.0.1:0 --long-poll-timeout-ms 500)
if [ "$store" = memory ]; then
  args+=(--memory)
elif [ "$store" = file ]; then
  args+=(--data "$work/data" --fsync always)
else
  redis_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$work/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save "" --appendonly yes \
    --appendfsync always --daemonize no --logfile "$work/redis/redis.log" &
  redis_pid=$!
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
    kill -0 "$redis_pid" 2>/dev/null || { echo "conformance: redis-server exited:" >&2; cat "$work/redis/redis.log" >&2; exit 1; }
    sleep 0.1
  done
  [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] || { echo "conformance: redis-server did not answer" >&2; exit 1; }
  args+=(--store "redis://127.0.0.1:$redis_port")
fi
# Created here: the redirection below happens in the background child, and under load the
# loop further down could read the log before the child has created it.
: > "$log"
"$dsx" "${args[@]}" 2>"$log" &
pid=$!
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
