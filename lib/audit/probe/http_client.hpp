// A small blocking HTTP client over libcurl for the live probe: one request, the body
// delivered chunk by chunk as it arrives, and the ways a probe needs to end a read early
// (a hard drop at a chosen point, deadlines for connect, first byte, idle gaps, total time).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/probe/probe.hpp"

namespace dsx::audit::probe {

struct HttpLimits {
  double connect_s = 5.0;     // TCP/TLS connect
  double first_byte_s = 10.0; // until the response status line
  double idle_s = 10.0;       // longest gap between body bytes (whole seconds, rounded up)
  double total_s = 120.0;     // the whole exchange
};

enum class HttpOutcome {
  kComplete,         // the server ended the body
  kDropped,          // we closed the connection on purpose (on_body returned false / abort)
  kConnectFailed,    // refused, unresolvable, TLS failure
  kTimeoutConnect,
  kTimeoutFirstByte, // connected, but no status line in time: a hanging endpoint
  kTimeoutIdle,      // the body stalled
  kTimeoutTotal,
  kError,            // anything else (reset by peer mid-body, bad HTTP)
};
const char* HttpOutcomeName(HttpOutcome o);

struct HttpResponse {
  HttpOutcome outcome = HttpOutcome::kError;
  long status = 0;  // 0 when no status line arrived
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;      // everything received (also when dropped)
  std::string error;     // libcurl's message when outcome is not complete/dropped
  double first_byte_s = 0;  // seconds from start to the status line
  double elapsed_s = 0;
  // First header with this (lower-case) name, "" if absent.
  std::string Header(std::string_view name) const;
  bool Answered() const { return status > 0; }
};

// Called with each body chunk as it arrives; `so_far` holds the status, the headers and the
// whole body until now (chunk included). Return false to drop the connection at once,
// without a clean close.
using BodyFn = std::function<bool(std::string_view chunk, const HttpResponse& so_far)>;

// Run one request. `abort`, when given, may be set from another thread to drop the
// connection (checked at least every 100 ms). Thread-safe: every call uses its own handle.
HttpResponse Fetch(const RequestSpec& request, const HttpLimits& limits, const BodyFn& on_body = {},
                   const std::atomic<bool>* abort = nullptr);

}  // namespace dsx::audit::probe
