#include "session/server/http_session.hpp"

#include <array>
#include <atomic>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>

#include "core/log.hpp"
#include "session/server/auth_gate.hpp"
#include "session/server/loop_post.hpp"
#include "session/server/overload.hpp"
#include "session/server/query_text.hpp"
#include "session/server/sse_session.hpp"

namespace dsx::session::server {

namespace {

// Hand-off between Route's completion (any thread, maybe synchronous) and the strand: the
// synchronous case continues inline, the asynchronous one posts.
struct RouteSlot {
  std::atomic<int> state{0};  // 1: outcome stored; 2: Route returned
  RouteOutcome outcome;
};

// Overflow mode: how long a connection over the limit may take to send its request head.
constexpr std::chrono::seconds kOverflowReadTimeout{5};
// Lingering close: how long, and how much, a refused client may go on sending (dropped).
constexpr std::chrono::seconds kLingerTime{5};
constexpr std::size_t kLingerBytes = 64u << 20;
constexpr std::size_t kSinkBytes = 16u << 10;

bool IsNormalClose(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
         ec == net::error::connection_reset || ec == net::error::eof || ec == beast::error::timeout ||
         ec == net::error::broken_pipe;
}

}  // namespace

HttpSession::HttpSession(TcpSocket&& socket, ConnectionTicket ticket, std::shared_ptr<const ServerContext> ctx,
                         bool overflow)
    : stream_(CountedRatePolicy(std::move(ticket)), std::move(socket)),
      ctx_(std::move(ctx)),
      timer_(stream_.get_executor()),
      overflow_(overflow) {
  ctx_->metrics->http_connections.fetch_add(1, std::memory_order_relaxed);
}

HttpSession::~HttpSession() {
  ctx_->metrics->http_connections.fetch_sub(1, std::memory_order_relaxed);
  if (waiting_) ctx_->metrics->long_poll_waiters.fetch_sub(1, std::memory_order_relaxed);
  ctx_->service->CancelWait(wait_);
}

void HttpSession::Run() {
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::do_read() {
  parser_.emplace();
  // The head is checked against the largest limit; the route's own is applied once the head
  // says which route it is (on_header).
  parser_->body_limit(std::max(ctx_->max_body_bytes, ctx_->max_session_body_bytes));
  parser_->header_limit(static_cast<std::uint32_t>(ctx_->max_header_bytes));
  if (overflow_) {
    stream_.expires_after(kOverflowReadTimeout);
  } else {
    stream_.expires_after(ctx_->idle_timeout);
  }
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
}

void HttpSession::on_read_error(beast::error_code ec) {
  if (IsNormalClose(ec) || ec == http::error::partial_message) return do_close();
  // Malformed or oversized request: answer with the protocol's status, then close.
  Request req;
  req.version(11);
  http::status status = http::status::bad_request;
  if (ec == http::error::body_limit) status = http::status::payload_too_large;
  if (ec == http::error::header_limit) status = http::status::request_header_fields_too_large;
  if (ec == http::error::buffer_overflow) status = http::status::service_unavailable;  // out of memory
  refuse(ErrorResponse(req, status, std::string("bad request: ") + ec.message()));
}

void HttpSession::on_header(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  const auto& head = parser_->get();
  if (overflow_) {
    const std::string_view target(head.target().data(), head.target().size());
    const bool health = target.substr(0, target.find('?')) == "/health" &&
                        (head.method() == http::verb::get || head.method() == http::verb::head);
    if (!health) {
      ctx_->metrics->rejected_connections.fetch_add(1, std::memory_order_relaxed);
      return refuse(OverloadResponse(head.version(), "too many connections"));
    }
  }
  const std::uint64_t declared = parser_->content_length().value_or(0);
  if (declared > 0 || parser_->chunked()) {
    const BodyGate gate = CheckBeforeBody(ctx_->auth_key, head);
    if (gate.status != 200) {
      Request stub;
      stub.version(head.version());
      return refuse(JsonError(stub, gate.status, gate.error));
    }
    const std::size_t limit = gate.open_path       ? 0
                              : gate.session_route ? ctx_->max_session_body_bytes
                                                   : ctx_->max_body_bytes;
    if (declared > limit) {
      Request stub;
      stub.version(head.version());
      return refuse(ErrorResponse(stub, http::status::payload_too_large,
                                  "request body too large: the limit here is " + std::to_string(limit) + " bytes"));
    }
    parser_->body_limit(limit);  // chunked bodies: checked as they arrive
  }
  http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  ctx_->metrics->requests.fetch_add(1, std::memory_order_relaxed);
  // The router's Request has a string_body; the string moves over, the head is relinked.
  auto msg = parser_->release();
  Request req(std::move(msg.base()));
  req.body() = std::move(msg.body());
  if (ctx_->log_requests) {
    // Method and target only: never a header (Authorization), never a query token.
    log::Info("request", {{"method", std::string(req.method_string())},
                          {"target", RedactTarget(std::string_view(req.target().data(), req.target().size()))}});
  }
  route(std::move(req));
}

void HttpSession::route(Request req) {
  auto slot = std::make_shared<RouteSlot>();
  auto self = shared_from_this();
  Route(*ctx_->service, ctx_->router, std::move(req), [self, slot](RouteOutcome outcome) {
    slot->outcome = std::move(outcome);
    if (slot->state.exchange(1, std::memory_order_acq_rel) == 2) {
      PostToLoop(self->stream_.get_executor(), [self, slot] { self->on_routed(std::move(slot->outcome)); });
    }
  });
  if (slot->state.exchange(2, std::memory_order_acq_rel) == 1) on_routed(std::move(slot->outcome));
}

void HttpSession::refuse(Response res) {
  res.keep_alive(false);
  linger_ = true;
  do_write(std::move(res));
}

void HttpSession::do_linger() {
  // Lingering close (as nginx's lingering_close): we stop sending, then read and drop what the
  // client still sends, for at most kLingerTime and kLingerBytes, so that the close is a FIN
  // after the client has finished rather than a reset that may discard our answer unread.
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  buffer_.clear();
  buffer_.shrink_to_fit();
  if (!sink_) sink_ = std::make_unique<char[]>(kSinkBytes);
  stream_.expires_after(kLingerTime);
  stream_.async_read_some(net::buffer(sink_.get(), kSinkBytes),
                          beast::bind_front_handler(&HttpSession::on_linger, shared_from_this()));
}

void HttpSession::on_linger(beast::error_code ec, std::size_t bytes) {
  lingered_ += bytes;
  if (ec || lingered_ >= kLingerBytes) return stream_.close();
  stream_.async_read_some(net::buffer(sink_.get(), kSinkBytes),
                          beast::bind_front_handler(&HttpSession::on_linger, shared_from_this()));
}

void HttpSession::on_routed(RouteOutcome outcome) {
  switch (outcome.kind) {
    case RouteOutcome::Kind::kResponse: return do_write(std::move(outcome.response));
    case RouteOutcome::Kind::kLongPoll: return start_long_poll(std::move(outcome.live));
    case RouteOutcome::Kind::kSse: {
      buffer_.clear();
      buffer_.shrink_to_fit();
      auto sse = std::make_shared<SseSession>(std::move(stream_), ctx_, std::move(outcome.live));
      sse->Run();
      return;  // this session ends here; the connection belongs to the SSE session
    }
    case RouteOutcome::Kind::kTakeover:  // session SSE / WebSocket (session_routes.cpp)
      return outcome.takeover(std::move(stream_), std::move(buffer_));
  }
}

void HttpSession::do_write(Response res) {
  ctx_->metrics->CountStatus(res.result_int());
  if (overflow_) res.keep_alive(false);  // one request over the limit, then the slot is freed
  if (res.keep_alive()) {
    const auto advertised = ctx_->idle_timeout.count() > 2 ? ctx_->idle_timeout.count() - 2 : 1;
    res.set(http::field::keep_alive, "timeout=" + std::to_string(advertised));
  }
  // Serialize the head by hand into one string and send head + body with one gathered
  // write: Beast's generic serializer cost ~10% of the CPU per small request (profile).
  res_ = std::move(res);
  const unsigned status = res_.result_int();
  if (res_.find(http::field::content_length) == res_.end() && res_.find(http::field::transfer_encoding) == res_.end() &&
      status != 204 && status != 304) {
    res_.content_length(res_.body().size());
  }
  head_.clear();
  head_ += res_.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head_ += std::to_string(status);
  head_ += ' ';
  const auto reason = res_.reason();
  head_.append(reason.data(), reason.size());
  head_ += "\r\n";
  for (const auto& field : res_) {
    const auto name = field.name_string();
    const auto value = field.value();
    head_.append(name.data(), name.size());
    head_ += ": ";
    head_.append(value.data(), value.size());
    head_ += "\r\n";
  }
  head_ += "\r\n";
  const bool close = res_.need_eof();
  std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(res_.body())};
  stream_.expires_after(ctx_->write_timeout);
  net::async_write(stream_, buffers, beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), close));
}

void HttpSession::on_write(bool close, beast::error_code ec, std::size_t) {
  res_ = Response{};
  if (ec) return do_close();
  if (close) return linger_ ? do_linger() : do_close();
  do_read();
}

void HttpSession::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
}

void HttpSession::start_long_poll(LiveRead live) {
  live_ = std::move(live);
  waiting_ = true;
  ctx_->metrics->long_poll_waiters.fetch_add(1, std::memory_order_relaxed);
  stream_.expires_never();
  const auto now = std::chrono::steady_clock::now();
  auto deadline = now + ctx_->long_poll_timeout;
  const auto expiry = TokenDeadline(live_.token_exp_s, std::chrono::system_clock::now(), now);
  token_first_ = expiry && *expiry <= deadline;
  if (token_first_) deadline = *expiry;
  timer_.expires_at(deadline);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->finish_long_poll(true);
  });
  std::weak_ptr<HttpSession> weak = weak_from_this();
  auto executor = stream_.get_executor();
  const bool parked = ctx_->service->Wait(
      live_.stream, live_.offset,
      [weak, executor] {
        if (auto self = weak.lock()) {
          PostToLoop(executor, [self] { self->finish_long_poll(false); });
        }
      },
      &wait_);
  if (!parked) finish_long_poll(false);
}

void HttpSession::finish_long_poll(bool timed_out) {
  if (!waiting_) return;
  waiting_ = false;
  ctx_->metrics->long_poll_waiters.fetch_sub(1, std::memory_order_relaxed);
  timer_.cancel();
  ctx_->service->CancelWait(wait_);
  // Data that arrived in time is delivered; a wait that reached the token's expiry is not
  // answered 204 (that would invite a retry with the same dead token) but 401.
  Response res =
      timed_out && token_first_ ? TokenExpiredResponse(live_) : LongPollResponse(*ctx_->service, live_, timed_out);
  live_ = LiveRead{};
  do_write(std::move(res));
}

}  // namespace dsx::session::server
