#include "session/server/sse_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace dsx::session::server {

SseSession::SseSession(beast::tcp_stream&& stream, std::shared_ptr<const ServerContext> ctx, LiveRead live)
    : stream_(std::move(stream)), ctx_(std::move(ctx)), live_(std::move(live)), keepalive_(stream_.get_executor()) {
  ctx_->metrics->sse_subscribers.fetch_add(1, std::memory_order_relaxed);
}

SseSession::~SseSession() {
  ctx_->metrics->sse_subscribers.fetch_sub(1, std::memory_order_relaxed);
  ctx_->service->CancelWait(wait_);
}

void SseSession::Run() {
  ctx_->metrics->CountStatus(200);
  // A readable socket means the peer closed (or misbehaves): either way the response ends.
  stream_.socket().async_wait(net::socket_base::wait_read,
                              beast::bind_front_handler(&SseSession::on_peer, shared_from_this()));
  bool done = false;
  std::string chunk = SseHead(live_);
  chunk += SseNextChunk(*ctx_->service, live_, &done, &more_);
  done_ = done;
  do_write(std::move(chunk));
}

void SseSession::do_write(std::string chunk) {
  out_ = std::move(chunk);
  stream_.expires_after(ctx_->write_timeout);
  net::async_write(stream_, net::buffer(out_), beast::bind_front_handler(&SseSession::on_write, shared_from_this()));
}

void SseSession::on_write(beast::error_code ec, std::size_t) {
  out_.clear();
  out_.shrink_to_fit();
  if (ec || done_ || closed_) return do_close();
  if (more_) {  // not caught up yet: keep writing without waiting
    bool done = false;
    std::string chunk = SseNextChunk(*ctx_->service, live_, &done, &more_);
    done_ = done;
    return do_write(std::move(chunk));
  }
  do_park();
}

void SseSession::do_park() {
  std::weak_ptr<SseSession> weak = weak_from_this();
  auto executor = stream_.get_executor();
  parked_ = true;
  const bool parked = ctx_->service->Wait(
      live_.stream, live_.offset,
      [weak, executor] {
        if (auto self = weak.lock()) net::post(executor, [self] { self->on_wake(); });
      },
      &wait_);
  if (!parked) return on_wake();
  keepalive_.expires_after(ctx_->sse_keepalive);
  keepalive_.async_wait(beast::bind_front_handler(&SseSession::on_keepalive, shared_from_this()));
}

void SseSession::on_wake() {
  if (!parked_ || closed_) return;
  parked_ = false;
  keepalive_.cancel();
  ctx_->service->CancelWait(wait_);
  bool done = false;
  std::string chunk = SseNextChunk(*ctx_->service, live_, &done, &more_);
  done_ = done;
  do_write(std::move(chunk));
}

void SseSession::on_keepalive(beast::error_code ec) {
  if (ec || !parked_ || closed_) return;
  parked_ = false;
  ctx_->service->CancelWait(wait_);
  do_write(SseKeepAlive(live_));
}

void SseSession::on_peer(beast::error_code ec) {
  (void)ec;
  closed_ = true;
  if (parked_) {
    parked_ = false;
    keepalive_.cancel();
    ctx_->service->CancelWait(wait_);
    do_close();
  }
  // A write in flight finishes (or fails) and then closes.
}

void SseSession::do_close() {
  if (stream_.socket().is_open()) {
    beast::error_code ec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    stream_.close();
  }
  keepalive_.cancel();
}

}  // namespace dsx::session::server
