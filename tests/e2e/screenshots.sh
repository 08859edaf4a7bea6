#!/bin/sh
# Regenerates the screenshots in docs/screenshots (docs/web-ui.md) with the built dsx:
#   tests/e2e/screenshots.sh [NODE]        (DSX_BIN defaults to build/bin/dsx)
# Then look at every PNG before committing it.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export DSX_BIN="${DSX_BIN:-$root/build/bin/dsx}"
export DSX_E2E_SHOTS_DIR="$root/docs/screenshots"
exec "$here/run.sh" "${1:-node}" screenshots.test.mjs
