#!/usr/bin/env bash
# `dsx session serve --store`: every bad store URL, password file or --redis-wait-replicas is a
# usage error (exit 2) with a clear reason, printed before anything starts; --store memory: and
# file:DIR serve like --memory and --data. No Redis needed.
set -u
dsx=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect_usage() {  # $1: text the message must contain; rest: serve arguments
  local want=$1
  shift
  local out rc
  out=$(timeout 10 "$dsx" session serve --listen 127.0.0.1:0 "$@" 2>&1)
  rc=$?
  if [ $rc -ne 2 ] || ! grep -qF -- "$want" <<<"$out"; then
    echo "FAIL: serve $* -> exit $rc, want 2 and '$want'; got: $out"
    fail=1
  fi
}
expect_usage "want file:DIR, memory:" --store postgres://h/db
expect_usage "want file:DIR" --store file:
expect_usage "rediss:// (TLS) is not supported" --store rediss://127.0.0.1:6390
expect_usage "a password in the redis URL is refused" --store redis://u:pw@127.0.0.1:6390
expect_usage "needs the master name" --store redis+sentinel://127.0.0.1:26390
expect_usage "exclude each other" --store memory: --memory
expect_usage "exclude each other" --store memory: --data "$tmp/d"
expect_usage "want 0..16" --store redis://127.0.0.1:6390 --redis-wait-replicas 17
expect_usage "needs a Redis --store" --memory --redis-wait-replicas 1
expect_usage "needs a Redis --store" --memory --redis-password-file "$tmp/none"
expect_usage "cannot read the Redis password file" --store redis://127.0.0.1:6390 --redis-password-file "$tmp/none"
: >"$tmp/empty"
expect_usage "is empty" --store redis://127.0.0.1:6390 --redis-password-file "$tmp/empty"
DSX_STORE=bogus expect_usage "invalid store 'bogus'"
# A flag on the command line wins over DSX_STORE; memory: and file:DIR start and serve.
for args in "--memory" "--store memory:" "--store file:$tmp/data"; do
  # shellcheck disable=SC2086
  DSX_STORE=bogus "$dsx" session serve --listen 127.0.0.1:0 $args 2>"$tmp/log" &
  pid=$!
  for _ in $(seq 50); do grep -q "listening on" "$tmp/log" && break; sleep 0.1; done
  grep -q "listening on" "$tmp/log" || { echo "FAIL: serve $args did not start"; cat "$tmp/log"; fail=1; }
  kill $pid 2>/dev/null
  wait $pid 2>/dev/null
done
[ -d "$tmp/data" ] || { echo "FAIL: --store file:DIR did not use DIR"; fail=1; }
[ $fail -eq 0 ] && echo "ok: --store flags"
exit $fail
