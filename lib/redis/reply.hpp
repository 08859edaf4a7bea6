// hiredis replies as dsx::redis::Reply, and the error replies the client acts on.
#pragma once

#include <string_view>

#include "redis/client.hpp"

struct redisReply;

namespace dsx::redis {

Reply ConvertReply(const redisReply* reply);

// True when `reply` is an error reply whose message starts with `prefix` ("NOSCRIPT", "MOVED").
bool IsErrorWith(const Reply& reply, std::string_view prefix);

}  // namespace dsx::redis
