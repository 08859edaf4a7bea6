#!/usr/bin/env bash
# Build one libFuzzer target with Debian's clang (libFuzzer + ASan/UBSan) and run it for a
# bounded time.
#   run_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS] [INCLUDE_DIRS] [EXTRA_SOURCES] [TARGET]
# TARGET names tests/fuzz/TARGET.cpp (default fuzz_request). Optional per target:
# tests/fuzz/TARGET.options (extra libFuzzer flags, one line) and tests/fuzz/seeds/TARGET/
# (seed inputs, copied into the corpus).
# First build: a few minutes on 2 cores (the session closure, instrumented); later runs and
# other targets reuse the library objects (built under a lock, so targets may run in parallel).
set -euo pipefail
src=$1
out=$2
seconds=${3:-30}
includes=${4:-}   # extra include dirs, ':'-separated (dsx_session's, for generated headers)
extra_sources=${5:-}  # ':'-separated: the embedded web UI (web_assets.cpp + its generated data file)
target=${6:-fuzz_request}
cxx=${DSX_FUZZ_CXX:-clang++}
if [ "${DSX_FUZZ_OPT_IN:-}" = 1 ] && [ "${DSX_FUZZ_LONG:-}" != 1 ]; then
  echo "fuzz: long run of $target skipped (set DSX_FUZZ_LONG=1 to run it)" >&2
  exit 77
fi
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found (apt install clang)" >&2
  exit 1
fi
main="$src/tests/fuzz/$target.cpp"
if [ ! -e "$main" ]; then
  echo "fuzz: no target '$target' ($main not found)" >&2
  exit 2
fi
corpus="$out/corpus-$target"
mkdir -p "$corpus" "$out/obj"
bin="$out/$target"
# The router is wired to every layer of the server (session routes, auth, UI hooks), so the
# fuzzers are built from the whole server closure (dsx_session, its file store, dsx_core; the
# session client is not part of the server: cmake/module_arrows.txt), instrumented, one object per source, rebuilt only when the source changed
# (headers: any header change rebuilds everything).
sources=()
for dir in lib/session/model lib/session/store lib/session/store/file lib/session/server lib/session/live \
           lib/session/auth lib/core; do
  [ -d "$src/$dir" ] && sources+=("$src/$dir"/*.cpp)
done
IFS=: read -r -a more <<< "$extra_sources"
for f in "${more[@]}"; do [ -n "$f" ] && sources+=("$f"); done
sources+=("$main")
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
       -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -I"$src/lib")
IFS=: read -r -a extra <<< "$includes"
for d in "${extra[@]}"; do [ -n "$d" ] && flags+=(-I"$d"); done
obj_of() { echo "$out/obj/$(echo "${1#$src/}" | tr '/' '_' | sed 's/^_//').o"; }
build() {
  local newest_header="" fuzz_header="" f o objs=() stale=()
  if [ -x "$bin" ]; then
    newest_header=$(find "$src/lib" -name '*.hpp' -newer "$bin" 2>/dev/null | head -1 || true)
    fuzz_header=$(find "$src/tests/fuzz" -name '*.hpp' -newer "$bin" 2>/dev/null | head -1 || true)
  fi
  for f in "${sources[@]}"; do
    [ -e "$f" ] || continue
    o=$(obj_of "$f")
    objs+=("$o")
    if [ -n "$newest_header" ] || [ ! -e "$o" ] || [ "$f" -nt "$o" ] || { [ "$f" = "$main" ] && [ -n "$fuzz_header" ]; }; then
      stale+=("$f")
    fi
  done
  if [ ${#stale[@]} -gt 0 ] || [ ! -x "$bin" ]; then
    echo "fuzz: compiling ${#stale[@]} sources with $cxx" >&2
    export out src cxx
    printf '%s\n' "${stale[@]}" | xargs -r -P "$(nproc)" -I{} sh -c \
      'f={}; o="$out/obj/$(echo "${f#$src/}" | tr / _ | sed "s/^_//").o"; '"$cxx"' '"${flags[*]}"' -c "$f" -o "$o"'
    # DSX_FUZZ_LDLIBS: extra libraries a target's extra sources need (the clients' target: -lcurl).
    # shellcheck disable=SC2086
    "$cxx" -fsanitize=fuzzer,address,undefined "${objs[@]}" -ltomlplusplus -lcrypto -lpthread ${DSX_FUZZ_LDLIBS:-} -o "$bin"
  fi
}
# One build at a time: the targets share the library objects.
exec 9>"$out/obj/.lock"
flock 9
build
flock -u 9
if [ "$target" = fuzz_request ]; then
  # Seeds: a few well-formed protocol exchanges.
  printf 'PUT /v1/stream/a HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n[1,2,3]POST /v1/stream/a HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}GET /v1/stream/a?offset=-1 HTTP/1.1\r\n\r\n' > "$corpus/seed1"
  printf 'PUT /v1/stream/s HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPUT /v1/stream/f HTTP/1.1\r\nStream-Forked-From: /v1/stream/s\r\nStream-Fork-Offset: 0000000000000000_0000000000000000\r\nStream-Fork-Sub-Offset: 2\r\n\r\nGET /v1/stream/f?offset=-1&live=sse HTTP/1.1\r\n\r\n' > "$corpus/seed2"
  printf 'PUT /v1/stream/p HTTP/1.1\r\nContent-Type: text/plain\r\nStream-TTL: 60\r\n\r\nPOST /v1/stream/p HTTP/1.1\r\nContent-Type: text/plain\r\nProducer-Id: w\r\nProducer-Epoch: 0\r\nProducer-Seq: 0\r\nStream-Closed: true\r\nContent-Length: 1\r\n\r\nxGET /v1/stream/p?offset=now&live=long-poll HTTP/1.1\r\n\r\n' > "$corpus/seed3"
fi
if [ -d "$src/tests/fuzz/seeds/$target" ]; then cp -f "$src/tests/fuzz/seeds/$target"/* "$corpus"/ 2>/dev/null || true; fi
options=(-max_len=4096)
if [ -f "$src/tests/fuzz/$target.options" ]; then read -r -a options < "$src/tests/fuzz/$target.options"; fi
# libFuzzer exits 77 on a crash by default, which is CTest's skip code here (SKIP_RETURN_CODE 77
# marks "clang missing" and opt-in long runs): a crash would pass as "skipped". Findings exit 1.
ASAN_OPTIONS=detect_leaks=0 "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -error_exitcode=1 -timeout_exitcode=1 "${options[@]}" \
  -print_final_stats=1 "$corpus"
