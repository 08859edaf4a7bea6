// The HTTP seam of the client: StreamClient, the producer and the follower talk to a
// Transport, so tests can script responses and failures without sockets (see
// tests/unit/session_client/). CurlTransport is the real one.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace dsx::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  std::string body;
  long timeout_ms = 0;  // whole-exchange limit; 0 = none (streams use low-speed detection instead)
};

struct HttpResponse {
  int status = 0;
  HeaderList headers;  // as received; names compared case-insensitively
  std::string body;

  // First header named `name` (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
  bool Has(std::string_view name) const;
};

// The outcome of one exchange. `error` is non-OK (kUnavailable) only for transport failures
// (no HTTP status received); any HTTP status, 4xx/5xx included, is an OK exchange.
// `maybe_delivered` says whether the server may have received and acted on the request:
// false only when the connection was never established (refused, unresolvable), which is
// what makes retrying a non-idempotent POST safe.
struct Exchange {
  Status error;
  bool maybe_delivered = false;
  HttpResponse response;
  bool ok() const { return error.ok(); }
};

// Callbacks for a streaming response (SSE). on_headers runs once, before any body; a false
// return from either callback aborts the transfer (Stream then returns OK).
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
