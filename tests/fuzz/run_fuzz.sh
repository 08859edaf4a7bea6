#!/usr/bin/env bash
# Build the request fuzzer with Debian's clang (libFuzzer + ASan/UBSan) and run it for a
# bounded time.   run_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS]
set -euo pipefail
src=$1
out=$2
seconds=${3:-30}
cxx=${DSX_FUZZ_CXX:-clang++}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found (apt install clang)" >&2
  exit 1
fi
mkdir -p "$out/corpus"
bin="$out/fuzz_request"
sources=(
  "$src/tests/fuzz/fuzz_request.cpp"
  "$src"/lib/session/model/*.cpp
  "$src/lib/session/store/memory_store.cpp"
  "$src/lib/session/server/router.cpp"
  "$src/lib/session/server/sse.cpp"
  "$src/lib/core/status.cpp"
  "$src/lib/core/log.cpp"
)
newest=$(ls -t "${sources[@]}" "$src"/lib/session/model/*.hpp "$src"/lib/session/server/*.hpp | head -1)
if [ ! -x "$bin" ] || [ "$newest" -nt "$bin" ]; then
  echo "fuzz: building $bin" >&2
  "$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$src/lib" "${sources[@]}" -lpthread -o "$bin"
fi
# Seeds: a few well-formed protocol exchanges.
printf 'PUT /v1/stream/a HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n[1,2,3]POST /v1/stream/a HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}GET /v1/stream/a?offset=-1 HTTP/1.1\r\n\r\n' > "$out/corpus/seed1"
printf 'PUT /v1/stream/s HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPUT /v1/stream/f HTTP/1.1\r\nStream-Forked-From: /v1/stream/s\r\nStream-Fork-Offset: 0000000000000000_0000000000000000\r\nStream-Fork-Sub-Offset: 2\r\n\r\nGET /v1/stream/f?offset=-1&live=sse HTTP/1.1\r\n\r\n' > "$out/corpus/seed2"
printf 'PUT /v1/stream/p HTTP/1.1\r\nContent-Type: text/plain\r\nStream-TTL: 60\r\n\r\nPOST /v1/stream/p HTTP/1.1\r\nContent-Type: text/plain\r\nProducer-Id: w\r\nProducer-Epoch: 0\r\nProducer-Seq: 0\r\nStream-Closed: true\r\nContent-Length: 1\r\n\r\nxGET /v1/stream/p?offset=now&live=long-poll HTTP/1.1\r\n\r\n' > "$out/corpus/seed3"
ASAN_OPTIONS=detect_leaks=0 "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -print_final_stats=1 "$out/corpus"
