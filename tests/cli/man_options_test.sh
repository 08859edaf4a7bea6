#!/usr/bin/env bash
# issue 18: --help and the man pages agree: every long option a (sub)command's --help lists is
# documented in its group's man page (man/dsx-GROUP.1, else man/dsx.1). Commands are found by
# walking the "Subcommands:" sections, as help_test.sh does.
# Usage: man_options_test.sh DSX MAN_DIR
set -u
dsx=$1
man=$2
fail=0
checked=0
walk() {
  local out
  out=$("$dsx" "$@" --help 2>&1)
  if [ $# -ge 1 ]; then
    local page=$man/dsx-$1.1
    [ -f "$page" ] || page=$man/dsx.1
    local options
    options=$(awk '/^Options:/{on=1} /^Subcommands:/{on=0} on' <<<"$out" | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
    for o in $options; do
      case $o in --help | --quiet) continue ;; esac  # documented once, in dsx(1)
      checked=$((checked + 1))
      local escaped=${o//-/\\-}
      if ! grep -qF -- "$escaped" "$page" && ! grep -qF -- "$o" "$page"; then
        echo "FAIL: dsx $*: $o is in --help but not in $(basename "$page")"
        fail=1
      fi
    done
  fi
  local subs
  subs=$(awk '/^Subcommands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}' <<<"$out")
  for s in $subs; do walk "$@" "$s"; done
}
walk
grep -qF -- '\-\-quiet' "$man/dsx.1" || { echo "FAIL: --quiet is not in dsx.1"; fail=1; }
echo "checked $checked options against the man pages"
exit $fail
