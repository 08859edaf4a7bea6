// The /v1/session/ endpoints and the auth gate in front of every route (docs/protocol/
// sessions.md §4, §7). MakeSessionIntercept returns the RouterOptions::intercept hook: it sees
// each request before the Durable Streams routes, answers auth failures (401/403), serves
// /v1/session/…, hands SSE and WebSocket connections over, and passes everything else on.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "session/auth/jwt.hpp"
#include "session/live/session_hub.hpp"
#include "session/server/router.hpp"

namespace dsx::session::server {

struct SessionRoutesConfig {
  live::SessionHub* hub = nullptr;
  const auth::TokenKey* key = nullptr;     // null: open server
  std::chrono::seconds keepalive{15};      // SSE comments / WebSocket pings
  std::chrono::seconds write_timeout{60};  // a stalled live write closes the connection
};

using Intercept = std::function<bool(Request& request, RouteDone& done)>;
Intercept MakeSessionIntercept(std::shared_ptr<const SessionRoutesConfig> config);

// Splits "/v1/session/<id>/<rest>" (exposed for tests). Returns false for other paths.
struct SessionTarget {
  std::string id;
  std::string endpoint;  // "", "events", "view", "presence", "ws", "heartbeat"
  std::string run;       // heartbeat
};
bool ParseSessionPath(std::string_view path, SessionTarget* out);

}  // namespace dsx::session::server
