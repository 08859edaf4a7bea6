#!/usr/bin/env bash
# issue 18: every man page renders cleanly where a user reads it: under LANG=C (no character groff
# cannot draw, such as U+2500), with every groff warning on (-ww: a line it cannot adjust, an
# unknown escape), no line wider than 100 columns (examples and JSON shapes in .nf blocks are
# not filled, so a long one runs off an 80-100 column terminal), and no hyphenated option value
# in a SYNOPSIS ("text|mark-" / "down").
# Usage: man_test.sh MAN_DIR
set -u
dir=$1
command -v groff >/dev/null || { echo "SKIP: groff not installed"; exit 77; }
fail=0
pages=0
for page in "$dir"/*.[1-8]; do
  pages=$((pages + 1))
  name=$(basename "$page")
  # -P-cbou: plain text (no overstrike, no SGR), so the width counts characters only.
  warnings=$(LANG=C LC_ALL=C groff -man -Tascii -ww -P-cbou "$page" 2>&1 >/dev/null)
  if [ -n "$warnings" ]; then
    echo "FAIL: $name: groff warnings under LANG=C:"
    echo "$warnings" | head -5
    fail=1
  fi
  text=$(LANG=C LC_ALL=C groff -man -Tascii -P-cbou "$page" 2>/dev/null)
  wide=$(awk 'length > 100 { printf "  %d columns: %s\n", length, $0 }' <<<"$text")
  if [ -n "$wide" ]; then
    echo "FAIL: $name: lines wider than 100 columns:"
    echo "$wide" | head -5
    fail=1
  fi
  hyphenated=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' <<<"$text" | grep -E '[A-Za-z]-$' || true)
  if [ -n "$hyphenated" ]; then
    echo "FAIL: $name: a word hyphenated at a line end in SYNOPSIS:"
    echo "$hyphenated" | head -3
    fail=1
  fi
  if LC_ALL=C grep -n '[^[:print:][:space:]]' "$page" >/dev/null; then
    echo "FAIL: $name: non-ASCII bytes in the source (use a groff escape such as \\[em]):"
    LC_ALL=C grep -n '[^[:print:][:space:]]' "$page" | head -3
    fail=1
  fi
  # man(1) itself, as a user runs it in the C locale (preconv, the pager's width).
  if command -v man >/dev/null; then
    out=$(LANG=C LC_ALL=C MANWIDTH=100 man -l "$page" 2>&1 >/dev/null)
    if [ -n "$out" ]; then
      echo "FAIL: $name: LANG=C man -l warns:"
      echo "$out" | head -5
      fail=1
    fi
  fi
done
[ "$pages" -gt 0 ] || { echo "FAIL: no man pages in $dir"; exit 1; }
echo "checked $pages man pages"
exit $fail
