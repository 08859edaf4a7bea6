// The URL of a client's options, the inverse of ParseUrl (for Describe() and logs): never
// contains the password.
#pragma once

#include <string>

#include "redis/client.hpp"

namespace dsx::redis {

std::string FormatUrl(const Options& options);
// "host:port", "[v6]:port".
std::string FormatEndpoint(const Endpoint& endpoint);

}  // namespace dsx::redis
