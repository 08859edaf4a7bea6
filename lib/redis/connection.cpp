#include "redis/connection.hpp"

#include <hiredis/hiredis.h>

#include <optional>

#include "core/log.hpp"
#include "redis/reply.hpp"
#include "redis/url.hpp"

namespace dsx::redis {
namespace {

constexpr size_t kMaxBatch = 1024;
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);
constexpr auto kIdleCheck = std::chrono::milliseconds(1000);  // look for a closed socket
constexpr auto kIdlePing = std::chrono::seconds(5);           // PING an idle connection

Status Unreachable(const std::string& why) { return Status::Unavailable("redis unreachable: " + why); }

// A reply that says the server did not run the command and another server (the new primary)
// or a later try would: Sentinel re-sends these.
bool IsFailoverReply(const Reply& r) {
  return IsErrorWith(r, "READONLY") || IsErrorWith(r, "LOADING") || IsErrorWith(r, "MASTERDOWN");
}

}  // namespace

void Complete(Request&& request, Result<Reply> result) {
  if (request.done) {
    Completion done = std::move(request.done);
    done(std::move(request), std::move(result));
  } else if (request.user) {
    Callback user = std::move(request.user);
    user(std::move(result));
  }
}

Connection::Connection(ConnectionOptions options) : options_(std::move(options)) {}

Connection::~Connection() { Close(); }

Status Connection::ConnectNow() {
  Status s = Connect();
  MutexLock l(&mu_);
  connected_ = s.ok();
  if (!s.ok()) {
    last_error_ = s.message();
    next_attempt_ = Clock::now() + backoff_;
  }
  return s;
}

void Connection::Start() {
  MutexLock l(&mu_);
  if (started_ || stop_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

bool Connection::Connected() const {
  MutexLock l(&mu_);
  return connected_;
}

void Connection::Submit(Request request) {
  {
    MutexLock l(&mu_);
    if (!stop_) {
      queue_.push_back(std::move(request));
      cv_.Signal();
      return;
    }
  }
  // Closed: the callback still runs on a thread of its own, never inline in the caller.
  std::thread([r = std::move(request)]() mutable {
    Complete(std::move(r), Status::Unavailable("client closed"));
  }).detach();
}

void Connection::Close() {
  bool join = false;
  {
    MutexLock l(&mu_);
    stop_ = true;
    cv_.SignalAll();
    if (started_ && !joined_) {
      joined_ = true;
      join = true;
    }
  }
  if (join) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // Close from one of this connection's own callbacks: cannot join itself
    } else {
      thread_.join();
    }
  } else {
    // Never started (Open failed): nothing runs the queue but us.
    std::deque<Request> left;
    {
      MutexLock l(&mu_);
      if (started_) return;
      left.swap(queue_);
    }
    FailAll(left, Status::Unavailable("client closed"));
  }
}

void Connection::FailAll(std::deque<Request>& requests, const Status& status) {
  while (!requests.empty()) {
    Request r = std::move(requests.front());
    requests.pop_front();
    Complete(std::move(r), status);
  }
}

Status Connection::Connect() {
  auto endpoint = options_.resolve();
  if (!endpoint.ok()) return endpoint.status();
  auto c = ConnectContext(*endpoint, options_.connect_timeout, options_.command_timeout);
  if (!c.ok()) return c.status();
  Status s = Handshake(c->get(), options_.credentials);
  if (!s.ok()) return s.Wrap(FormatEndpoint(*endpoint));
  if (options_.require_primary) {
    auto role = RunCommand(c->get(), {"ROLE"});
    if (!role.ok()) return role.status().Wrap(FormatEndpoint(*endpoint) + ": ROLE");
    const bool primary = role->type == Reply::Type::kArray && !role->elements.empty() &&
                         role->elements[0].str == "master";
    if (!primary) {
      return Status::Unavailable(FormatEndpoint(*endpoint) + " is not a primary yet (" +
                                 (role->is_error() ? role->str : "a replica") + ")");
    }
  }
  ctx_ = std::move(*c);
  loaded_.clear();
  last_activity_ = Clock::now();
  if (reported_down_) {
    log::Info("redis connection restored", {{"server", options_.name}, {"address", FormatEndpoint(*endpoint)}});
    reported_down_ = false;
  }
  return Status::Ok();
}

void Connection::Drop(const std::string& why) {
  ctx_.reset();
  loaded_.clear();
  {
    MutexLock l(&mu_);
    connected_ = false;
    next_attempt_ = Clock::now();
    last_error_.clear();
  }
  if (!reported_down_) {
    log::Warn("redis connection lost", {{"server", options_.name}, {"reason", why}});
    reported_down_ = true;
  }
  if (options_.on_lost) options_.on_lost();
}

void Connection::IdleCheck() {
  if (!ctx_) return;
  if (ClosedByPeer(ctx_.get())) {
    Drop("connection closed by the server");
    return;
  }
  if (Clock::now() - last_activity_ < kIdlePing) return;
  auto pong = RunCommand(ctx_.get(), {"PING"});
  if (!pong.ok()) {
    Drop(pong.status().message());
    return;
  }
  last_activity_ = Clock::now();
}

void Connection::Run() {
  while (true) {
    std::vector<Request> batch;
    std::deque<Request> to_fail;
    std::string fail_reason;
    bool attempt = false;
    bool idle = false;
    {
      MutexLock l(&mu_);
      while (!stop_) {
        const auto now = Clock::now();
        if (!ctx_) {
          if (now >= next_attempt_) {
            attempt = true;
            break;
          }
          if (!queue_.empty() && !last_error_.empty()) {
            to_fail.swap(queue_);  // down and waiting for the next attempt: fail fast
            fail_reason = last_error_;
            break;
          }
          cv_.WaitUntil(next_attempt_);
          continue;
        }
        if (!queue_.empty()) {
          const size_t n = std::min(queue_.size(), kMaxBatch);
          batch.reserve(n);
          for (size_t i = 0; i < n; ++i) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
          }
          break;
        }
        if (!cv_.WaitUntil(now + kIdleCheck) && queue_.empty()) {
          idle = true;
          break;
        }
      }
      if (stop_) break;
    }
    if (!to_fail.empty()) {
      FailAll(to_fail, Unreachable(fail_reason));
      continue;
    }
    if (attempt) {
      Status s = Connect();
      std::deque<Request> failed;
      {
        MutexLock l(&mu_);
        connected_ = s.ok();
        if (s.ok()) {
          backoff_ = kMinBackoff;
          last_error_.clear();
        } else {
          last_error_ = s.message();
          next_attempt_ = Clock::now() + backoff_;
          backoff_ = std::min(backoff_ * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
          failed.swap(queue_);
        }
      }
      if (!s.ok()) {
        if (!reported_down_) {
          log::Warn("redis unreachable", {{"server", options_.name}, {"reason", s.message()}});
          reported_down_ = true;
        }
        if (options_.on_lost) options_.on_lost();
        FailAll(failed, Unreachable(s.message()));
      }
      continue;
    }
    if (idle) {
      IdleCheck();
      continue;
    }
    RunBatch(batch);
  }
  // Closing.
  ctx_.reset();
  std::deque<Request> left;
  {
    MutexLock l(&mu_);
    connected_ = false;
    left.swap(queue_);
  }
  FailAll(left, Status::Unavailable("client closed"));
}

void Connection::RunBatch(std::vector<Request>& batch) {
  if (ClosedByPeer(ctx_.get())) {
    // Closed while idle (a restart): nothing of this batch was sent, so it waits for the reconnect.
    Drop("connection closed by the server");
    MutexLock l(&mu_);
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
    return;
  }
  enum class Kind { kLoad, kAsking, kCommand };
  struct Sent {
    size_t request;
    Kind kind;
  };
  std::vector<Sent> sent;
  sent.reserve(batch.size() + 4);
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  auto append = [&](const std::vector<std::string_view>& args) {
    argv.clear();
    lens.clear();
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(ctx_.get(), static_cast<int>(args.size()), argv.data(), lens.data());
  };
  std::vector<std::string_view> views;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Request& r = batch[i];
    if (r.script && !loaded_.count(r.script->sha1)) {
      append({"SCRIPT", "LOAD", r.script->source});
      sent.push_back({i, Kind::kLoad});
      loaded_.insert(r.script->sha1);
    }
    if (r.asking) {
      append({"ASKING"});
      sent.push_back({i, Kind::kAsking});
    }
    views.assign(r.args.begin(), r.args.end());
    append(views);
    sent.push_back({i, Kind::kCommand});
  }

  std::vector<std::optional<Result<Reply>>> results(batch.size());
  std::string lost;
  for (const Sent& s : sent) {
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
      lost = ContextError(ctx_.get());
      break;
    }
    auto* rr = static_cast<redisReply*>(raw);
    Reply reply = ConvertReply(rr);
    freeReplyObject(rr);
    if (s.kind == Kind::kCommand) {
      results[s.request] = std::move(reply);
    } else if (s.kind == Kind::kLoad && reply.is_error()) {
      loaded_.erase(batch[s.request].script->sha1);  // EVALSHA answers NOSCRIPT; EVAL tells why
    }
  }
  last_activity_ = Clock::now();
  if (!lost.empty()) {
    const std::string why = lost == "timed out" ? "no reply within " + std::to_string(options_.command_timeout.count()) + " ms"
                                                : "connection lost (" + lost + ")";
    for (auto& r : results) {
      if (!r) r = Unreachable(options_.name + ": " + why + "; the command may have run");
    }
    Drop(why);
  }

  std::vector<Request> resend;
  for (size_t i = 0; i < batch.size(); ++i) {
    Result<Reply> result = std::move(*results[i]);
    Request& r = batch[i];
    if (result.ok() && result->is_error()) {
      if (IsErrorWith(*result, "NOSCRIPT") && r.script) {
        if (ctx_) {
          std::vector<std::string> eval = r.args;
          eval[0] = "EVAL";
          eval[1] = r.script->source;
          result = RunCommand(ctx_.get(), eval);
          if (!result.ok()) {
            const std::string why = result.status().message();
            result = Unreachable(options_.name + ": " + why + "; the command may have run");
            Drop(why);
          } else if (!result->is_error()) {
            loaded_.insert(r.script->sha1);
          }
        } else {
          result = Unreachable(options_.name + ": connection lost before the script could be sent again");
        }
      } else if (options_.follow_failover && IsFailoverReply(*result)) {
        if (Clock::now() < r.deadline) {
          resend.push_back(std::move(r));
          continue;
        }
        result = Unreachable(options_.name + ": no ready primary (" + result->str + ")");
      } else if (IsErrorWith(*result, "LOADING") || IsErrorWith(*result, "MASTERDOWN")) {
        result = Unreachable(options_.name + ": " + result->str);
      }
    }
    Complete(std::move(r), std::move(result));
  }
  if (!resend.empty()) {
    // The server did not run these (READONLY, LOADING): ask for the primary again and re-send.
    if (ctx_) Drop("the server is not a ready primary (READONLY, LOADING or MASTERDOWN reply)");
    MutexLock l(&mu_);
    next_attempt_ = Clock::now() + kMinBackoff;
    for (auto it = resend.rbegin(); it != resend.rend(); ++it) queue_.push_front(std::move(*it));
  }
}

}  // namespace dsx::redis
