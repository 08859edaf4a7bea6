// The one mapping from an HTTP outcome to a dsx::Status, and so to the exit code of the dsx
// command that made the request (core/status.hpp; man/dsx.1, EXIT STATUS):
//
//   2xx                 -> OK
//   404, 410            -> kNotFound     (3)
//   401, 403, 409       -> kConflict     (4)  refused: forbidden, conflict, stale producer
//   502, 503, 504       -> kUnavailable  (5)  the server (or the proxy in front of it) is not there
//   no answer at all    -> kUnavailable  (5)  refused, reset, timed out, name not resolved
//   anything else       -> kFailed       (1)  400, 413, 500, ...: it answered and it failed
//
// The session-server clients (stream and session commands, the agent runner, cancel/steer,
// kernel gen --session) get their codes here, so one server answer gives every command the same
// exit code. What the message says stays the caller's: it knows what the status means for its
// endpoint.
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"
#include "net/transport.hpp"

namespace dsx::net {

// `message` is the whole "why"; callers prefix the "what" with Status::Wrap.
Status StatusFromHttp(int http_status, std::string message);

// An exchange that got no HTTP status (exchange.ok() is false): kUnavailable
// "<transport's reason> (<server>)", `server` being the base URL or origin the request went to.
Status StatusFromFailedExchange(const Exchange& exchange, std::string_view server);

}  // namespace dsx::net
