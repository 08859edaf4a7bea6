#!/usr/bin/env bash
# issue 18: `dsx session serve --listen 127.0.0.1:0` says where it listens in a machine-readable
# way: --ready-file PATH (JSON {"listen","url","pid"}, written whole once listening, removed on a
# clean exit), --json (the same object as one line on stdout), and with --log-format json every
# stderr line is JSON (no plain "dsx: listening on" line among them). --quiet drops the notice.
set -u
dsx=$1
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0

# wait_for FILE PATTERN: up to 10 s for PATTERN in FILE.
wait_for() {
  for _ in $(seq 100); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
stop() {
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}

# --ready-file + --json + --log-format json.
"$dsx" session serve --memory --listen 127.0.0.1:0 --ready-file "$tmp/ready.json" --json --log-format json \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
if ! wait_for "$tmp/ready.json" '"url"'; then
  echo "FAIL: no --ready-file"; cat "$tmp/err"; fail=1
else
  ready=$(cat "$tmp/ready.json")
  python3 - "$ready" "$pid" <<'PY' || fail=1
import json, sys
r = json.loads(sys.argv[1])
assert set(r) == {"listen", "url", "pid"}, r
host, port = r["listen"].rsplit(":", 1)
assert host == "127.0.0.1" and int(port) > 0, r
assert r["url"] == "http://" + r["listen"], r
assert r["pid"] == int(sys.argv[2]), (r, sys.argv[2])
PY
  url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$tmp/ready.json")
  curl -fsS -X PUT "$url/v1/stream/ready-check" >/dev/null || { echo "FAIL: $url does not answer"; fail=1; }
  wait_for "$tmp/out" '"url"' || { echo "FAIL: --json printed no ready line on stdout"; fail=1; }
  [ "$(wc -l <"$tmp/out")" -eq 1 ] || { echo "FAIL: --json: want one line on stdout"; cat "$tmp/out"; fail=1; }
  cmp -s <(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$tmp/out") \
    <(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$tmp/ready.json") ||
    { echo "FAIL: --json line and --ready-file differ"; fail=1; }
fi
stop
# Every stderr line is JSON; the listening line is one of them, with the address.
python3 - "$tmp/err" <<'PY' || fail=1
import json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
for l in lines:
    try:
        json.loads(l)
    except ValueError:
        sys.exit("FAIL: --log-format json: a stderr line is not JSON: " + l)
if not any(json.loads(l).get("url", "").startswith("http://127.0.0.1:") for l in lines):
    sys.exit("FAIL: --log-format json: no JSON listening line with the url")
PY
[ -e "$tmp/ready.json" ] && { echo "FAIL: --ready-file left behind after a clean exit"; fail=1; }

# Text logs keep the human line; --quiet drops it (the ready file still comes).
"$dsx" session serve --memory --listen 127.0.0.1:0 --quiet --ready-file "$tmp/r2.json" 2>"$tmp/err2" &
pid=$!
wait_for "$tmp/r2.json" '"url"' || { echo "FAIL: --quiet: no ready file"; fail=1; }
stop
grep -q "listening on" "$tmp/err2" && { echo "FAIL: --quiet still prints the listening line"; fail=1; }

# A ready file nobody can write is a usage error before anything starts.
out=$("$dsx" session serve --memory --listen 127.0.0.1:0 --ready-file "$tmp/no/such/dir/r.json" 2>&1)
rc=$?
{ [ $rc -eq 2 ] && grep -q "ready-file" <<<"$out"; } || { echo "FAIL: bad --ready-file: exit $rc: $out"; fail=1; }
[ $fail -eq 0 ] && echo "serve ready: ok"
exit $fail
