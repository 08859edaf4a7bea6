#include "session/server/listener.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include <boost/beast/core/bind_handler.hpp>

#include "core/log.hpp"
#include "session/server/http_session.hpp"
#include "session/server/overload.hpp"

namespace dsx::session::server {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{10};
constexpr std::chrono::milliseconds kMaxBackoff{1000};
constexpr std::chrono::seconds kErrorLogInterval{10};

int OpenSpare() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

bool OutOfDescriptors(const boost::system::error_code& ec) {
  return ec == boost::system::errc::too_many_files_open || ec == boost::system::errc::too_many_files_open_in_system ||
         ec == boost::system::errc::no_buffer_space || ec == boost::system::errc::not_enough_memory;
}

}  // namespace

void RejectNow(TcpSocket& socket, const char* why) {
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  const std::string bytes = OverloadBytes(why);
  socket.write_some(net::buffer(bytes), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  // Drop what the client already sent (its request), so that close() sends a FIN, not a RST
  // that could discard the 503 in the client's receive buffer. Bounded: at most 256 KiB.
  std::array<char, 16384> sink;
  for (int i = 0; i < 16; ++i) {
    socket.read_some(net::buffer(sink), ec);
    if (ec) break;
  }
  socket.close(ec);
}

Listener::Listener(std::vector<net::io_context*> iocs, std::shared_ptr<const ServerContext> ctx)
    : iocs_(std::move(iocs)), acceptor_(*iocs_.front()), ctx_(std::move(ctx)), retry_(iocs_.front()->get_executor()) {
  spare_fd_ = OpenSpare();
}

Listener::~Listener() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

Status Listener::Open(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  const std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (ec) return Status::Unavailable("cannot listen on '" + where + "': " + ec.message());
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  // Non-blocking for the synchronous accept in reject_with_spare (asynchronous accepts are
  // unaffected: Asio runs them non-blocking anyway).
  if (!ec) acceptor_.non_blocking(true, ec);
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
    self->retry_.cancel();
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
  if (!ec) {
    backoff_ = std::chrono::milliseconds(0);
    if (spare_fd_ < 0) spare_fd_ = OpenSpare();
    admit(std::move(socket));
    return do_accept();
  }
  ctx_->metrics->accept_errors.fetch_add(1, std::memory_order_relaxed);
  log_accept_error(ec);
  if (ec == net::error::connection_aborted) return do_accept();  // that client left: next one
  // Out of descriptors (or anything else that would fail again at once): retrying at once
  // spins a core on the same error. The spare makes progress instead when it can; the backoff
  // keeps the loop cheap when it cannot.
  if (OutOfDescriptors(ec) && reject_with_spare()) return do_accept();
  back_off();
}

void Listener::admit(TcpSocket socket) {
  const std::int64_t open = ctx_->metrics->connections.open.load(std::memory_order_relaxed);
  if (open >= ctx_->max_connections + kOverflowConnections) {
    ctx_->metrics->rejected_connections.fetch_add(1, std::memory_order_relaxed);
    ctx_->metrics->CountStatus(503);
    return RejectNow(socket, "too many connections");
  }
  boost::system::error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);
  // Counted from here until the socket is gone, whichever session then owns it.
  ConnectionTicket ticket(&ctx_->metrics->connections);
  const bool overflow = open >= ctx_->max_connections;
  std::make_shared<HttpSession>(std::move(socket), std::move(ticket), ctx_, overflow)->Run();
}

bool Listener::reject_with_spare() {
  // The classic trick (libev's documentation, nginx, Node): the process holds one spare
  // descriptor. When accept fails for want of descriptors, the waiting client is otherwise
  // stuck in the backlog and the listener is readable forever. Closing the spare lets one
  // accept succeed; that client gets a 503 (it can retry) and is closed, and the spare is
  // taken again. Each round consumes one waiting client, so the loop makes progress instead
  // of spinning. If the spare cannot be taken back (another thread took the descriptor),
  // the listener falls back to the backoff timer.
  if (spare_fd_ < 0) return false;
  ::close(spare_fd_);
  spare_fd_ = -1;
  TcpSocket socket(*iocs_.front());
  boost::system::error_code ec;
  acceptor_.accept(socket, ec);
  if (!ec) {
    ctx_->metrics->rejected_connections.fetch_add(1, std::memory_order_relaxed);
    ctx_->metrics->CountStatus(503);
    RejectNow(socket, "out of file descriptors");
  }
  spare_fd_ = OpenSpare();
  return !ec && spare_fd_ >= 0;
}

void Listener::back_off() {
  backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
  retry_.expires_after(backoff_);
  retry_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || !self->acceptor_.is_open()) return;
    if (self->spare_fd_ < 0) self->spare_fd_ = OpenSpare();
    self->do_accept();
  });
}

void Listener::log_accept_error(const boost::system::error_code& ec) {
  // One line per interval, not one per failed accept (a full backlog fails thousands of times).
  const auto now = std::chrono::steady_clock::now();
  if (last_error_log_ != std::chrono::steady_clock::time_point{} && now - last_error_log_ < kErrorLogInterval) {
    ++suppressed_errors_;
    return;
  }
  log::Warn("accept failed",
            {{"error", ec.message()},
             {"repeats_suppressed", std::to_string(suppressed_errors_)},
             {"open_connections", std::to_string(ctx_->metrics->connections.open.load(std::memory_order_relaxed))}});
  last_error_log_ = now;
  suppressed_errors_ = 0;
}

}  // namespace dsx::session::server
