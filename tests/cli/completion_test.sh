#!/usr/bin/env bash
# issue 18: `dsx completion bash|zsh|fish` prints a script made from the binary's own command
# tree. Each must parse (bash -n, and zsh -n / fish -n where those shells are installed), and the
# bash one must complete real words: driven here as bash does it, through COMP_WORDS/COMP_CWORD
# and the function `complete -F` registered.
set -u
dsx=$1
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for shell in bash zsh fish; do
  if ! "$dsx" completion "$shell" >"$tmp/dsx.$shell" 2>"$tmp/err"; then
    echo "FAIL: dsx completion $shell exited non-zero"; cat "$tmp/err"; fail=1; continue
  fi
  [ -s "$tmp/dsx.$shell" ] || { echo "FAIL: dsx completion $shell printed nothing"; fail=1; }
done
bash -n "$tmp/dsx.bash" || { echo "FAIL: bash -n rejects the bash script"; fail=1; }
if command -v zsh >/dev/null; then
  zsh -n "$tmp/dsx.zsh" || { echo "FAIL: zsh -n rejects the zsh script"; fail=1; }
else
  echo "note: zsh not installed, zsh -n skipped"
fi
if command -v fish >/dev/null; then
  fish -n "$tmp/dsx.fish" || { echo "FAIL: fish -n rejects the fish script"; fail=1; }
else
  echo "note: fish not installed, fish -n skipped"
fi
"$dsx" completion tcsh >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: dsx completion tcsh must be a usage error (exit 2)"; fail=1; }

# complete WORDS...: the last word is the one under the cursor; prints COMPREPLY, one per line.
complete_words() {
  bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _dsx dsx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$tmp/dsx.bash" "$@" 2>&1
}
# expect_completion WANT WORDS...: COMPREPLY (sorted, space-joined) must equal WANT.
expect_completion() {
  local want=$1
  shift
  local got
  got=$(complete_words "$@" | sort | xargs)
  if [ "$got" != "$want" ]; then
    echo "FAIL: completing '$*': got '$got', want '$want'"
    fail=1
  fi
}
# expect_has WORD WORDS...: COMPREPLY must hold WORD.
expect_has() {
  local want=$1
  shift
  if ! complete_words "$@" | grep -qx -- "$want"; then
    echo "FAIL: completing '$*' does not offer '$want' (got: $(complete_words "$@" | xargs))"
    fail=1
  fi
}

grep -q "complete -F _dsx dsx" "$tmp/dsx.bash" || { echo "FAIL: bash script registers no completion"; fail=1; }
expect_completion "session" dsx ses
expect_completion "tail" dsx session ta
expect_completion "gen" dsx kernel ge
expect_has "serve" dsx session ""
expect_has "--listen" dsx session serve --li
expect_has "--ready-file" dsx session serve --re
expect_has "--quiet" dsx kernel gen --qu
# An option's choices after it; the word after a value-taking option is not a subcommand.
expect_completion "always batch never" dsx session serve --fsync ""
expect_completion "json" dsx session serve --log-format j
expect_completion "template" dsx kernel gen rmsnorm --provider te
expect_completion "bash" dsx completion ba
expect_completion "tail" dsx --quiet session ta
# After --: the user's own command, not ours.
expect_completion "" dsx session run x/1 -- ses
# zsh: the completion function with zsh's builtins stubbed to print what they are given.
if command -v zsh >/dev/null; then
  got=$(zsh -c '
    compdef() { :; }
    _describe() { shift 3; local n=$1; print -l -- ${(P)n}; }
    compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }
    _files() { print FILES; }
    source "$1"
    words=(dsx ses); CURRENT=2; _dsx | grep "^session:"
    words=(dsx session ta); CURRENT=3; _dsx | grep "^tail:"
    words=(dsx session serve --fsync ""); CURRENT=5; _dsx | xargs
  ' _ "$tmp/dsx.zsh" 2>&1 | cut -d: -f1 | xargs)
  [ "$got" = "session tail always batch never" ] || { echo "FAIL: zsh completion: got '$got'"; fail=1; }
fi
# fish: its own `complete -C` answers what a TAB would offer.
if command -v fish >/dev/null; then
  got=$(fish -c 'source $argv[1]; complete -C "dsx ses"; complete -C "dsx session ta"' "$tmp/dsx.fish" 2>&1 |
    cut -f1 | xargs)
  [ "$got" = "session tail" ] || { echo "FAIL: fish completion: got '$got'"; fail=1; }
fi
[ $fail -eq 0 ] && echo "completion: ok"
exit $fail
