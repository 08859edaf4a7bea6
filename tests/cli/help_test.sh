#!/usr/bin/env bash
# Runs --help on every (sub)command of dsx (git's t0012-help.sh): each must exit 0 and print a
# usage line. New subcommands are found by walking the "Subcommands:" sections, so nothing to list here.
set -u
dsx=$1
fail=0
checked=0
walk() {
  local out
  out=$("$dsx" "$@" --help 2>&1)
  local rc=$?
  checked=$((checked + 1))
  if [ $rc -ne 0 ] || ! grep -q "Usage:" <<<"$out"; then
    echo "FAIL: dsx $* --help (exit $rc)"
    echo "$out" | head -5
    fail=1
    return
  fi
  local subs
  subs=$(awk '/^Subcommands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}' <<<"$out")
  for s in $subs; do walk "$@" "$s"; done
}
walk
"$dsx" --version | grep -q "^dsx [0-9]" || { echo "FAIL: dsx --version"; fail=1; }
"$dsx" no-such-command >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: unknown command must exit 2"; fail=1; }
echo "checked --help on $checked commands"
exit $fail
