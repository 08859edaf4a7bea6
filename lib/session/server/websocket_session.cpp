#include "session/server/websocket_session.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "session/live/compactor.hpp"
#include "session/model/offset.hpp"
#include "session/server/loop_post.hpp"

namespace dsx::session::server {
namespace {

using nlohmann::json;
namespace websocket = beast::websocket;

constexpr std::size_t kMaxReplies = 1024;         // unread replies before the peer is dropped
constexpr std::size_t kMaxFrameBytes = 2u << 20;  // incoming frame limit
constexpr std::uint16_t kCloseExpired = 4401;
constexpr std::uint16_t kCloseSlow = 4408;

websocket::close_reason Reason(std::uint16_t code, const std::string& why) {
  websocket::close_reason r;
  r.code = code;
  r.reason = why;
  return r;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The `error` string of a hub reply's body ("" when there is none).
std::string ErrorOf(const json& body) {
  auto e = body.find("error");
  return body.is_object() && e != body.end() && e->is_string() ? e->get<std::string>() : std::string();
}

}  // namespace

WebSocketSession::WebSocketSession(TcpStream&& stream, live::SessionHub& hub, WebSocketParams params)
    : ws_(std::move(stream)),
      hub_(hub),
      params_(std::move(params)),
      warn_timer_(ws_.get_executor()),
      expiry_timer_(ws_.get_executor()),
      tick_timer_(ws_.get_executor()) {}

WebSocketSession::~WebSocketSession() {
  hub_.service().CancelWait(wait_);
  if (listener_) hub_.Unsubscribe(params_.session, listener_);
  if (!presence_key_.empty()) hub_.PresenceLeave(params_.session, presence_key_);
}

void WebSocketSession::Run(Request upgrade) {
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(beast::role_type::server);
  t.idle_timeout = params_.keepalive * 2;  // a ping goes out at half of it
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.read_message_max(kMaxFrameBytes);
  ws_.async_accept(upgrade, beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
}

void WebSocketSession::on_accept(beast::error_code ec) {
  if (ec) return;
  ws_.text(true);
  std::weak_ptr<WebSocketSession> weak = weak_from_this();
  auto ex = ws_.get_executor();
  listener_ = hub_.Subscribe(params_.session, [weak, ex](const json& ev) {
    if (auto s = weak.lock()) {
      PostToLoop(ex, [s, ev] {
        // Presence is readers' information: gone when a refreshed token dropped `read`.
        if (s->params_.principal.Allows(s->params_.session, auth::Right::kRead)) {
          s->reply({{"op", "presence"}, {"event", ev}});
        }
      });
    }
  });
  arm_expiry();
  arm_tick();
  reply({{"op", "hello"}, {"session", params_.session}, {"sub", params_.principal.sub}});
  do_read();
}

void WebSocketSession::do_read() {
  ws_.async_read(in_, beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
}

void WebSocketSession::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    closed_ = true;
    unpark();
    warn_timer_.cancel();
    expiry_timer_.cancel();
    tick_timer_.cancel();
    return;
  }
  const std::string text = beast::buffers_to_string(in_.data());
  in_.consume(in_.size());
  // Last line of defence: a bug in an op's handling answers 500 on this socket and is logged;
  // it never ends the process (issue 11). Frames are validated first (ParseWsFrame).
  try {
    handle(ParseWsFrame(text));
  } catch (const std::exception& e) {
    log::Error("websocket frame failed", {{"session", params_.session}, {"why", e.what()}});
    reply({{"op", "error"}, {"status", 500}, {"error", "internal error"}});
  } catch (...) {
    log::Error("websocket frame failed", {{"session", params_.session}, {"why", "unknown exception"}});
    reply({{"op", "error"}, {"status", 500}, {"error", "internal error"}});
  }
  if (!closed_) do_read();
}

void WebSocketSession::ack_error(const json& req, int status, const std::string& why) {
  reply({{"op", "ack"}, {"req", req}, {"status", status}, {"error", why}});
}

void WebSocketSession::handle(const WsFrame& f) {
  if (f.framing) return reply({{"op", "error"}, {"status", f.status}, {"error", f.error}});
  if (f.status != 0) return ack_error(f.req, f.status, f.error);
  switch (f.op) {
    case WsFrame::Op::kSubscribe: return op_subscribe(f);
    case WsFrame::Op::kAppend: return op_append(f);
    case WsFrame::Op::kAuth: return op_auth(f);
    case WsFrame::Op::kCredit:
      credit_ = std::min(credit_.value_or(0) + f.n, kMaxWsCredit);
      if (parked_) unpark();
      return pump();
    case WsFrame::Op::kHeartbeat: {
      live::HubReply r = hub_.Heartbeat(params_.session, params_.principal, f.run, f.state);
      json a = {{"op", "ack"}, {"req", f.req}, {"status", r.status}};
      if (r.status >= 400) a["error"] = ErrorOf(r.body);
      return reply(std::move(a));
    }
    case WsFrame::Op::kPresence: {
      if (!params_.principal.Allows(params_.session, auth::Right::kPresence)) {
        return ack_error(f.req, 403, params_.principal.Lacks(params_.session, auth::Right::kPresence));
      }
      if (presence_key_.empty()) presence_key_ = "ws:" + live::RandomId("");
      auth::Principal who = params_.principal;
      if (!f.device.empty() && who.device.empty()) who.device = f.device;
      hub_.PresenceSet(params_.session, presence_key_, who, "client", f.state, 0);
      return reply({{"op", "ack"}, {"req", f.req}, {"status", 204}});
    }
    case WsFrame::Op::kPing: return reply({{"op", "pong"}, {"req", f.req}});
  }
}

void WebSocketSession::op_subscribe(const WsFrame& f) {
  // The route checked `read` when the socket opened; a refreshed token may have dropped it.
  if (!params_.principal.Allows(params_.session, auth::Right::kRead)) {
    return ack_error(f.req, 403, params_.principal.Lacks(params_.session, auth::Right::kRead));
  }
  live::LaneFilter lanes;
  lanes.lanes = f.lanes;
  std::uint64_t from = f.offset.kind == OffsetParam::Kind::kAt ? f.offset.position : 0;
  if (f.offset.kind == OffsetParam::Kind::kNow) from = hub_.service().ReadFrom(params_.stream, 0).reply.info.tail;
  if (f.compacted) {
    auto view = live::BuildView(hub_.service(), params_.stream, lanes, &from);
    if (!view.ok()) return ack_error(f.req, 503, view.status().message());
    json snap = std::move(view).value();
    snap["op"] = "snapshot";
    snap["runs"] = hub_.Runs(params_.session).body.value("runs", json::array());
    reply(std::move(snap));
  }
  credit_ = f.credit;
  unpark();
  cursor_.emplace(hub_.pages(), params_.stream, from, std::move(lanes));
  reply({{"op", "ack"}, {"req", f.req}, {"status", 200}, {"offset", FormatOffset(from)}});
}

void WebSocketSession::op_append(const WsFrame& f) {
  std::weak_ptr<WebSocketSession> weak = weak_from_this();
  auto ex = ws_.get_executor();
  hub_.Submit(params_.session, params_.principal, f.event, f.producer, [weak, ex, req = f.req](live::HubReply r) {
    auto s = weak.lock();
    if (!s) return;
    json a = {{"op", "ack"}, {"req", req}, {"status", r.status}};
    if (r.status >= 400) {
      a["error"] = ErrorOf(r.body);
    } else {
      a["result"] = std::move(r.body);
    }
    PostToLoop(ex, [s, a = std::move(a)]() mutable { s->reply(std::move(a)); });
  });
}

void WebSocketSession::op_auth(const WsFrame& f) {
  if (!params_.key) return reply({{"op", "ack"}, {"req", f.req}, {"status", 200}, {"note", "server is open"}});
  auto p = params_.key->Verify(f.token, dsx::NowMs() / 1000);
  if (!p.ok()) return ack_error(f.req, 401, p.status().message());
  const WsRefresh r = CheckRefresh(params_.principal, *p, params_.session);
  if (r.status != 200) return ack_error(f.req, r.status, r.error);
  params_.principal = std::move(p).value();
  arm_expiry();
  if (!r.keep_subscription && cursor_) {
    // The new token no longer covers what this socket reads: stop delivery now (and refuse a
    // re-subscribe, op_subscribe); the client hears it as the subscription's final error.
    cursor_.reset();
    credit_.reset();
    unpark();
    reply({{"op", "error"}, {"status", 403}, {"error", r.dropped}});
  }
  if (!r.keep_presence && !presence_key_.empty()) {
    hub_.PresenceLeave(params_.session, presence_key_);
    presence_key_.clear();
  }
  reply({{"op", "ack"}, {"req", f.req}, {"status", 200}, {"exp", params_.principal.exp_s}});
}

void WebSocketSession::reply(json frame) {
  if (closed_) return;
  if (replies_.size() >= kMaxReplies) return close(kCloseSlow, "too many unread replies");
  replies_.push_back(Dump(frame));
  if (parked_) unpark();
  pump();
}

void WebSocketSession::pump() {
  if (writing_ || closed_) return;
  if (!replies_.empty()) {
    std::string next = std::move(replies_.front());
    replies_.pop_front();
    return write(std::move(next));
  }
  if (!cursor_ || (credit_ && *credit_ <= 0)) return;
  auto poll = cursor_->Next();
  if (poll.status != 200) {
    cursor_.reset();
    return write(Dump({{"op", "error"}, {"status", poll.status}, {"error", poll.error}}));
  }
  if (poll.empty()) {
    if (poll.more) return PostToLoop(ws_.get_executor(), [self = shared_from_this()] { self->pump(); });
    return park();
  }
  if (credit_) --*credit_;
  if (!poll.filtered) return write_shared(std::move(poll.page));  // the bytes every reader here shares
  write(live::WsEventsFrame(poll.own, cursor_->offset()));
}

void WebSocketSession::write(std::string text) {
  out_ = std::move(text);
  start_write(net::buffer(out_));
}

void WebSocketSession::write_shared(std::shared_ptr<const live::EventsPage> page) {
  out_page_ = std::move(page);
  start_write(net::buffer(out_page_->ws_frame));
}

void WebSocketSession::start_write(net::const_buffer bytes) {
  writing_ = true;
  write_started_ = std::chrono::steady_clock::now();
  ws_.async_write(bytes, beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
}

void WebSocketSession::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  out_.clear();
  out_page_.reset();
  if (ec) {
    closed_ = true;
    unpark();
    return;
  }
  if (close_after_write_) {
    auto self = shared_from_this();
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
    return ws_.async_close(*close_after_write_, [self](beast::error_code) {});
  }
  pump();
}

void WebSocketSession::park() {
  if (parked_ || !cursor_) return;
  parked_ = true;
  std::weak_ptr<WebSocketSession> weak = weak_from_this();
  auto ex = ws_.get_executor();
  const bool waiting = hub_.service().Wait(
      cursor_->stream(), cursor_->offset(),
      [weak, ex] {
        if (auto s = weak.lock()) {
          PostToLoop(ex, [s] {
            if (!s->parked_) return;
            s->unpark();
            s->pump();
          });
        }
      },
      &wait_);
  if (!waiting) {
    parked_ = false;
    PostToLoop(ws_.get_executor(), [self = shared_from_this()] { self->pump(); });
  }
}

void WebSocketSession::unpark() {
  if (!parked_) return;
  parked_ = false;
  hub_.service().CancelWait(wait_);
}

void WebSocketSession::arm_expiry() {
  warn_timer_.cancel();
  expiry_timer_.cancel();
  if (params_.principal.exp_s <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  const std::int64_t left_ms = params_.principal.exp_s * 1000 - dsx::NowMs();
  expiry_timer_.expires_at(now + std::chrono::milliseconds(left_ms));
  expiry_timer_.async_wait(beast::bind_front_handler(&WebSocketSession::on_expiry, shared_from_this()));
  warn_timer_.expires_at(now + std::chrono::milliseconds(left_ms - 30000));
  warn_timer_.async_wait(beast::bind_front_handler(&WebSocketSession::on_expiry_warning, shared_from_this()));
}

void WebSocketSession::arm_tick() {
  const std::chrono::milliseconds half = std::chrono::milliseconds(params_.write_timeout) / 2;
  tick_timer_.expires_after(std::max(half, std::chrono::milliseconds(100)));
  tick_timer_.async_wait(beast::bind_front_handler(&WebSocketSession::on_tick, shared_from_this()));
}

void WebSocketSession::on_tick(beast::error_code ec) {
  if (ec || closed_) return;
  if (writing_ && std::chrono::steady_clock::now() - write_started_ >= params_.write_timeout) {
    // The peer stopped reading: drop it (it reconnects and resumes from its offset). Closing
    // the socket fails the write in flight, which ends the session.
    closed_ = true;
    unpark();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    return;
  }
  arm_tick();
}

void WebSocketSession::on_expiry_warning(beast::error_code ec) {
  if (ec || closed_) return;
  reply({{"op", "auth.expiring"}, {"exp", params_.principal.exp_s}});
}

void WebSocketSession::on_expiry(beast::error_code ec) {
  if (ec || closed_) return;
  close(kCloseExpired, "token expired");
}

void WebSocketSession::close(std::uint16_t code, const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  unpark();
  warn_timer_.cancel();
  expiry_timer_.cancel();
  tick_timer_.cancel();
  if (writing_) {  // one write at a time (a close is a write): close after it
    close_after_write_ = Reason(code, reason);
    return;
  }
  auto self = shared_from_this();
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
  ws_.async_close(Reason(code, reason), [self](beast::error_code) {});
}

}  // namespace dsx::session::server
