// The single-primary topologies: one server (kStandalone), or the primary that the sentinels name
// (kSentinel: every connect attempt asks them, a server whose ROLE is not master is not used,
// and READONLY/LOADING replies make the connection re-discover the primary and re-send the
// commands that did not run).
#include "core/log.hpp"
#include "redis/client_base.hpp"
#include "redis/sentinel.hpp"
#include "redis/url.hpp"

namespace dsx::redis {
namespace {

class PrimaryClient final : public ClientBase {
 public:
  explicit PrimaryClient(Options options) : ClientBase(std::move(options)) {
    ConnectionOptions co;
    co.name = Describe();
    co.resolve = [this] { return Primary(); };
    co.credentials = credentials();
    co.connect_timeout = options_.connect_timeout;
    co.command_timeout = options_.command_timeout;
    co.require_primary = co.follow_failover = options_.mode == Options::Mode::kSentinel;
    connection_ = std::make_unique<Connection>(std::move(co));
  }
  ~PrimaryClient() override { Close(); }

  Status Start() {
    Status s = connection_->ConnectNow();
    if (!s.ok()) return Status::Unavailable("redis unreachable: " + s.message());
    connection_->Start();
    return Status::Ok();
  }

  bool Healthy() const override { return connection_->Connected(); }

 protected:
  void Route(std::string_view, Request request) override { connection_->Submit(std::move(request)); }
  Result<Endpoint> SubscriberEndpoint() override { return Primary(); }
  void CloseConnections() override { connection_->Close(); }

 private:
  Result<Endpoint> Primary() {
    if (options_.mode == Options::Mode::kStandalone) return options_.endpoints.front();
    return AskSentinels(options_.endpoints, options_.master_name, credentials(), options_.connect_timeout,
                        options_.command_timeout);
  }

  std::unique_ptr<Connection> connection_;
};

}  // namespace

Result<std::unique_ptr<Client>> OpenPrimary(Options options) {
  auto client = std::make_unique<PrimaryClient>(std::move(options));
  Status s = client->Start();
  if (!s.ok()) {
    client->Close();
    return s;
  }
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace dsx::redis
