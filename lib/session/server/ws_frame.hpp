// Client frames on the session WebSocket (docs/protocol/sessions.md section 9): each frame is
// parsed with the nesting limit and validated against the documented shape of its op before
// anything acts on it, and an in-band token refresh is checked against what the socket holds.
// Socket-free, so the frame -> action step is unit-tested and fuzzed (tests/fuzz/fuzz_ws_frame.cpp);
// WebSocketSession only carries the actions out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "session/auth/rights.hpp"
#include "session/model/offset.hpp"
#include "session/model/stream_service.hpp"

namespace dsx::session::server {

inline constexpr std::int64_t kMaxWsCredit = 1 << 20;  // credit a client may hold

struct WsFrame {
  enum class Op { kSubscribe, kAppend, kAuth, kCredit, kHeartbeat, kPresence, kPing };
  // 0: valid. Otherwise the frame is answered with this status and `error`, as an `ack` that
  // echoes `req` (or, when `framing` is set, as an `error` frame: not an object with an op).
  int status = 0;
  std::string error;
  bool framing = false;

  Op op = Op::kPing;
  nlohmann::json req;  // any JSON value; null when absent

  // subscribe
  OffsetParam offset;                  // default "-1": from the start
  bool compacted = false;              // mode: "compacted"
  std::vector<std::string> lanes;      // empty: every lane
  std::optional<std::int64_t> credit;  // credit mode with this many frames
  // append
  nlohmann::json event;
  std::optional<ProducerArgs> producer;
  // auth
  std::string token;
  // credit
  std::int64_t n = 0;
  // heartbeat (run, state) and presence (state, device)
  std::string run;
  std::string state;
  std::string device;
};

// Parse and validate one text frame. Never throws.
WsFrame ParseWsFrame(std::string_view text);

// An in-band token refresh (`{"op":"auth","token":…}`) on a socket of session `session`, given
// the verified new principal. A different `sub` is refused (403) and nothing changes.
// Otherwise the new principal replaces the old one, and whatever the socket holds that the new
// token no longer covers is dropped: the subscription (and presence broadcasts) without
// `read` on the session, the socket's presence entry without `presence`.
struct WsRefresh {
  int status = 200;
  std::string error;
  bool keep_subscription = true;
  bool keep_presence = true;
  std::string dropped;  // why the subscription ends ("" when kept)
};
WsRefresh CheckRefresh(const auth::Principal& old_principal, const auth::Principal& fresh, const std::string& session);

}  // namespace dsx::session::server
