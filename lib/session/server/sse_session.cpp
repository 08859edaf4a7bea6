#include "session/server/sse_session.hpp"

#include <array>

#include <boost/asio/write.hpp>

#include "session/server/loop_post.hpp"

namespace dsx::session::server {

SseSession::SseSession(TcpStream&& stream, std::shared_ptr<const ServerContext> ctx, LiveRead live)
    : stream_(std::move(stream)), ctx_(std::move(ctx)), live_(std::move(live)), tick_(stream_.get_executor()) {
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
  SseChunk chunk = SseNext(*ctx_->service, ctx_->sse_pages, live_, &done, &more_);
  chunk.head.insert(0, SseHead(live_));
  done_ = done;
  expiry_ = TokenDeadline(live_.token_exp_s, std::chrono::system_clock::now(), std::chrono::steady_clock::now());
  arm_tick();
  do_write(std::move(chunk));
}

void SseSession::do_write(SseChunk chunk) {
  out_ = std::move(chunk);
  write_started_ = std::chrono::steady_clock::now();
  std::array<net::const_buffer, 3> bufs{
      net::buffer(out_.head), out_.data ? net::buffer(out_.data->events) : net::const_buffer(), net::buffer(out_.tail)};
  net::async_write(stream_.socket(), bufs, beast::bind_front_handler(&SseSession::on_write, shared_from_this()));
}

void SseSession::on_write(beast::error_code ec, std::size_t) {
  out_ = SseChunk{};
  last_write_ = std::chrono::steady_clock::now();
  if (ec || done_ || closed_) return do_close();
  if (expired_) return write_expired();
  if (more_) {  // not caught up yet: keep writing without waiting
    bool done = false;
    SseChunk chunk = SseNext(*ctx_->service, ctx_->sse_pages, live_, &done, &more_);
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
        if (auto self = weak.lock()) PostToLoop(executor, [self] { self->on_wake(); });
      },
      &wait_);
  if (!parked) return on_wake();
}

void SseSession::on_wake() {
  if (!parked_ || closed_) return;
  parked_ = false;
  ctx_->service->CancelWait(wait_);
  bool done = false;
  SseChunk chunk = SseNext(*ctx_->service, ctx_->sse_pages, live_, &done, &more_);
  done_ = done;
  do_write(std::move(chunk));
}

void SseSession::arm_tick() {
  const std::chrono::milliseconds half = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_->sse_keepalive) / 2;
  auto at = std::chrono::steady_clock::now() + std::max(half, std::chrono::milliseconds(100));
  if (expiry_ && *expiry_ < at) at = *expiry_;
  tick_.expires_at(at);
  tick_.async_wait(beast::bind_front_handler(&SseSession::on_tick, shared_from_this()));
}

void SseSession::on_tick(beast::error_code ec) {
  if (ec || closed_) return;
  const auto now = std::chrono::steady_clock::now();
  if (expiry_ && now >= *expiry_) {
    expiry_.reset();
    expired_ = true;
    if (parked_) {
      parked_ = false;
      ctx_->service->CancelWait(wait_);
      write_expired();
    }  // else a write is in flight: on_write sends the error event after it
  }
  if (!parked_) {  // a write is in flight
    if (now - write_started_ >= ctx_->write_timeout) {
      closed_ = true;
      return do_close();  // fails the write, whose handler finds the socket closed
    }
  } else if (now - last_write_ >= std::chrono::duration_cast<std::chrono::milliseconds>(ctx_->sse_keepalive) / 2) {
    parked_ = false;
    ctx_->service->CancelWait(wait_);
    SseChunk chunk;
    chunk.tail = SseKeepAlive(live_);
    do_write(std::move(chunk));
  }
  arm_tick();
}

void SseSession::write_expired() {
  done_ = true;  // the response ends after this chunk
  SseChunk chunk;
  chunk.tail = SseTokenExpired();
  do_write(std::move(chunk));
}

void SseSession::on_peer(beast::error_code ec) {
  (void)ec;
  closed_ = true;
  if (parked_) {
    parked_ = false;
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
  tick_.cancel();
}

}  // namespace dsx::session::server
