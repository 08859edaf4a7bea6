// libFuzzer target: raw bytes -> Beast HTTP parser -> router -> service (memory store).
// Several pipelined requests per input, so one input can create, append, fork and read.
// Any crash, sanitizer report or hang is a bug; bad input must only ever produce a 4xx.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "session/server/router.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::server;

namespace {

std::unique_ptr<StreamService> g_service;
int g_runs = 0;

StreamService& Service() {
  // A fresh service now and then, so memory stays bounded over long runs.
  if (!g_service || ++g_runs % 5000 == 0) {
    g_service = std::make_unique<StreamService>(MakeMemoryStore(), ServiceOptions{});
    if (!g_service->Open().ok()) __builtin_trap();
  }
  return *g_service;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  StreamService& service = Service();
  RouterOptions options;
  std::size_t pos = 0;
  for (int n = 0; n < 16 && pos < size; ++n) {
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(1 << 20);
    parser.header_limit(16 << 10);
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(data + pos, size - pos), ec);
    if (!ec && !parser.is_done()) parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
    pos += used == 0 ? size : used;
    std::optional<RouteOutcome> out;
    Route(service, options, parser.release(), [&out](RouteOutcome o) { out = std::move(o); });
    if (!out) __builtin_trap();  // the memory store answers synchronously
    if (out->response.result_int() >= 500 && out->kind == RouteOutcome::Kind::kResponse) __builtin_trap();
    if (out->kind == RouteOutcome::Kind::kLongPoll) {
      (void)LongPollResponse(service, out->live, true);
    } else if (out->kind == RouteOutcome::Kind::kSse) {
      bool done = false, more = false;
      (void)SseHead(out->live);
      (void)SseNextChunk(service, out->live, &done, &more);
      (void)SseKeepAlive(out->live);
    }
  }
  return 0;
}
