#include "session/server/listener.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "core/log.hpp"
#include "session/server/http_session.hpp"

namespace dsx::session::server {

Listener::Listener(std::vector<net::io_context*> iocs, std::shared_ptr<const ServerContext> ctx)
    : iocs_(std::move(iocs)), acceptor_(*iocs_.front()), ctx_(std::move(ctx)) {}

Status Listener::Open(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  const std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (ec) return Status::Unavailable("cannot listen on '" + where + "': " + ec.message());
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on '" + where + "': " + ec.message());
  return Status::Ok();
}

tcp::endpoint Listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::Run() { do_accept(); }

void Listener::Stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
}

void Listener::do_accept() {
  // Each io_context is run by exactly one thread, so a connection's handlers never run
  // concurrently: the io_context is the connection's strand, without a strand's locking.
  net::io_context& target = *iocs_[next_++ % iocs_.size()];
  acceptor_.async_accept(target, beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(boost::system::error_code ec, TcpSocket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: report, back off by simply trying again.
    log::Warn("accept failed", {{"error", ec.message()}});
  } else {
    boost::system::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    std::make_shared<HttpSession>(std::move(socket), ctx_)->Run();
  }
  do_accept();
}

}  // namespace dsx::session::server
