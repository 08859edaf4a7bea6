// One probe read over the shared HTTP client (net::Transport, CurlTransport by default): the
// body chunk by chunk as it arrives, the ways a probe ends a read early (a hard drop at a chosen
// point, from a callback or another thread) and its deadlines (connect, first byte, idle gaps,
// total), with what arrived kept in every case.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/probe/probe.hpp"
#include "net/transport.hpp"

namespace dsx::audit::probe {

struct HttpLimits {
  double connect_s = 5.0;      // TCP/TLS connect
  double first_byte_s = 10.0;  // until the response status line
  double idle_s = 10.0;        // longest gap between bytes once connected
  double total_s = 120.0;      // the whole exchange
};

// How a read ended. The probe does not tell a drop by callback from one by the abort flag:
// both come back as kAborted ("dropped").
using HttpOutcome = net::Outcome;
// The probe's words for an outcome, as its reports and notes print them.
const char* HttpOutcomeName(HttpOutcome o);

struct HttpResponse {
  HttpOutcome outcome = HttpOutcome::kError;
  long status = 0;                                           // 0 when no status line arrived
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;                                          // everything received (also when dropped or failed midway)
  std::string error;                                         // why, when the outcome is neither complete nor dropped
  double first_byte_s = 0;                                   // seconds from start to the status line
  double elapsed_s = 0;
  // First header with this (lower-case) name, "" if absent.
  std::string Header(std::string_view name) const;
  bool Answered() const { return status > 0; }
};

// Called with each body chunk as it arrives; `so_far` holds the status, the headers and the
// whole body until now (chunk included). Return false to drop the connection at once,
// without a clean close.
using BodyFn = std::function<bool(std::string_view chunk, const HttpResponse& so_far)>;

// Runs one request over `transport`. `abort`, when given, may be set from another thread to
// drop the connection.
HttpResponse Fetch(net::Transport& transport, const RequestSpec& request, const HttpLimits& limits,
                   const BodyFn& on_body = {}, const std::atomic<bool>* abort = nullptr);
// The same over a fresh CurlTransport (one connection per read, as a browser tab would open).
// Thread-safe: every call has its own transport.
HttpResponse Fetch(const RequestSpec& request, const HttpLimits& limits, const BodyFn& on_body = {},
                   const std::atomic<bool>* abort = nullptr);

}  // namespace dsx::audit::probe
