// Routing: a pure function from an HTTP request to the service call and back to a response.
// No sockets, no timers: http_session owns those. Live reads (long-poll waits, SSE) come back
// as a LiveRead plan that the session carries out with the helpers below.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "session/model/page_cache.hpp"
#include "session/model/stream_service.hpp"

namespace dsx::session::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct RouteOutcome;
struct RouterOptions {
  std::function<std::string()> metrics_text;  // GET /metrics body (Prometheus text)
  // Hook for auth and the /v1/session/ routes (session_routes.hpp): sees every request
  // first; returns true when it took it (then it calls `done`), false to route it here.
  std::function<bool(http::request<http::string_body>&, std::function<void(RouteOutcome)>&)> intercept;
};

// A live read the session must carry out (wait for data, or stream SSE events).
struct LiveRead {
  StreamHandle stream;
  std::uint64_t offset = 0;                // read from here
  std::optional<std::uint64_t> cursor;     // client's cursor
  std::string content_type;
  bool json = false;
  bool base64 = false;                     // SSE: payloads are base64-encoded
  unsigned version = 11;
  bool keep_alive = true;
};

struct RouteOutcome {
  enum class Kind { kResponse, kLongPoll, kSse, kTakeover };
  Kind kind = Kind::kResponse;
  Response response;  // kResponse
  LiveRead live;      // kLongPoll, kSse
  // kTakeover: the connection (and any bytes read past the request) goes to a live session
  // (session SSE, WebSocket); the HTTP session ends.
  std::function<void(boost::beast::tcp_stream&&, boost::beast::flat_buffer&&)> takeover;
};
using RouteDone = std::function<void(RouteOutcome)>;

// Handle one request. `done` is called exactly once, possibly synchronously, possibly later
// from another thread (appends answer when durable).
void Route(StreamService& service, const RouterOptions& options, Request&& request, RouteDone done);

// Long-poll: the response once data arrived (or the stream closed), or after the timeout.
Response LongPollResponse(StreamService& service, LiveRead& live, bool timed_out);

// SSE: the response head (status line + headers, chunked) for a live SSE read.
std::string SseHead(const LiveRead& live);
// SSE: the data events for [from, next) of a stream, shared by every reader at `from` (all
// live readers wake at the same offset after an append; see PageCache). Variant: base64.
struct SseDataPage {
  int status = 200;        // 200, or the read's error status (then the response ends)
  std::string events;      // `event: data` text ("" when there was nothing to read)
  std::uint64_t next = 0;  // offset after the data
};
using SsePageCache = PageCache<SseDataPage>;

// SSE: one HTTP chunk in three pieces, written with one gather write: the chunk-size line,
// the shared data events, and this reader's control event (+ the last-chunk marker).
struct SseChunk {
  std::string head;
  std::shared_ptr<const SseDataPage> data;  // may be null
  std::string tail;
};
// SSE: read what is available from live.offset (through `pages` when given) and frame it as
// events (data + control). Advances live.offset/cursor; *done and *more as below.
SseChunk SseNext(StreamService& service, SsePageCache* pages, LiveRead& live, bool* done, bool* more);

// SSE: read what is available from live.offset and frame it as events (data + control), as
// one HTTP chunk. Advances live.offset/cursor. *done: the stream is closed (or gone) and the
// final events are in the returned text (the chunked terminator included).
// *more: not caught up yet, call again without waiting.
std::string SseNextChunk(StreamService& service, LiveRead& live, bool* done, bool* more);
// SSE: a keep-alive control event (up to date, same offset) as one HTTP chunk.
std::string SseKeepAlive(LiveRead& live);

// Headers every response carries (security + CORS).
void AddCommonHeaders(Response& response);
// A plain-text error response.
Response ErrorResponse(const Request& request, http::status status, const std::string& why);

}  // namespace dsx::session::server
