// LiveSseSession: `GET /v1/session/<id>/events` as Server-Sent Events (docs/protocol/
// sessions.md §8). Owns the connection after the HTTP session hands it over.
//
// Loop: at most one write in flight; when it completes, everything new is read from the log
// through a LiveCursor (fragments merged) and written as one batch, so a slow reader costs an
// offset, never a queue. Parked on a service waiter when caught up; keep-alive comments when
// idle; presence changes from the hub are interleaved (bounded). Unfiltered readers write
// the shared page's prebuilt text (live::SharedPages). The response ends when the
// peer closes, a write stalls past write_timeout, the session is deleted, or the token expires
// (then `event: error` with status 401 first).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>

#include "session/auth/rights.hpp"
#include "session/live/live_cursor.hpp"
#include "session/live/session_hub.hpp"
#include "session/server/net_types.hpp"

namespace dsx::session::server {

namespace beast = boost::beast;
namespace net = boost::asio;

struct LiveSseParams {
  std::string session;
  StreamHandle stream;
  std::uint64_t offset = 0;
  live::LaneFilter lanes;
  bool compacted = false;
  bool presence = false;  // join presence while connected
  auth::Principal principal;
  std::chrono::seconds keepalive{15};
  std::chrono::seconds write_timeout{60};
};

class LiveSseSession : public std::enable_shared_from_this<LiveSseSession> {
 public:
  LiveSseSession(TcpStream&& stream, live::SessionHub& hub, LiveSseParams params);
  ~LiveSseSession();
  void Run();

 private:
  void pump();
  void write(std::string text, std::shared_ptr<const live::EventsPage> page = nullptr);
  void arm_tick();
  void on_tick(beast::error_code ec);
  void on_write(beast::error_code ec, std::size_t bytes);
  void park();
  void unpark();
  void on_wake();
  void on_presence(nlohmann::json event);
  void on_expiry(beast::error_code ec);
  void on_peer(beast::error_code ec);
  void close();

  TcpStream stream_;
  live::SessionHub& hub_;
  LiveSseParams params_;
  live::LiveCursor cursor_;
  std::string out_;                                   // this reader's bytes (presence, errors),
  std::shared_ptr<const live::EventsPage> out_page_;  // then a shared page's sse_text
  std::deque<nlohmann::json> presence_;               // bounded (kMaxPresence)
  // One periodic timer (every keepalive/2) instead of a keep-alive timer re-armed at each
  // park and a deadline per write: it sends keep-alives and drops a stalled peer.
  SteadyTimer tick_;
  std::chrono::steady_clock::time_point write_started_;
  std::chrono::steady_clock::time_point last_write_;
  SteadyTimer expiry_;
  StreamService::WaitToken wait_;
  std::uint64_t listener_ = 0;
  std::string presence_key_;
  bool writing_ = false;
  bool parked_ = false;
  bool more_ = false;
  bool finish_ = false;  // close after the current write
  bool closed_ = false;
};

}  // namespace dsx::session::server
