// Routing: a pure function from an HTTP request to the service call and back to a response.
// No sockets, no timers: http_session owns those. Live reads (long-poll waits, SSE) come back
// as a LiveRead plan that the session carries out with the helpers below.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "session/model/page_cache.hpp"
#include "session/model/stream_service.hpp"
#include "session/server/net_types.hpp"

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
  std::uint64_t offset = 0;             // read from here
  std::optional<std::uint64_t> cursor;  // client's cursor
  std::string content_type;
  bool json = false;
  bool base64 = false;  // SSE: payloads are base64-encoded
  unsigned version = 11;
  bool keep_alive = true;
  // Expiry of the bearer token that opened the read (Unix seconds; 0: none, as on an open
  // server). The read ends there: SSE with a final `event: error` 401, long-poll with 401
  // (docs/protocol/streams.md, Auth).
  std::int64_t token_exp_s = 0;
};

struct RouteOutcome {
  enum class Kind { kResponse, kLongPoll, kSse, kTakeover };
  Kind kind = Kind::kResponse;
  Response response;  // kResponse
  LiveRead live;      // kLongPoll, kSse
  // kTakeover: the connection (and any bytes read past the request) goes to a live session
  // (session SSE, WebSocket); the HTTP session ends.
  std::function<void(TcpStream&&, boost::beast::flat_buffer&&)> takeover{};
};
using RouteDone = std::function<void(RouteOutcome)>;

// Handle one request. `done` is called exactly once, possibly synchronously, possibly later
// from another thread (appends answer when durable).
void Route(StreamService& service, const RouterOptions& options, Request&& request, RouteDone done);

// Several servers on one store (StreamService::Shared): brings `stream` up to date (Sync: one
// store round trip, off this thread) and then runs `next` with `done`, so the request sees every
// write any server acknowledged before it; on a store of its own, runs `next` at once. Called
// once the auth gate has admitted the request, never before it: a request without rights costs
// no store round trip. An exception out of `next` on the store's thread becomes a 500 and a log
// line (as Route does for its own handlers). `request` names the request in that answer.
void SyncThen(StreamService& service, const std::string& stream, const Request& request, RouteDone done,
              std::function<void(RouteDone)> next);

// Long-poll: the response once data arrived (or the stream closed), or after the timeout.
Response LongPollResponse(StreamService& service, LiveRead& live, bool timed_out);

// SSE: the response head (status line + headers, chunked) for a live SSE read.
std::string SseHead(const LiveRead& live);
// SSE: the data events for [from, next) of a stream, shared by every reader at `from` (all
// live readers wake at the same offset after an append; see PageCache). Variant: base64.
struct SseDataPage {
  int status = 200;        // 200, or the read's error status (then the response ends)
  std::string error;       // the read's error message when status is not 200
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

// Token expiry, from the auth gate to the live reads. The gate runs in RouterOptions::intercept,
// which hands nothing but the request on, so the verified expiry rides on the request as an
// internal field: Route erases any copy the client sent before the intercept runs, the gate
// (auth_gate.cpp) sets it after verifying the token, and HandleGet moves it into
// LiveRead::token_exp_s. Never sent on the wire.
void SetTokenExpiry(Request& request, std::int64_t exp_s);
std::int64_t TokenExpiry(const Request& request);  // 0 when absent or malformed
// When a token expiring at exp_s (Unix seconds) runs out, on the steady clock, given the two
// clocks' "now". nullopt: no expiry (exp_s <= 0) or too far away to matter (> 1 year).
// Expired means now >= exp_s, as in TokenKey::Verify.
std::optional<std::chrono::steady_clock::time_point> TokenDeadline(std::int64_t exp_s,
                                                                   std::chrono::system_clock::time_point system_now,
                                                                   std::chrono::steady_clock::time_point steady_now);
// The 401 a live read answers when its token runs out first (long-poll): the gate's shape,
// {"error":"token expired","status":401} with WWW-Authenticate.
Response TokenExpiredResponse(const LiveRead& live);
// SSE: the final chunk when the token runs out: `event: error` with data
// {"status":401,"error":"token expired"} (as the session SSE endpoint sends), then the
// chunked terminator. Written only between whole chunks, so no event is cut.
std::string SseTokenExpired();

// Headers every response carries (security + CORS).
void AddCommonHeaders(Response& response);
// A plain-text error response.
Response ErrorResponse(const Request& request, http::status status, const std::string& why);

}  // namespace dsx::session::server
