#!/usr/bin/env bash
# The Redis password never reaches the command line, the serve log or any error message:
# `dsx session serve --store redis://...` takes it from --redis-password-file or DSX_REDIS_PASSWORD,
# refuses it inside the URL, and its log (text and JSON, with --log-requests) never shows it.
# Needs redis-server (Debian redis-server); skipped (77) without it.
set -u
dsx=$1
command -v redis-server >/dev/null || { echo "skip: no redis-server"; exit 77; }
pw='Pw-9f2c-NOT-IN-LOGS'
tmp=$(mktemp -d)
rpid=""
spid=""
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null
  [ -n "$rpid" ] && kill "$rpid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --save "" --appendonly no --requirepass "$pw" \
  --logfile "$tmp/redis.log" &
rpid=$!
for _ in $(seq 50); do redis-cli -p "$port" -a "$pw" --no-auth-warning ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
fail=0
printf '%s\n' "$pw" >"$tmp/pw"
chmod 600 "$tmp/pw"

# 1. A password in the URL is refused (usage error), and the message does not repeat it.
"$dsx" session serve --store "redis://user:$pw@127.0.0.1:$port" --listen 127.0.0.1:0 2>"$tmp/url.log"
rc=$?
[ $rc -eq 2 ] || { echo "FAIL: password in URL: exit $rc, want 2"; fail=1; }
grep -q -- "$pw" "$tmp/url.log" && { echo "FAIL: password echoed in the URL error"; cat "$tmp/url.log"; fail=1; }

# 2. Serve with the file and with the environment; text and JSON logs; requests logged.
run_serve() {  # $1: log file; rest: extra args
  local log=$1
  shift
  "$dsx" session serve --store "redis://127.0.0.1:$port" --listen 127.0.0.1:0 --log-requests "$@" 2>"$log" &
  spid=$!
  for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
  local addr
  addr=$(grep -o "http://127.0.0.1:[0-9]*" "$log" | head -1)
  if [ -z "$addr" ]; then
    echo "FAIL: server did not start ($*)"
    cat "$log"
    fail=1
  else
    curl -s -X PUT "$addr/v1/stream/pwtest-$RANDOM" >/dev/null
    curl -s "$addr/health" >/dev/null
  fi
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  spid=""
}
run_serve "$tmp/file.log" --redis-password-file "$tmp/pw"
DSX_REDIS_PASSWORD="$pw" run_serve "$tmp/env.log" --log-format json
for log in "$tmp/file.log" "$tmp/env.log"; do
  if grep -q -- "$pw" "$log"; then
    echo "FAIL: the Redis password is in the serve log $log"
    cat "$log"
    fail=1
  fi
done

# 3. A wrong password: the error says authentication failed, without the password.
printf 'wrong-%s\n' "$pw" >"$tmp/bad"
chmod 600 "$tmp/bad"
timeout 10 "$dsx" session serve --store "redis://127.0.0.1:$port" --redis-password-file "$tmp/bad" \
  --listen 127.0.0.1:0 2>"$tmp/bad.log" &
spid=$!
sleep 3
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
spid=""
grep -q -- "$pw" "$tmp/bad.log" && { echo "FAIL: password in the wrong-password log"; cat "$tmp/bad.log"; fail=1; }

[ $fail -eq 0 ] && echo "ok: the Redis password is in no log or message"
exit $fail
