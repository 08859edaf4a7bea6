// HttpSession: one client connection. Reads a request (with a deadline and size limits),
// routes it, writes the response, and loops (keep-alive). Long-polls wait here (a timer plus
// a service waiter); an SSE request hands the connection to an SseSession. A long-poll whose
// bearer token runs out before the timeout ends at the token's expiry with 401 (the same one
// timer, armed at whichever comes first).
// All handlers run on the connection's strand; lifetime via shared_from_this.
#pragma once

#include <memory>
#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "session/server/router.hpp"
#include "session/server/server_context.hpp"

namespace dsx::session::server {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(TcpSocket&& socket, std::shared_ptr<const ServerContext> ctx);
  ~HttpSession();
  void Run();

 private:
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void on_routed(RouteOutcome outcome);
  void do_write(Response res);
  void on_write(bool close, beast::error_code ec, std::size_t bytes);
  void do_close();
  void start_long_poll(LiveRead live);
  void finish_long_poll(bool timed_out);

  TcpStream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const ServerContext> ctx_;
  Response res_;                   // the response being written (body sent from here)
  std::string head_;               // its serialized status line and headers
  SteadyTimer timer_;              // long-poll timeout, or the token's expiry if sooner
  bool token_first_ = false;       // timer_ is armed at the token's expiry
  LiveRead live_;
  StreamService::WaitToken wait_;
  bool waiting_ = false;
};

}  // namespace dsx::session::server
