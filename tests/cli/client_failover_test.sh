#!/usr/bin/env bash
# Clients with several servers (--server A,B): two `dsx session serve --store redis://` nodes on
# one Redis; readers (long-poll and SSE) and publishers use the list; node A is killed with
# SIGKILL mid-stream. Every reader ends with the exact text: no gap, no duplicate; every publish
# succeeds through B. Needs redis-server; skipped (77) without it.
set -u
dsx=$1
command -v redis-server >/dev/null || { echo "skip: no redis-server"; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp" --save "" --appendonly yes --appendfsync always \
  --logfile "$tmp/redis.log" &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
start_node() {  # $1: name; prints the node's URL
  # stdout away from the caller's $(...), which would otherwise wait for the server to exit
  "$dsx" session serve --store "redis://127.0.0.1:$rport" --listen 127.0.0.1:0 >/dev/null 2>"$tmp/$1.log" &
  echo $! >"$tmp/$1.pid"
  for _ in $(seq 100); do grep -q "listening on" "$tmp/$1.log" && break; sleep 0.1; done
  grep -o "http://127.0.0.1:[0-9]*" "$tmp/$1.log" | head -1
}
a=$(start_node a)
b=$(start_node b)
apid=$(cat "$tmp/a.pid")
pids+=("$apid" "$(cat "$tmp/b.pid")")
[ -n "$a" ] && [ -n "$b" ] || { echo "FAIL: nodes did not start"; cat "$tmp"/*.log; exit 1; }
list="$a,$b"
fail=0

"$dsx" session create text/1 --content-type text/plain --server "$a" >/dev/null || fail=1
"$dsx" session create json/1 --content-type application/json --server "$a" >/dev/null || fail=1
"$dsx" session tail -f text/1 --server "$list" >"$tmp/text.out" 2>"$tmp/text.err" &
t1=$!
"$dsx" session tail -f json/1 --jsonl --live sse --server "$list" >"$tmp/json.out" 2>"$tmp/json.err" &
t2=$!
pids+=("$t1" "$t2")
expect_text=""
expect_json=""
publish() {  # $1: i
  printf 'line %s\n' "$1" | "$dsx" session publish text/1 --server "$list" --producer "t$1" --retry-for 20 ||
    { echo "FAIL: publish text $1"; fail=1; }
  printf '{"n":%s}\n' "$1" | "$dsx" session publish json/1 --server "$list" --producer "j$1" --retry-for 20 ||
    { echo "FAIL: publish json $1"; fail=1; }
  expect_text+="line $1"$'\n'
  expect_json+="{\"n\":$1}"$'\n'
}
for i in 1 2 3 4 5; do publish "$i"; done
sleep 0.5
kill -9 "$apid"
for i in 6 7 8 9 10; do publish "$i"; done
"$dsx" session publish text/1 --server "$list" --close </dev/null || { echo "FAIL: close text"; fail=1; }
"$dsx" session publish json/1 --server "$list" --close </dev/null || { echo "FAIL: close json"; fail=1; }
for t in $t1 $t2; do
  for _ in $(seq 100); do kill -0 "$t" 2>/dev/null || break; sleep 0.1; done
  wait "$t" || { echo "FAIL: a tail exited non-zero"; fail=1; }
done
[ "$(cat "$tmp/text.out")"$'\n' == "$expect_text" ] ||
  { echo "FAIL: long-poll reader text differs"; cat "$tmp/text.out" "$tmp/text.err"; fail=1; }
[ "$(cat "$tmp/json.out")"$'\n' == "$expect_json" ] ||
  { echo "FAIL: SSE reader text differs"; cat "$tmp/json.out" "$tmp/json.err"; fail=1; }
grep -q "trying $b" "$tmp/text.err" || { echo "FAIL: no failover notice"; cat "$tmp/text.err"; fail=1; }
[ $fail -eq 0 ] && echo "ok: readers and publishers moved from the killed node to the other, exact text"
exit $fail
