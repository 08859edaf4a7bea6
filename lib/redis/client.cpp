// Client::Open: check the options and start the topology they name.
#include "redis/client_base.hpp"

namespace dsx::redis {

Result<std::unique_ptr<Client>> Client::Open(Options options) {
  if (options.endpoints.empty()) return Status::Usage("no redis server given");
  for (const auto& e : options.endpoints) {
    if (e.host.empty() || e.port == 0) return Status::Usage("bad redis server address (empty host or port 0)");
  }
  if (options.connect_timeout.count() <= 0 || options.command_timeout.count() <= 0) {
    return Status::Usage("redis timeouts must be positive");
  }
  if (options.db < 0) return Status::Usage("bad redis database number " + std::to_string(options.db));
  switch (options.mode) {
    case Options::Mode::kStandalone:
      if (options.endpoints.size() != 1) {
        return Status::Usage("a single redis server takes one address; use Sentinel or Cluster mode for several");
      }
      return OpenPrimary(std::move(options));
    case Options::Mode::kSentinel:
      if (options.master_name.empty()) return Status::Usage("redis Sentinel mode needs the master name");
      return OpenPrimary(std::move(options));
    case Options::Mode::kCluster:
      if (options.db != 0) return Status::Usage("Redis Cluster has only database 0");
      return OpenCluster(std::move(options));
  }
  return Status::Usage("unknown redis mode");
}

}  // namespace dsx::redis
