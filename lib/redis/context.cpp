#include "redis/context.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <cerrno>
#include <sys/socket.h>
#include <sys/time.h>

#include "redis/reply.hpp"
#include "redis/url.hpp"

namespace dsx::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

void ContextFree::operator()(redisContext* c) const {
  if (c != nullptr) redisFree(c);
}

std::string ContextError(const redisContext* c) {
  if (c == nullptr) return "no connection";
  std::string err = c->errstr;
  if (err.find("temporarily unavailable") != std::string::npos || err.find("timed out") != std::string::npos) {
    return "timed out";
  }
  if (err.empty()) return "connection error";
  return err;
}

Result<ContextPtr> ConnectContext(const Endpoint& endpoint, std::chrono::milliseconds connect_timeout,
                                  std::chrono::milliseconds command_timeout) {
  ContextPtr c(redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(connect_timeout)));
  if (!c) return Status::Unavailable(FormatEndpoint(endpoint) + ": out of memory");
  if (c->err) return Status::Unavailable(FormatEndpoint(endpoint) + ": " + ContextError(c.get()));
  if (redisSetTimeout(c.get(), ToTimeval(command_timeout)) != REDIS_OK) {
    return Status::Unavailable(FormatEndpoint(endpoint) + ": cannot set the socket timeout");
  }
  redisEnableKeepAlive(c.get());
  return c;
}

Result<Reply> RunCommand(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  void* raw = redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
  if (raw == nullptr) return Status::Unavailable(ContextError(c));
  auto* r = static_cast<redisReply*>(raw);
  Reply reply = ConvertReply(r);
  freeReplyObject(r);
  return reply;
}

Status Handshake(redisContext* c, const Credentials& credentials) {
  if (!credentials.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!credentials.username.empty()) auth.push_back(credentials.username);
    auth.push_back(credentials.password);
    auto r = RunCommand(c, auth);
    if (!r.ok()) return Status::Unavailable("AUTH: " + r.status().message());
    if (r->is_error()) return Status::Unavailable("AUTH refused: " + r->str);
  }
  if (credentials.db != 0) {
    auto r = RunCommand(c, {"SELECT", std::to_string(credentials.db)});
    if (!r.ok()) return Status::Unavailable("SELECT: " + r.status().message());
    if (r->is_error()) return Status::Unavailable("SELECT " + std::to_string(credentials.db) + " refused: " + r->str);
  } else if (credentials.password.empty()) {
    // Nothing asked yet: a server that wants a password (NOAUTH) is found now, not at the first command.
    auto r = RunCommand(c, {"PING"});
    if (!r.ok()) return Status::Unavailable("PING: " + r.status().message());
    if (r->is_error()) return Status::Unavailable(r->str);
  }
  return Status::Ok();
}

bool ClosedByPeer(const redisContext* c) {
  pollfd p{c->fd, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return true;
  char byte;
  // Readable while nothing was asked: EOF (0), an error, or stray bytes; none leaves the
  // connection usable for an ordered pipeline.
  return recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) != -1 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace dsx::redis
