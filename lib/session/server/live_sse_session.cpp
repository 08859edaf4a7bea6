#include "session/server/live_sse_session.hpp"

#include <array>

#include <boost/asio/write.hpp>

#include "core/clock.hpp"
#include "session/live/compactor.hpp"
#include "session/model/offset.hpp"
#include "session/server/loop_post.hpp"

namespace dsx::session::server {
namespace {

constexpr std::size_t kMaxPresence = 256;

void AppendEvent(std::string& out, const char* name, const std::string* id, const std::string& data) {
  if (name) out.append("event: ").append(name).append("\n");
  if (id) out.append("id: ").append(*id).append("\n");
  out.append("data: ").append(data).append("\n\n");  // JSON dumps have no raw newlines
}

}  // namespace

LiveSseSession::LiveSseSession(TcpStream&& stream, live::SessionHub& hub, LiveSseParams params)
    : stream_(std::move(stream)),
      hub_(hub),
      params_(std::move(params)),
      cursor_(hub.pages(), params_.stream, params_.offset, params_.lanes),
      tick_(stream_.get_executor()),
      expiry_(stream_.get_executor()) {}

LiveSseSession::~LiveSseSession() {
  hub_.service().CancelWait(wait_);
  if (listener_) hub_.Unsubscribe(params_.session, listener_);
  if (!presence_key_.empty()) hub_.PresenceLeave(params_.session, presence_key_);
}

void LiveSseSession::Run() {
  auto self = shared_from_this();
  stream_.socket().async_wait(net::socket_base::wait_read, beast::bind_front_handler(&LiveSseSession::on_peer, self));
  std::weak_ptr<LiveSseSession> weak = self;
  auto ex = stream_.get_executor();
  listener_ = hub_.Subscribe(params_.session, [weak, ex](const nlohmann::json& ev) {
    if (auto s = weak.lock()) PostToLoop(ex, [s, ev] { s->on_presence(ev); });
  });
  if (params_.presence) {
    presence_key_ = "sse:" + live::RandomId("");
    hub_.PresenceSet(params_.session, presence_key_, params_.principal, "client", "online", 0);
  }
  if (params_.principal.exp_s > 0) {
    expiry_.expires_at(std::chrono::steady_clock::now() +
                       std::chrono::seconds(params_.principal.exp_s - dsx::NowMs() / 1000));
    expiry_.async_wait(beast::bind_front_handler(&LiveSseSession::on_expiry, self));
  }
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "Connection: close\r\nX-Accel-Buffering: no\r\nAccess-Control-Allow-Origin: *\r\n"
      "X-Content-Type-Options: nosniff\r\n\r\n";
  head += "retry: 1000\n\n";
  if (params_.compacted) {
    std::uint64_t tail = 0;
    auto view = live::BuildView(hub_.service(), params_.stream, params_.lanes, &tail);
    if (!view.ok()) {
      AppendEvent(head, "error", nullptr, nlohmann::json{{"status", 503}, {"error", view.status().message()}}.dump());
      finish_ = true;
    } else {
      auto runs = hub_.Runs(params_.session);
      (*view)["runs"] = runs.body.value("runs", nlohmann::json::array());
      const std::string id = FormatOffset(tail);
      AppendEvent(head, "snapshot", &id, view->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      cursor_.Seek(tail);
    }
  }
  arm_tick();
  write(std::move(head));
}

void LiveSseSession::pump() {
  if (writing_ || closed_) return;
  if (finish_) return close();
  std::string out;
  for (const auto& ev : presence_) AppendEvent(out, "presence", nullptr, ev.dump());
  presence_.clear();
  auto poll = cursor_.Next();
  if (poll.status != 200) {
    AppendEvent(out, "error", nullptr,
                nlohmann::json{{"status", poll.status}, {"error", poll.error}}.dump(
                    -1, ' ', false, nlohmann::json::error_handler_t::replace));
    finish_ = true;
  } else {
    more_ = poll.more;
    if (poll.closed) finish_ = true;
    if (!poll.empty()) {
      if (!poll.filtered) return write(std::move(out), std::move(poll.page));  // shared bytes
      out += live::SseEventsText(poll.own);
    }
  }
  if (out.empty()) return park();
  write(std::move(out));
}

void LiveSseSession::write(std::string text, std::shared_ptr<const live::EventsPage> page) {
  writing_ = true;
  out_ = std::move(text);
  out_page_ = std::move(page);
  write_started_ = std::chrono::steady_clock::now();
  std::array<net::const_buffer, 2> bufs{net::buffer(out_),
                                        out_page_ ? net::buffer(out_page_->sse_text) : net::const_buffer()};
  net::async_write(stream_.socket(), bufs, beast::bind_front_handler(&LiveSseSession::on_write, shared_from_this()));
}

void LiveSseSession::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  last_write_ = std::chrono::steady_clock::now();
  out_.clear();
  out_.shrink_to_fit();
  out_page_.reset();
  if (ec || closed_) return close();
  if (finish_) return close();
  pump();
}

void LiveSseSession::park() {
  if (parked_) return;
  parked_ = true;
  std::weak_ptr<LiveSseSession> weak = weak_from_this();
  auto ex = stream_.get_executor();
  const bool waiting = hub_.service().Wait(
      cursor_.stream(), cursor_.offset(),
      [weak, ex] {
        if (auto s = weak.lock()) PostToLoop(ex, [s] { s->on_wake(); });
      },
      &wait_);
  if (!waiting) {
    parked_ = false;
    return PostToLoop(stream_.get_executor(), [self = shared_from_this()] { self->pump(); });
  }
}

void LiveSseSession::unpark() {
  if (!parked_) return;
  parked_ = false;
  hub_.service().CancelWait(wait_);
}

void LiveSseSession::on_wake() {
  if (!parked_) return;
  unpark();
  pump();
}

void LiveSseSession::on_presence(nlohmann::json ev) {
  if (closed_) return;
  if (presence_.size() >= kMaxPresence) presence_.pop_front();
  presence_.push_back(std::move(ev));
  if (parked_) {
    unpark();
    pump();
  }
}

void LiveSseSession::arm_tick() {
  const std::chrono::milliseconds half = std::chrono::milliseconds(params_.keepalive) / 2;
  tick_.expires_after(std::max(half, std::chrono::milliseconds(100)));
  tick_.async_wait(beast::bind_front_handler(&LiveSseSession::on_tick, shared_from_this()));
}

void LiveSseSession::on_tick(beast::error_code ec) {
  if (ec || closed_) return;
  const auto now = std::chrono::steady_clock::now();
  if (writing_ && now - write_started_ >= params_.write_timeout) return close();  // peer stopped reading
  // Idle for at least keepalive/2 at a tick every keepalive/2: no gap exceeds `keepalive`.
  if (parked_ && now - last_write_ >= std::chrono::milliseconds(params_.keepalive) / 2) {
    unpark();
    write(": keep-alive\n\n");
  }
  arm_tick();
}

void LiveSseSession::on_expiry(beast::error_code ec) {
  if (ec || closed_) return;
  finish_ = true;
  if (writing_) return;  // closes after the write in flight
  unpark();
  std::string out;
  AppendEvent(out, "error", nullptr, nlohmann::json{{"status", 401}, {"error", "token expired"}}.dump());
  write(std::move(out));
}

void LiveSseSession::on_peer(beast::error_code) {
  closed_ = true;
  if (!writing_) close();
}

void LiveSseSession::close() {
  closed_ = true;
  unpark();
  expiry_.cancel();
  tick_.cancel();
  if (stream_.socket().is_open()) {
    beast::error_code ec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    stream_.close();
  }
}

}  // namespace dsx::session::server
