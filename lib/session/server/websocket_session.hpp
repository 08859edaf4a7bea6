// WebSocketSession: `GET /v1/session/<id>/ws` (docs/protocol/sessions.md §9). One socket to
// subscribe (from an offset, or compacted), append, send control, heartbeat runs, and exchange
// presence. Owns the connection after the HTTP session hands it over; all handlers run on the
// connection's strand; lifetime via shared_from_this.
//
// Outgoing frames: replies (acks, snapshot, presence, auth notices) wait in a small bounded
// queue and go first; log events are never queued: when the socket can take a frame (and the
// client has credit, in credit mode) everything new is read through a LiveCursor, fragments
// merged, and sent as one `events` frame (for a reader without a lane filter: the shared
// page's prebuilt frame, see live::SharedPages). A peer that stops reading is closed once a
// write has been pending for write_timeout (checked every write_timeout/2); it reconnects and
// resumes from its offset. Beast answers pings and sends its
// own (keep-alive) so dead peers are found.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "session/auth/jwt.hpp"
#include "session/live/live_cursor.hpp"
#include "session/live/session_hub.hpp"
#include "session/server/net_types.hpp"
#include "session/server/router.hpp"
#include "session/server/ws_frame.hpp"

namespace dsx::session::server {

namespace beast = boost::beast;
namespace net = boost::asio;

struct WebSocketParams {
  std::string session;
  StreamHandle stream;
  auth::Principal principal;
  const auth::TokenKey* key = nullptr;  // for in-band refresh (null: open server)
  std::chrono::seconds keepalive{15};
  std::chrono::seconds write_timeout{60};
};

class WebSocketSession : public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(TcpStream&& stream, live::SessionHub& hub, WebSocketParams params);
  ~WebSocketSession();
  void Run(Request upgrade);

 private:
  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle(const WsFrame& frame);
  void op_subscribe(const WsFrame& frame);
  void op_append(const WsFrame& frame);
  void op_auth(const WsFrame& frame);
  void ack_error(const nlohmann::json& req, int status, const std::string& why);
  void reply(nlohmann::json frame);
  void pump();
  void write(std::string text);
  void write_shared(std::shared_ptr<const live::EventsPage> page);
  void start_write(net::const_buffer bytes);
  void arm_tick();
  void on_tick(beast::error_code ec);
  void on_write(beast::error_code ec, std::size_t bytes);
  void park();
  void unpark();
  void arm_expiry();
  void on_expiry_warning(beast::error_code ec);
  void on_expiry(beast::error_code ec);
  void close(std::uint16_t code, const std::string& reason);

  beast::websocket::stream<TcpStream> ws_;
  live::SessionHub& hub_;
  WebSocketParams params_;
  beast::flat_buffer in_;
  std::string out_;                                   // the frame being written, or
  std::shared_ptr<const live::EventsPage> out_page_;  // a shared page whose ws_frame is
  std::deque<std::string> replies_;
  std::optional<live::LiveCursor> cursor_;  // set by subscribe
  std::optional<std::int64_t> credit_;      // credit mode: frames the client still accepts
  SteadyTimer warn_timer_;
  SteadyTimer expiry_timer_;
  // One periodic timer instead of a deadline per write (arming a timer per frame cost more
  // than the frame at 1,000 readers): every write_timeout/2 it checks the write in flight.
  SteadyTimer tick_timer_;
  std::chrono::steady_clock::time_point write_started_;
  StreamService::WaitToken wait_;
  std::uint64_t listener_ = 0;
  std::string presence_key_;
  std::optional<beast::websocket::close_reason> close_after_write_;
  bool writing_ = false;
  bool parked_ = false;
  bool closed_ = false;
};

}  // namespace dsx::session::server
