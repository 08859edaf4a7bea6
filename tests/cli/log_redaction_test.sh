#!/usr/bin/env bash
# Secrets never reach logs: with --log-requests, a bearer token passed in the query
# (`access_token=`, as browsers and SSE clients do) is logged as REDACTED.
set -u
dsx=$1
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
"$dsx" session serve --memory --listen 127.0.0.1:0 --log-requests 2>"$tmp/log" &
pid=$!
for _ in $(seq 50); do grep -q "listening on" "$tmp/log" && break; sleep 0.1; done
addr=$(grep -o "http://127.0.0.1:[0-9]*" "$tmp/log" | head -1)
[ -n "$addr" ] || { echo "FAIL: server did not start"; cat "$tmp/log"; exit 1; }
curl -s "$addr/v1/stream/x?offset=-1&access_token=SECRET-ONE" >/dev/null
curl -s "$addr/health?access_token=SECRET-TWO&x=1" >/dev/null
kill $pid; wait $pid 2>/dev/null
if grep -q "SECRET-" "$tmp/log"; then echo "FAIL: token in the log"; cat "$tmp/log"; exit 1; fi
[ "$(grep -c 'access_token=REDACTED' "$tmp/log")" -eq 2 ] || { echo "FAIL: requests not logged"; cat "$tmp/log"; exit 1; }
echo "ok: tokens redacted"
