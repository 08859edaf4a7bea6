#!/usr/bin/env bash
# issue 18: -q/--quiet is accepted by every command, before the group or after the command, and
# drops notices and progress from stderr while the result (stdout) stays.
# Usage: quiet_test.sh DSX
set -u
dsx=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DSX_JOBS_DIR=$tmp/jobs
fail=0

# Every (sub)command's --help lists it (help_test.sh's walk).
walk() {
  local out
  out=$("$dsx" "$@" --help 2>&1)
  grep -q -- "--quiet" <<<"$out" || { echo "FAIL: dsx $* --help has no --quiet"; fail=1; }
  local subs
  subs=$(awk '/^Subcommands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}' <<<"$out")
  for s in $subs; do walk "$@" "$s"; done
}
walk

# jobs submit: the id on stdout either way; the "submitted" notice only without --quiet.
for args in "jobs submit --backend local -- true" "-q jobs submit --backend local -- true" \
  "jobs submit --backend local --quiet -- true" "jobs submit -q --backend local -- true"; do
  # shellcheck disable=SC2086
  "$dsx" $args >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ $rc -eq 0 ] || { echo "FAIL: dsx $args: exit $rc"; cat "$tmp/err"; fail=1; continue; }
  grep -q '^j-' "$tmp/out" || { echo "FAIL: dsx $args: no job id on stdout"; fail=1; }
  case $args in
    *-q* | *--quiet*) [ -s "$tmp/err" ] && { echo "FAIL: dsx $args: stderr not empty:"; cat "$tmp/err"; fail=1; } ;;
    *) grep -q "submitted job" "$tmp/err" || { echo "FAIL: dsx $args: no notice without --quiet"; fail=1; } ;;
  esac
done
# An error still shows under --quiet.
"$dsx" -q kernel show no-such-task >/dev/null 2>"$tmp/err"
[ -s "$tmp/err" ] || { echo "FAIL: --quiet hid an error"; fail=1; }
[ $fail -eq 0 ] && echo "quiet: ok"
exit $fail
