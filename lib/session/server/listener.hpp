// Listener: owns the acceptor; gives each accepted socket its own strand and HttpSession.
//
// Resource limits (docs/protocol/streams.md, Limits):
// - At most ctx.max_connections open connections of every kind (connection_count.hpp). Past
//   that, a small overflow band of connections is still read, so that /health answers and
//   every other request gets a JSON 503 with Retry-After (HttpSession, overflow mode); past the
//   band the 503 is written at once without reading the request (RejectNow).
// - Out of file descriptors (EMFILE/ENFILE) the listener does not spin: it frees a spare
//   descriptor to accept and reject the waiting client, and otherwise retries on a backoff
//   timer (10 ms doubling to 1 s, reset by the next successful accept). Accept errors are
//   logged at most once per 10 s, with the number of suppressed repeats.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "core/status.hpp"
#include "session/server/net_types.hpp"
#include "session/server/server_context.hpp"

namespace dsx::session::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Connections past max_connections that are still read (to answer /health or a 503).
inline constexpr std::int64_t kOverflowConnections = 8;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Accepts on `iocs[0]`; hands connections to the io_contexts round-robin (one thread each).
  Listener(std::vector<net::io_context*> iocs, std::shared_ptr<const ServerContext> ctx);
  ~Listener();
  Status Open(const tcp::endpoint& endpoint);
  tcp::endpoint local_endpoint() const;
  void Run();
  void Stop();  // close the acceptor (no new connections); thread-safe via post

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, TcpSocket socket);
  void admit(TcpSocket socket);
  // EMFILE/ENFILE: returns true when a waiting client was accepted (and rejected) with the spare.
  bool reject_with_spare();
  void back_off();
  void log_accept_error(const boost::system::error_code& ec);

  std::vector<net::io_context*> iocs_;
  std::size_t next_ = 0;
  TcpAcceptor acceptor_;
  std::shared_ptr<const ServerContext> ctx_;
  SteadyTimer retry_;                     // accept backoff
  std::chrono::milliseconds backoff_{0};  // 0: not backing off
  // A descriptor held open on /dev/null so that one can be freed when the process runs out
  // (see reject_with_spare); -1 while given up.
  int spare_fd_ = -1;
  std::chrono::steady_clock::time_point last_error_log_{};
  std::uint64_t suppressed_errors_ = 0;
};

// Writes a JSON 503 (Retry-After, Connection: close) to a just-accepted socket without
// reading its request, then closes it. Non-blocking; the response fits in a fresh socket's
// send buffer. Bytes the client already sent are read and dropped first, so that closing
// does not reset the connection and destroy the 503 before the client reads it.
void RejectNow(TcpSocket& socket, const char* why);

}  // namespace dsx::session::server
