#!/bin/sh
# Runs web UI e2e test files: run.sh NODE [FILE.test.mjs...] (default ui.test.mjs).
# Exit 77 when its tools are missing (ctest: skipped).
node=${1:-node}
[ $# -gt 0 ] && shift
[ $# -eq 0 ] && set -- ui.test.mjs
cd "$(dirname "$0")" || exit 1
if [ ! -x "${DSX_CHROMIUM:-/usr/bin/chromium}" ]; then echo "e2e: skipped: no chromium (apt install chromium)"; exit 77; fi
if [ ! -d node_modules/playwright-core ]; then echo "e2e: skipped: no node_modules (npm ci in tests/e2e)"; exit 77; fi
exec "$node" --test --test-concurrency=1 --test-timeout=200000 --test-reporter=spec "$@"
