// Listener: owns the acceptor; gives each accepted socket its own strand and HttpSession.
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "core/status.hpp"
#include "session/server/net_types.hpp"
#include "session/server/server_context.hpp"

namespace dsx::session::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Accepts on `iocs[0]`; hands connections to the io_contexts round-robin (one thread each).
  Listener(std::vector<net::io_context*> iocs, std::shared_ptr<const ServerContext> ctx);
  Status Open(const tcp::endpoint& endpoint);
  tcp::endpoint local_endpoint() const;
  void Run();
  void Stop();  // close the acceptor (no new connections); thread-safe via post

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, TcpSocket socket);

  std::vector<net::io_context*> iocs_;
  std::size_t next_ = 0;
  TcpAcceptor acceptor_;
  std::shared_ptr<const ServerContext> ctx_;
};

}  // namespace dsx::session::server
