// Subscriber: one channel's SUBSCRIBE on a dedicated connection and thread. Reconnects by itself
// (backoff up to 1 s), subscribes again and then runs on_reconnect (messages published while it
// was away are lost: the caller resynchronises). An idle subscription is checked with PING.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "core/mutex.hpp"
#include "core/status.hpp"
#include "redis/client.hpp"
#include "redis/context.hpp"

namespace dsx::redis {

struct SubscriberOptions {
  std::string name;                           // for logs
  std::function<Result<Endpoint>()> resolve;  // asked at every attempt
  Credentials credentials;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{3000};
};

class Subscriber {
 public:
  Subscriber(SubscriberOptions options, std::string channel, std::function<void(std::string_view)> on_message,
             std::function<void()> on_reconnect);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  void Start();
  // Until the first SUBSCRIBE is confirmed or `timeout` passed (false). After a timeout, the
  // first confirmation runs on_reconnect (messages may have been missed meanwhile).
  bool WaitSubscribed(std::chrono::milliseconds timeout);
  bool Subscribed() const;
  void Close();  // idempotent; joins the thread

 private:
  void Run();
  // One connection's life: subscribe, read until lost or closing. The reason it ended.
  std::string Session(redisContext* c);
  bool Stopping() const;

  const SubscriberOptions options_;
  const std::string channel_;
  const std::function<void(std::string_view)> on_message_;
  const std::function<void()> on_reconnect_;
  const int wake_fd_;  // eventfd: Close wakes the thread's poll
  std::thread thread_;
  bool session_subscribed_ = false;  // the thread's: the current connection got its SUBSCRIBE confirmed

  mutable Mutex mu_;
  CondVar cv_{&mu_};
  bool stop_ GUARDED_BY(mu_) = false;
  bool started_ GUARDED_BY(mu_) = false;
  bool joined_ GUARDED_BY(mu_) = false;
  bool subscribed_ GUARDED_BY(mu_) = false;     // now
  bool ever_subscribed_ GUARDED_BY(mu_) = false;
  bool late_ GUARDED_BY(mu_) = false;           // WaitSubscribed gave up before the first confirmation
};

}  // namespace dsx::redis
