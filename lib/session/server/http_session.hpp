// HttpSession: one client connection. Reads a request (with a deadline and size limits),
// routes it, writes the response, and loops (keep-alive). Long-polls wait here (a timer plus
// a service waiter); an SSE request hands the connection to an SseSession. A long-poll whose
// bearer token runs out before the timeout ends at the token's expiry with 401 (the same one
// timer, armed at whichever comes first).
// All handlers run on the connection's strand; lifetime via shared_from_this.
//
// A request is read in two steps: the head, then the body. Between them the body gate runs
// (auth_gate.hpp, CheckBeforeBody): a request with a body but without a valid token (401), or
// whose token has no right on the target (403), is answered before its body is read, and so
// is a declared length over the route's limit (413: --max-body-bytes for streams, the smaller
// session limit for /v1/session/). Such an answer closes the connection after a bounded
// "lingering close" that reads and drops what the client is still sending (kept in a fixed
// buffer), so the client sees the answer rather than a reset. Bodies grow with the bytes
// received (growing_body.hpp), never with the declared Content-Length.
//
// Overflow mode (listener.hpp): the server is over --max-connections; the request head is read
// with a short deadline, /health is answered, anything else gets the 503, and the connection
// is closed.
#pragma once

#include <memory>
#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "session/server/growing_body.hpp"
#include "session/server/router.hpp"
#include "session/server/server_context.hpp"

namespace dsx::session::server {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `ticket` counts the connection (connection_count.hpp); it travels inside the stream.
  HttpSession(TcpSocket&& socket, ConnectionTicket ticket, std::shared_ptr<const ServerContext> ctx,
              bool overflow = false);
  ~HttpSession();
  void Run();

 private:
  void do_read();
  void on_header(beast::error_code ec, std::size_t bytes);
  void on_read(beast::error_code ec, std::size_t bytes);
  void on_read_error(beast::error_code ec);
  void route(Request req);
  // Answer without reading the rest of the request, then close (after lingering).
  void refuse(Response res);
  void do_linger();
  void on_linger(beast::error_code ec, std::size_t bytes);
  void on_routed(RouteOutcome outcome);
  void do_write(Response res);
  void on_write(bool close, beast::error_code ec, std::size_t bytes);
  void do_close();
  void start_long_poll(LiveRead live);
  void finish_long_poll(bool timed_out);

  TcpStream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<GrowingStringBody>> parser_;
  std::shared_ptr<const ServerContext> ctx_;
  Response res_;              // the response being written (body sent from here)
  std::string head_;          // its serialized status line and headers
  SteadyTimer timer_;         // long-poll timeout, or the token's expiry if sooner
  bool token_first_ = false;  // timer_ is armed at the token's expiry
  LiveRead live_;
  StreamService::WaitToken wait_;
  bool waiting_ = false;
  bool overflow_ = false;         // over --max-connections: /health or 503, then close
  bool linger_ = false;           // unread request bytes: drain them before closing
  std::size_t lingered_ = 0;      // bytes drained so far
  std::unique_ptr<char[]> sink_;  // drain buffer (only while lingering)
};

}  // namespace dsx::session::server
