// A blocking hiredis context: connect with the connect timeout, commands bounded by the command
// timeout, AUTH and SELECT. Used by a Connection's thread, the Sentinel lookup, the cluster slot
// map and the subscriber; never on a caller's thread after Open.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "redis/client.hpp"

struct redisContext;

namespace dsx::redis {

struct ContextFree {
  void operator()(redisContext* c) const;
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;

struct Credentials {
  std::string username;  // empty: AUTH password (the default user)
  std::string password;  // empty: no AUTH
  int db = 0;            // 0: no SELECT
};

// Connected, or Unavailable("<host:port>: <why>").
Result<ContextPtr> ConnectContext(const Endpoint& endpoint, std::chrono::milliseconds connect_timeout,
                                  std::chrono::milliseconds command_timeout);

// AUTH and SELECT as `credentials` say (PING when neither is needed, so NOAUTH shows here). An error reply (wrong password) is Unavailable too: the
// server cannot be used. The message never contains the password.
Status Handshake(redisContext* c, const Credentials& credentials);

// One command, blocking. A failed Result is an I/O error or timeout (the context is then unusable).
Result<Reply> RunCommand(redisContext* c, const std::vector<std::string>& args);

// The context's error text ("Connection refused", "Resource temporarily unavailable" -> "timed out").
std::string ContextError(const redisContext* c);

// True when the idle context's socket was closed by the server (readable with nothing expected).
bool ClosedByPeer(const redisContext* c);

}  // namespace dsx::redis
