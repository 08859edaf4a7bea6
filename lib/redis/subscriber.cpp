#include "redis/subscriber.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <cerrno>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.hpp"
#include "redis/reply.hpp"

namespace dsx::redis {
namespace {

constexpr int kPollMs = 200;  // how often the PING timer is looked at
constexpr auto kPingAfter = std::chrono::milliseconds(1000);  // idle this long: PING
constexpr auto kMinBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);

bool Send(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()) != REDIS_OK) return false;
  int done = 0;
  while (!done) {
    if (redisBufferWrite(c, &done) != REDIS_OK) return false;
  }
  return true;
}

}  // namespace

Subscriber::Subscriber(SubscriberOptions options, std::string channel,
                       std::function<void(std::string_view)> on_message, std::function<void()> on_reconnect)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      on_message_(std::move(on_message)),
      on_reconnect_(std::move(on_reconnect)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Subscriber::~Subscriber() {
  Close();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Subscriber::Start() {
  MutexLock l(&mu_);
  if (started_ || stop_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

bool Subscriber::WaitSubscribed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock l(&mu_);
  while (!ever_subscribed_ && !stop_) {
    if (!cv_.WaitUntil(deadline) && std::chrono::steady_clock::now() >= deadline) break;
  }
  if (!ever_subscribed_) late_ = true;
  return ever_subscribed_;
}

bool Subscriber::Subscribed() const {
  MutexLock l(&mu_);
  return subscribed_;
}

bool Subscriber::Stopping() const {
  MutexLock l(&mu_);
  return stop_;
}

void Subscriber::Close() {
  bool join = false;
  {
    MutexLock l(&mu_);
    stop_ = true;
    cv_.SignalAll();
    if (wake_fd_ >= 0) {
      const std::uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof(one));  // ends the thread's poll now
    }
    if (started_ && !joined_) {
      joined_ = true;
      join = true;
    }
  }
  if (!join) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // Close from this subscriber's own callback
  } else {
    thread_.join();
  }
}

void Subscriber::Run() {
  auto backoff = kMinBackoff;
  bool reported = false;
  while (!Stopping()) {
    std::string why;
    auto endpoint = options_.resolve();
    if (endpoint.ok()) {
      auto c = ConnectContext(*endpoint, options_.connect_timeout, options_.command_timeout);
      if (c.ok()) {
        Credentials auth = options_.credentials;
        auth.db = 0;  // pub/sub channels are not per database
        Status s = Handshake(c->get(), auth);
        if (s.ok()) {
          backoff = kMinBackoff;
          why = Session(c->get());
          if (session_subscribed_) reported = false;  // this loss is a new one: log it
        } else {
          why = s.message();
        }
      } else {
        why = c.status().message();
      }
    } else {
      why = endpoint.status().message();
    }
    {
      MutexLock l(&mu_);
      subscribed_ = false;
      if (stop_) break;
    }
    if (!reported) {
      log::Warn("redis subscription lost", {{"channel", channel_}, {"server", options_.name}, {"reason", why}});
      reported = true;
    }
    MutexLock l(&mu_);
    const auto until = std::chrono::steady_clock::now() + backoff;
    while (!stop_ && cv_.WaitUntil(until)) {
    }
    backoff = std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxBackoff));
  }
}

std::string Subscriber::Session(redisContext* c) {
  if (!Send(c, {"SUBSCRIBE", channel_})) return ContextError(c);
  session_subscribed_ = false;
  auto last_data = std::chrono::steady_clock::now();
  bool ping_outstanding = false;
  auto ping_sent = last_data;
  while (!Stopping()) {
    pollfd p[2] = {{c->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = poll(p, wake_fd_ >= 0 ? 2 : 1, kPollMs);
    const auto now = std::chrono::steady_clock::now();
    if (n < 0 && errno != EINTR) return "poll failed";
    if (n > 0 && p[0].revents == 0) continue;  // woken by Close (the loop checks Stopping)
    if (n > 0) {
      if (redisBufferRead(c) != REDIS_OK) return ContextError(c);
      last_data = now;
      while (true) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(c, &raw) != REDIS_OK) return ContextError(c);
        if (raw == nullptr) break;
        Reply r = ConvertReply(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        if (r.type != Reply::Type::kArray || r.elements.empty()) {
          if (r.is_error()) return "SUBSCRIBE refused: " + r.str;
          continue;
        }
        const std::string& kind = r.elements[0].str;
        if (kind == "message" && r.elements.size() >= 3) {
          on_message_(r.elements[2].str);
        } else if (kind == "pong") {
          ping_outstanding = false;
        } else if (kind == "subscribe") {
          session_subscribed_ = true;
          bool reconnect = false;
          {
            MutexLock l(&mu_);
            subscribed_ = true;
            reconnect = ever_subscribed_ || late_;
            ever_subscribed_ = true;
            cv_.SignalAll();
          }
          if (reconnect) {
            log::Info("redis subscription restored", {{"channel", channel_}, {"server", options_.name}});
            if (on_reconnect_) on_reconnect_();
          }
        }
      }
      continue;
    }
    if (ping_outstanding) {
      if (now - ping_sent > options_.command_timeout) return "no answer to PING within the command timeout";
    } else if (now - last_data > kPingAfter) {
      if (!Send(c, {"PING"})) return ContextError(c);
      ping_outstanding = true;
      ping_sent = now;
    }
  }
  return "closing";
}

}  // namespace dsx::redis
