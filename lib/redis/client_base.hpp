// ClientBase: what every topology shares (Eval's request, CommandSync, the scripts' cache,
// Subscribe and Close). A topology says where a request goes (Route) and where a subscriber
// connects (SubscriberEndpoint).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/mutex.hpp"
#include "redis/client.hpp"
#include "redis/connection.hpp"
#include "redis/subscriber.hpp"

namespace dsx::redis {

class ClientBase : public Client {
 public:
  explicit ClientBase(Options options);
  ~ClientBase() override;

  void Command(std::string_view route_key, std::vector<std::string> args, Callback done) override;
  void Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
            Callback done) override;
  Result<Reply> CommandSync(std::string_view route_key, std::vector<std::string> args) override;
  void Subscribe(std::string channel, std::function<void(std::string_view payload)> on_message,
                 std::function<void()> on_reconnect) override;
  std::string Describe() const override;
  void Close() override;

 protected:
  // Sends `request` toward the server for `route_key`'s slot (the first connection on one server).
  virtual void Route(std::string_view route_key, Request request) = 0;
  // Where a subscriber connects, asked at every attempt.
  virtual Result<Endpoint> SubscriberEndpoint() = 0;
  // Closes the topology's connections (after the subscribers).
  virtual void CloseConnections() = 0;

  Credentials credentials() const;
  const Options options_;

 private:
  std::shared_ptr<const Script> Cached(const Script& script);

  Mutex mu_;
  bool closed_ GUARDED_BY(mu_) = false;
  std::unordered_map<std::string, std::shared_ptr<const Script>> scripts_ GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Subscriber>> subscribers_ GUARDED_BY(mu_);
  std::once_flag close_once_;
};

// The topologies (client.cpp's Open picks one).
Result<std::unique_ptr<Client>> OpenPrimary(Options options);  // kStandalone, kSentinel
Result<std::unique_ptr<Client>> OpenCluster(Options options);  // kCluster

}  // namespace dsx::redis
