// What every connection of one server shares (read-only after start, except counters).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "session/auth/jwt.hpp"
#include "session/model/stream_service.hpp"
#include "session/server/router.hpp"
#include "session/server/server_metrics.hpp"

namespace dsx::session::server {

struct ServerContext {
  StreamService* service = nullptr;
  RouterOptions router;
  ServerMetrics* metrics = nullptr;
  SsePageCache* sse_pages = nullptr;  // SSE data shared by subscribers (fan-out)
  std::chrono::milliseconds long_poll_timeout{30000};
  std::size_t max_body_bytes = 64u << 20;         // larger bodies get 413
  std::size_t max_session_body_bytes = 1u << 20;  // the same for /v1/session/ requests
  std::int64_t max_connections = 10000;           // open connections of every kind; then 503
  // The token key of the auth gate (null: open server). HttpSession checks the token (and
  // that it has some right on the target) from the request head, before reading the body
  // (auth_gate.hpp, CheckBeforeBody); the full check still runs in the router's intercept.
  const auth::TokenKey* auth_key = nullptr;
  std::size_t max_header_bytes = 16u << 10;  // larger request heads get 431
  std::chrono::seconds idle_timeout{30};     // keep-alive idle / request read deadline
  std::chrono::seconds write_timeout{30};    // a response (or SSE chunk) write deadline
  std::chrono::seconds sse_keepalive{15};    // control event on idle SSE responses
  bool log_requests = false;
};

}  // namespace dsx::session::server
