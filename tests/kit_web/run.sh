#!/bin/sh
# Runs the AI SDK transport tests: run.sh NODE TESTFILE... Exit 77 (ctest: skipped) when a tool
# the browser tests need is missing: Chromium (apt install chromium) or node_modules (npm ci here;
# scripts/deps/kitweb.npm). The Node-only tests need neither.
node=${1:-node}
shift
cd "$(dirname "$0")" || exit 1
case "$*" in *browser*)
  if [ ! -x "${DSX_CHROMIUM:-/usr/bin/chromium}" ]; then echo "kit_web: skipped: no chromium (apt install chromium)"; exit 77; fi
  if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/@ai-sdk/react ] || [ ! -d node_modules/esbuild ]; then
    echo "kit_web: skipped: no node_modules (npm ci in tests/kit_web)"; exit 77; fi
esac
exec "$node" --test --test-concurrency=1 --test-timeout=200000 --test-reporter=spec "$@"
