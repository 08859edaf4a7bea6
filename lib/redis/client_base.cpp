#include "redis/client_base.hpp"

#include <future>

#include "redis/url.hpp"

namespace dsx::redis {

ClientBase::ClientBase(Options options) : options_(std::move(options)) {}

ClientBase::~ClientBase() = default;  // each topology's destructor calls Close()

Credentials ClientBase::credentials() const {
  Credentials c;
  c.username = options_.username;
  c.password = options_.password;
  c.db = options_.mode == Options::Mode::kCluster ? 0 : options_.db;
  return c;
}

std::string ClientBase::Describe() const { return FormatUrl(options_); }

void ClientBase::Command(std::string_view route_key, std::vector<std::string> args, Callback done) {
  Request r;
  r.args = std::move(args);
  r.user = std::move(done);
  r.deadline = Clock::now() + options_.command_timeout;
  Route(route_key, std::move(r));
}

std::shared_ptr<const Script> ClientBase::Cached(const Script& script) {
  const Script made = script.sha1.empty() ? MakeScript(script.source) : Script{};
  const Script& s = script.sha1.empty() ? made : script;
  MutexLock l(&mu_);
  auto& slot = scripts_[s.sha1];
  if (!slot) slot = std::make_shared<const Script>(s);
  return slot;
}

void ClientBase::Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
                      Callback done) {
  Request r;
  r.script = Cached(script);
  r.args.reserve(3 + keys.size() + args.size());
  r.args.push_back("EVALSHA");
  r.args.push_back(r.script->sha1);
  r.args.push_back(std::to_string(keys.size()));
  for (auto& k : keys) r.args.push_back(std::move(k));
  for (auto& a : args) r.args.push_back(std::move(a));
  r.user = std::move(done);
  r.deadline = Clock::now() + options_.command_timeout;
  const std::string route = r.args.size() > 3 && !keys.empty() ? r.args[3] : std::string();
  Route(route, std::move(r));
}

Result<Reply> ClientBase::CommandSync(std::string_view route_key, std::vector<std::string> args) {
  auto promise = std::make_shared<std::promise<Result<Reply>>>();
  auto future = promise->get_future();
  Command(route_key, std::move(args), [promise](Result<Reply> r) { promise->set_value(std::move(r)); });
  return future.get();
}

void ClientBase::Subscribe(std::string channel, std::function<void(std::string_view payload)> on_message,
                           std::function<void()> on_reconnect) {
  SubscriberOptions so;
  so.name = Describe();
  so.resolve = [this] { return SubscriberEndpoint(); };
  so.credentials = credentials();
  so.connect_timeout = options_.connect_timeout;
  so.command_timeout = options_.command_timeout;
  auto sub = std::make_shared<Subscriber>(std::move(so), std::move(channel), std::move(on_message),
                                          std::move(on_reconnect));
  {
    MutexLock l(&mu_);
    if (closed_) return;
    subscribers_.push_back(sub);
    sub->Start();
  }
  // Messages published after Subscribe returns are delivered (unless Redis is down: then the
  // first subscription counts as a reconnect and runs on_reconnect).
  sub->WaitSubscribed(options_.connect_timeout + options_.command_timeout);
}

void ClientBase::Close() {
  std::call_once(close_once_, [this] {
    std::vector<std::shared_ptr<Subscriber>> subs;
    {
      MutexLock l(&mu_);
      closed_ = true;
      subs.swap(subscribers_);
    }
    for (auto& s : subs) s->Close();
    CloseConnections();
  });
}

}  // namespace dsx::redis
