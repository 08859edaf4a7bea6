#!/usr/bin/env bash
# issue 18: usage errors say what to do next. Each case runs dsx and checks its exit code (2, as
# man dsx documents for usage errors) and lines of its stderr.
set -u
dsx=$1
fail=0
err=$(mktemp)
trap 'rm -f "$err"' EXIT

# expect CODE PATTERN... -- ARGS...: exit CODE and stderr matching every (grep -E) PATTERN.
expect() {
  local code=$1
  shift
  local patterns=()
  while [ "$1" != "--" ]; do
    patterns+=("$1")
    shift
  done
  shift
  "$dsx" "$@" >/dev/null 2>"$err"
  local rc=$?
  if [ "$rc" -ne "$code" ]; then
    echo "FAIL: dsx $* exited $rc, want $code"
    sed 's/^/  /' "$err" | head -8
    fail=1
    return
  fi
  for p in "${patterns[@]}"; do
    if ! grep -Eq -- "$p" "$err"; then
      echo "FAIL: dsx $*: stderr lacks /$p/"
      sed 's/^/  /' "$err" | head -8
      fail=1
    fi
  done
}
# refute PATTERN -- ARGS...: stderr must not match.
refute() {
  local p=$1
  shift 2
  "$dsx" "$@" >/dev/null 2>"$err"
  if grep -Eq -- "$p" "$err"; then
    echo "FAIL: dsx $*: stderr has /$p/"
    sed 's/^/  /' "$err" | head -8
    fail=1
  fi
}

# An agent command with options of its own, without --: name the command and suggest --.
expect 2 "unknown option '-c' for 'dsx session run'" \
  "put the command after --: dsx session run x/1 -- bash -c 'echo hi'" \
  "see 'dsx session run --help'" -- session run x/1 bash -c 'echo hi'
refute "see 'dsx --help'" -- session run x/1 bash -c 'echo hi'

# Bare dsx, a group without a command: the usage with the list of subcommands.
expect 2 "'dsx' needs a command" "^Usage: dsx" "^Subcommands:" "^  session" "^  kernel" --
expect 2 "'dsx session' needs a command" "Usage: dsx session" "^  serve" "^  tail" -- session
expect 2 "'dsx kernel' needs a command" "^  gen" -- kernel

# An unknown command: named, with a did-you-mean when close, and the list.
expect 2 "unknown command 'sesion' for 'dsx' \(did you mean 'session'\?\)" "^  session" -- sesion
expect 2 "unknown command 'tial' for 'dsx session' \(did you mean 'tail'\?\)" "^  tail" -- session tial
expect 2 "unknown command 'frobnicate' for 'dsx'" -- frobnicate
refute "did you mean" -- frobnicate

# An unknown flag is reported as such, not as a missing positional.
expect 2 "unknown option '--bogus' for 'dsx session info'" "see 'dsx session info --help'" -- session info --bogus
refute "required" -- session info --bogus
expect 2 "unknown option '--jsn' for 'dsx session info' \(did you mean '--json'\?\)" -- session info x --jsn

# A missing positional names the command.
expect 2 "session info: .*required" "see 'dsx session info --help'" -- session info
# An extra positional.
expect 2 "unexpected argument 'extra' for 'dsx kernel show'" -- kernel show rmsnorm extra

# A word with an escape sequence is shown defanged (it would drive the terminal).
refute $'\e' -- $'ses\e[31msion'
expect 2 "unknown command 'ses\?\[31msion'" -- $'ses\e[31msion'

# --help still exits 0.
"$dsx" session --help >/dev/null 2>&1 || { echo "FAIL: dsx session --help must exit 0"; fail=1; }
[ $fail -eq 0 ] && echo "usage errors: ok"
exit $fail
