// SseSession: one `live=sse` response. Owns the connection after HttpSession hands it over.
// Writes the head, then loops: read what is new from its offset, write it (data + control
// events, one chunk, one write), park on a service waiter until the durable tail moves.
//
// Fan-out: subscribers at the same offset share one read and one rendering of the data events
// (ServerContext::sse_pages); each writes its own chunk-size line and control event around
// them with one gather write.
//
// Slow-reader policy: at most one write in flight; data that arrives meanwhile is not queued
// but read from the store when that write completes (so memory per subscriber is bounded by
// one read batch); a write pending for write_timeout closes the connection. One periodic
// timer (every sse_keepalive/2) checks that and sends a keep-alive control event on responses
// idle for sse_keepalive/2 or more (so no gap exceeds sse_keepalive) — a timer per write and
// per park cost more than the write itself at 1,000 subscribers. A peer that closes (or
// sends anything) ends the response.
//
// Token expiry: a read opened with a bearer token ends when it runs out (LiveRead::token_exp_s).
// The same periodic timer is armed no later than that instant; at expiry a parked response
// gets the final `event: error` 401 chunk (SseTokenExpired) at once, one with a write in flight
// right after that write, so the last event before it is whole. No per-event cost.
#pragma once

#include <optional>

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>

#include "session/server/router.hpp"
#include "session/server/server_context.hpp"

namespace dsx::session::server {

namespace beast = boost::beast;
namespace net = boost::asio;

class SseSession : public std::enable_shared_from_this<SseSession> {
 public:
  SseSession(TcpStream&& stream, std::shared_ptr<const ServerContext> ctx, LiveRead live);
  ~SseSession();
  void Run();

 private:
  void do_write(SseChunk chunk);
  void arm_tick();
  void on_tick(beast::error_code ec);
  void on_write(beast::error_code ec, std::size_t bytes);
  void do_park();
  void on_wake();
  void on_peer(beast::error_code ec);
  void write_expired();
  void do_close();

  TcpStream stream_;
  std::shared_ptr<const ServerContext> ctx_;
  LiveRead live_;
  SseChunk out_;  // the chunk being written
  SteadyTimer tick_;
  std::chrono::steady_clock::time_point write_started_;
  std::chrono::steady_clock::time_point last_write_;
  std::optional<std::chrono::steady_clock::time_point> expiry_;  // the token's, until reached
  StreamService::WaitToken wait_;
  bool done_ = false;  // final events written or connection failed
  bool closed_ = false;
  bool parked_ = false;
  bool more_ = false;     // the last read did not reach the tail
  bool expired_ = false;  // the token ran out: the next write is the final error event
};

}  // namespace dsx::session::server
