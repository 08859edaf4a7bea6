// HTTP dates (RFC 9110 IMF-fixdate and the obsolete forms), as in Retry-After and Date headers.
#pragma once

#include <ctime>
#include <string>

namespace dsx::net {

// Seconds since the Unix epoch, or -1 when `value` is not an HTTP date.
std::time_t ParseHttpDate(const std::string& value);

}  // namespace dsx::net
