// SseSession: one `live=sse` response. Owns the connection after HttpSession hands it over.
// Writes the head, then loops: read what is new from its offset, write it (data + control
// events, one chunk, one write), park on a service waiter until the durable tail moves.
//
// Slow-reader policy: at most one write in flight; data that arrives meanwhile is not queued
// but read from the store when that write completes (so memory per subscriber is bounded by
// one read batch); a write that takes longer than write_timeout closes the connection.
// Idle responses get a keep-alive control event every sse_keepalive; a peer that closes (or
// sends anything) ends the response.
#pragma once

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
  SseSession(beast::tcp_stream&& stream, std::shared_ptr<const ServerContext> ctx, LiveRead live);
  ~SseSession();
  void Run();

 private:
  void do_write(std::string chunk);
  void on_write(beast::error_code ec, std::size_t bytes);
  void do_park();
  void on_wake();
  void on_keepalive(beast::error_code ec);
  void on_peer(beast::error_code ec);
  void do_close();

  beast::tcp_stream stream_;
  std::shared_ptr<const ServerContext> ctx_;
  LiveRead live_;
  std::string out_;
  net::steady_timer keepalive_;
  StreamService::WaitToken wait_;
  bool done_ = false;    // final events written or connection failed
  bool closed_ = false;
  bool parked_ = false;
  bool more_ = false;    // the last read did not reach the tail
};

}  // namespace dsx::session::server
