#!/usr/bin/env bash
# check.sh CLANGXX SOURCE_DIR: clang -fsyntax-only -Werror=thread-safety over every source that
# uses the annotations, then over violation.cpp, which must be refused.
set -euo pipefail
cxx=$1
src=$2
flags=(-std=c++20 -fsyntax-only -Wthread-safety -Werror=thread-safety -I"$src/lib")
# The annotated translation units: those including core/mutex.hpp (directly or not is not
# followed; a header that includes it is listed by its own .cpp files).
mapfile -t files < <(cd "$src" && grep -rl --include='*.cpp' -e '"core/mutex.hpp"' -e 'MutexLock' lib tests/unit | sort)
[ ${#files[@]} -gt 0 ] || { echo "thread-safety: no annotated sources found" >&2; exit 1; }
failed=0
for f in "${files[@]}"; do
  if ! "$cxx" "${flags[@]}" "$src/$f" 2>"${TMPDIR:-/tmp}/tsa.$$"; then
    echo "thread-safety: $f" >&2
    cat "${TMPDIR:-/tmp}/tsa.$$" >&2
    failed=1
  fi
done
rm -f "${TMPDIR:-/tmp}/tsa.$$"
if "$cxx" "${flags[@]}" "$src/tests/thread_safety/violation.cpp" 2>/dev/null; then
  echo "thread-safety: violation.cpp compiled: the analysis is not running" >&2
  failed=1
fi
echo "thread-safety: ${#files[@]} sources checked" >&2
exit $failed
