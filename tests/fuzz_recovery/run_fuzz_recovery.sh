#!/usr/bin/env bash
# Build the recovery fuzzer (fuzz_recovery.cpp) with Debian's clang (libFuzzer + ASan/UBSan)
# and run it for a bounded time.
#   run_fuzz_recovery.sh SOURCE_DIR BUILD_DIR [SECONDS]
# Only the file store and lib/core are compiled (instrumented, one object per source, rebuilt
# when the source or any header changed): under a minute on 2 cores.
set -euo pipefail
src=$1
out=$2
seconds=${3:-30}
target=fuzz_recovery
cxx=${DSX_FUZZ_CXX:-clang++}
if [ "${DSX_FUZZ_OPT_IN:-}" = 1 ] && [ "${DSX_FUZZ_LONG:-}" != 1 ]; then
  echo "fuzz: long run of $target skipped (set DSX_FUZZ_LONG=1 to run it)" >&2
  exit 77
fi
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found (apt install clang)" >&2
  exit 1
fi
main="$src/tests/fuzz_recovery/$target.cpp"
corpus="$out/corpus-$target"
mkdir -p "$corpus" "$out/obj"
bin="$out/$target"
sources=("$src"/lib/session/store/file/*.cpp "$src"/lib/core/*.cpp "$main")
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -I"$src/lib")
obj_of() { echo "$out/obj/$(echo "${1#$src/}" | tr '/' '_' | sed 's/^_//').o"; }
build() {
  local newest_header="" f o objs=() stale=()
  if [ -x "$bin" ]; then
    newest_header=$(find "$src/lib/core" "$src/lib/session/store" -name '*.hpp' -newer "$bin" 2>/dev/null | head -1 || true)
  fi
  for f in "${sources[@]}"; do
    o=$(obj_of "$f")
    objs+=("$o")
    if [ -n "$newest_header" ] || [ ! -e "$o" ] || [ "$f" -nt "$o" ]; then stale+=("$f"); fi
  done
  if [ ${#stale[@]} -gt 0 ] || [ ! -x "$bin" ]; then
    echo "fuzz: compiling ${#stale[@]} sources with $cxx" >&2
    export out src cxx
    printf '%s\n' "${stale[@]}" | xargs -r -P "$(nproc)" -I{} sh -c \
      'f={}; o="$out/obj/$(echo "${f#$src/}" | tr / _ | sed "s/^_//").o"; '"$cxx"' '"${flags[*]}"' -c "$f" -o "$o"'
    "$cxx" -fsanitize=fuzzer,address,undefined "${objs[@]}" -lcrypto -lpthread -o "$bin"
  fi
}
exec 9>"$out/obj/.lock"
flock 9
build
flock -u 9
# Seeds: no damage; a flip in the middle of the active segment; a truncated checkpoint.
printf '\000' > "$corpus/seed-none"
printf '\000\000\002\000\002\000\007\132\000' > "$corpus/seed-flip"
printf '\001\001\000\020\000\000\000\000\000' > "$corpus/seed-trunc"
# -timeout: one input opens the store three times (threads, in memory): far under a second.
ASAN_OPTIONS=detect_leaks=0 "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=64 -len_control=0 -artifact_prefix="$out/" \
  -print_final_stats=1 "$corpus"
