// The 503 a server over its limits answers (too many connections, out of descriptors):
// the JSON error shape of every other error ({"error":…,"status":503}), Retry-After: 1, and
// Connection: close. Kept small so it can be written to a fresh socket in one non-blocking
// write (listener.cpp, RejectNow).
#pragma once

#include <string>

#include "session/server/router.hpp"

namespace dsx::session::server {

// As a Response, for a session that has read the request head (HTTP/1.0 or 1.1 as asked).
Response OverloadResponse(unsigned version, const std::string& why);
// The same response serialized (HTTP/1.1), for writing without a session.
std::string OverloadBytes(const std::string& why);

}  // namespace dsx::session::server
