// The HTTP seam of every client in the tree (session clients, LLM clients, the audit probe,
// `kernel gen --session`): code talks to a Transport, so tests can script responses and
// failures without sockets (net::testing::FakeTransport). CurlTransport is the real one.
//
// Header values (tokens, API keys) are secrets: no transport puts them in a log line or in an
// error message, and callers must not either.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace dsx::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Time limits of one request, in milliseconds. Each one: > 0 is the limit, 0 takes the
// transport's default (see CurlTransport::Options; none unless set there), < 0 is no limit.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  std::string body;
  long timeout_ms = 0;             // total: the whole exchange, connect included
  long connect_timeout_ms = 0;     // DNS, TCP and TLS handshake
  long first_byte_timeout_ms = 0;  // from the start until the response's status line
  // Longest silence (no header or body byte) once connected. A silence before the status line
  // ends the exchange as kTimeoutFirstByte, one after it as kTimeoutIdle.
  long idle_timeout_ms = 0;
  // When set, another thread may store true to end the exchange (outcome kCancelled, error
  // kInterrupted). Checked at least every 100 ms and before each callback. Must outlive the call.
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  int status = 0;      // 0 when no status line arrived
  HeaderList headers;  // as received; names compared case-insensitively
  std::string body;    // Send(): everything received, also when the exchange failed midway

  // First header named `name` (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
  bool Has(std::string_view name) const;
};

// How an exchange ended.
enum class Outcome {
  kComplete,       // the server ended the response (any HTTP status)
  kAborted,        // a StreamHandler callback returned false: we closed the connection
  kCancelled,      // HttpRequest::cancel was set
  kConnectFailed,  // refused, unresolvable, TLS handshake or certificate failure
  kTimeoutConnect,
  kTimeoutFirstByte,  // connected, but no status line in time: a hanging endpoint
  kTimeoutIdle,       // the response stalled after its status line
  kTimeoutTotal,
  kError,  // anything else (reset by peer mid-body, malformed HTTP)
};
// "complete", "aborted", "cancelled", "connect failed", "connect timed out", ...
const char* OutcomeName(Outcome outcome);

// The outcome of one exchange. `error` is OK for kComplete (whatever the HTTP status: 4xx and
// 5xx are OK exchanges) and kAborted; kInterrupted for kCancelled; kUnavailable for transport
// failures and timeouts (a message naming what happened, never a header value).
// `maybe_delivered` says whether the server may have received and acted on the request:
// false only when the connection was never established (refused, unresolvable), which is
// what makes retrying a non-idempotent POST safe.
struct Exchange {
  Status error;
  bool maybe_delivered = false;
  HttpResponse response;
  Outcome outcome = Outcome::kComplete;
  double first_byte_ms = 0;  // from the start to the status line; 0 when none came
  double elapsed_ms = 0;     // the whole exchange
  bool ok() const { return error.ok(); }
  bool timed_out() const {
    return outcome == Outcome::kTimeoutConnect || outcome == Outcome::kTimeoutFirstByte ||
           outcome == Outcome::kTimeoutIdle || outcome == Outcome::kTimeoutTotal;
  }
};

// Callbacks for a streaming response (SSE). on_headers runs once, before any body; a false
// return from either callback aborts the transfer (Stream then returns OK, outcome kAborted).
// A caller that needs the body received before an abort or failure keeps the chunks itself.
struct StreamHandler {
  std::function<bool(const HttpResponse& head)> on_headers;
  std::function<bool(std::string_view chunk)> on_body;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Exchange Send(const HttpRequest& request) = 0;
  // Runs a request whose body is consumed as it arrives. Returns the head (status, headers;
  // body empty) with error set if the transport failed before or during the body.
  virtual Exchange Stream(const HttpRequest& request, const StreamHandler& handler) = 0;
};

// Case-insensitive ASCII comparison for header names and media types.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace dsx::net
