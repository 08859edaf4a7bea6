// Redis Cluster: the slot map from CLUSTER SLOTS, one Connection per primary, a request routed
// by KeySlot(route_key). MOVED points the slot at the named node, asks for a new map and sends
// the request there; ASK sends it once to the named node behind ASKING. A refresh thread
// rebuilds the map when asked (a redirection, a lost connection), at most every 100 ms.
#include <algorithm>
#include <map>

#include "core/log.hpp"
#include "redis/client_base.hpp"
#include "redis/reply.hpp"
#include "redis/url.hpp"

namespace dsx::redis {
namespace {

constexpr int kSlots = 16384;
constexpr int kMaxRedirects = 5;
constexpr auto kRefreshGap = std::chrono::milliseconds(100);

// "3999 127.0.0.1:6381" (after "MOVED " or "ASK ").
bool ParseRedirect(std::string_view text, Endpoint* to) {
  const size_t space = text.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view addr = text.substr(space + 1);
  const size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string host(addr.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    const int port = std::stoi(std::string(addr.substr(colon + 1)));
    if (port < 1 || port > 65535) return false;
    to->host = std::move(host);
    to->port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    return false;
  }
  return !to->host.empty();
}

struct SlotRange {
  int first;
  int last;
  Endpoint primary;
};

// CLUSTER SLOTS from the first node that answers.
Result<std::vector<SlotRange>> FetchSlots(const std::vector<Endpoint>& candidates, const Credentials& credentials,
                                          std::chrono::milliseconds connect_timeout,
                                          std::chrono::milliseconds command_timeout) {
  std::string reasons;
  for (const Endpoint& node : candidates) {
    auto note = [&](const std::string& why) { reasons += (reasons.empty() ? "" : "; ") + FormatEndpoint(node) + ": " + why; };
    auto c = ConnectContext(node, connect_timeout, command_timeout);
    if (!c.ok()) {
      note(c.status().message());
      continue;
    }
    Status s = Handshake(c->get(), credentials);
    if (!s.ok()) {
      note(s.message());
      continue;
    }
    auto r = RunCommand(c->get(), {"CLUSTER", "SLOTS"});
    if (!r.ok()) {
      note(r.status().message());
      continue;
    }
    if (r->is_error()) {
      if (r->str.find("cluster support disabled") != std::string::npos) {
        return Status::Usage(FormatEndpoint(node) + " is not a Redis Cluster node (cluster support disabled): use redis://");
      }
      note(r->str);
      continue;
    }
    std::vector<SlotRange> ranges;
    for (const Reply& e : r->elements) {
      if (e.elements.size() < 3 || e.elements[2].elements.size() < 2) continue;
      SlotRange range;
      range.first = static_cast<int>(e.elements[0].integer);
      range.last = static_cast<int>(e.elements[1].integer);
      range.primary.host = e.elements[2].elements[0].str;
      if (range.primary.host.empty() || range.primary.host == "?") range.primary.host = node.host;
      range.primary.port = static_cast<std::uint16_t>(e.elements[2].elements[1].integer);
      if (range.first < 0 || range.last >= kSlots || range.first > range.last || range.primary.port == 0) continue;
      ranges.push_back(std::move(range));
    }
    if (ranges.empty()) {
      note("no slots assigned (cluster not created yet?)");
      continue;
    }
    return ranges;
  }
  return Status::Unavailable("no cluster node answered CLUSTER SLOTS (" + reasons + ")");
}

class ClusterClient final : public ClientBase {
 public:
  explicit ClusterClient(Options options) : ClientBase(std::move(options)), slots_(kSlots) {}
  ~ClusterClient() override { Close(); }

  Status Start() {
    Status s = Refresh();
    if (!s.ok()) return s.code() == Code::kUnavailable ? Status::Unavailable("redis unreachable: " + s.message()) : s;
    refresher_ = std::thread([this] { RefreshLoop(); });
    return Status::Ok();
  }

  bool Healthy() const override {
    MutexLock l(&mu_);
    const Connection* checked = nullptr;
    for (const auto& c : slots_) {
      if (!c) return false;
      if (c.get() == checked) continue;  // ranges of one owner are contiguous
      if (!c->Connected()) return false;
      checked = c.get();
    }
    return true;
  }

 protected:
  void Route(std::string_view route_key, Request request) override {
    request.done = [this](Request&& r, Result<Reply> result) { OnReply(std::move(r), std::move(result)); };
    ForSlot(KeySlot(route_key))->Submit(std::move(request));
  }

  Result<Endpoint> SubscriberEndpoint() override {
    std::vector<Endpoint> nodes = Candidates();
    MutexLock l(&mu_);
    return nodes[subscriber_turn_++ % nodes.size()];
  }

  void CloseConnections() override {
    {
      MutexLock l(&mu_);
      stop_ = true;
      cv_.SignalAll();
    }
    if (refresher_.joinable()) refresher_.join();
    std::map<std::string, std::shared_ptr<Connection>> nodes;
    {
      MutexLock l(&mu_);
      nodes = nodes_;
    }
    for (auto& [name, c] : nodes) c->Close();
  }

 private:
  std::shared_ptr<Connection> NodeLocked(const Endpoint& ep) REQUIRES(mu_) {
    const std::string name = FormatEndpoint(ep);
    auto& c = nodes_[name];
    if (!c) {
      endpoints_by_name_[name] = ep;
      ConnectionOptions co;
      co.name = name;
      co.resolve = [ep]() -> Result<Endpoint> { return ep; };
      co.credentials = credentials();
      co.connect_timeout = options_.connect_timeout;
      co.command_timeout = options_.command_timeout;
      co.on_lost = [this] { RequestRefresh(); };
      c = std::make_shared<Connection>(std::move(co));
      if (stop_) {
        c->Close();
      } else {
        c->Start();
      }
    }
    return c;
  }

  std::shared_ptr<Connection> ForSlot(int slot) {
    MutexLock l(&mu_);
    if (slots_[slot]) return slots_[slot];
    RequestRefreshLocked();
    for (const auto& c : slots_) {
      if (c) return c;  // no owner known: any node answers MOVED with the right one
    }
    return NodeLocked(options_.endpoints.front());
  }

  void OnReply(Request&& r, Result<Reply> result) {
    if (result.ok() && result->is_error()) {
      const std::string& err = result->str;
      const bool moved = IsErrorWith(*result, "MOVED ");
      const bool ask = IsErrorWith(*result, "ASK ");
      Endpoint to;
      if ((moved || ask) && r.redirects < kMaxRedirects && ParseRedirect(err.substr(moved ? 6 : 4), &to)) {
        if (ask && r.asking) {
          // Asked once already: give the answer back.
        } else {
          ++r.redirects;
          r.asking = ask;
          r.done = [this](Request&& q, Result<Reply> res) { OnReply(std::move(q), std::move(res)); };
          std::shared_ptr<Connection> target;
          {
            MutexLock l(&mu_);
            target = NodeLocked(to);
            if (moved) {
              const int slot = std::atoi(err.c_str() + 6);
              if (slot >= 0 && slot < kSlots) slots_[slot] = target;
              RequestRefreshLocked();
            }
          }
          target->Submit(std::move(r));
          return;
        }
      }
      if (IsErrorWith(*result, "CLUSTERDOWN") || IsErrorWith(*result, "TRYAGAIN")) {
        result = Status::Unavailable("redis unreachable: " + err);
      }
    }
    Complete(std::move(r), std::move(result));
  }

  std::vector<Endpoint> Candidates() {
    std::vector<Endpoint> out;
    {
      MutexLock l(&mu_);
      for (const auto& [name, c] : nodes_) out.push_back(endpoints_by_name_[name]);
    }
    for (const auto& e : options_.endpoints) {
      const bool known = std::any_of(out.begin(), out.end(), [&](const Endpoint& o) { return o.host == e.host && o.port == e.port; });
      if (!known) out.push_back(e);
    }
    return out;
  }

  Status Refresh() {
    auto ranges = FetchSlots(Candidates(), credentials(), options_.connect_timeout, options_.command_timeout);
    if (!ranges.ok()) return ranges.status();
    MutexLock l(&mu_);
    std::vector<std::shared_ptr<Connection>> next(kSlots);
    for (const auto& range : *ranges) {
      auto c = NodeLocked(range.primary);
      for (int s = range.first; s <= range.last; ++s) next[s] = c;
    }
    for (int s = 0; s < kSlots; ++s) {
      if (next[s] || !slots_[s]) slots_[s] = next[s];  // a slot nobody reports keeps its last owner
    }
    return Status::Ok();
  }

  void RequestRefresh() {
    MutexLock l(&mu_);
    RequestRefreshLocked();
  }
  void RequestRefreshLocked() REQUIRES(mu_) {
    refresh_wanted_ = true;
    cv_.SignalAll();
  }

  void RefreshLoop() {
    while (true) {
      {
        MutexLock l(&mu_);
        while (!stop_ && !refresh_wanted_) cv_.Wait();
        if (stop_) return;
        refresh_wanted_ = false;
      }
      Status s = Refresh();
      if (!s.ok() && !refresh_failing_) {
        log::Warn("redis cluster slot map not refreshed", {{"reason", s.message()}});
      } else if (s.ok() && refresh_failing_) {
        log::Info("redis cluster slot map refreshed");
      }
      refresh_failing_ = !s.ok();  // log the first failure of a series and the recovery only
      MutexLock l(&mu_);
      const auto until = Clock::now() + kRefreshGap;
      while (!stop_ && cv_.WaitUntil(until)) {
      }
    }
  }

  mutable Mutex mu_;
  CondVar cv_{&mu_};
  std::vector<std::shared_ptr<Connection>> slots_ GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Connection>> nodes_ GUARDED_BY(mu_);
  std::map<std::string, Endpoint> endpoints_by_name_ GUARDED_BY(mu_);
  bool refresh_wanted_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  size_t subscriber_turn_ GUARDED_BY(mu_) = 0;
  std::thread refresher_;
  bool refresh_failing_ = false;  // the refresher thread's
};

}  // namespace

Result<std::unique_ptr<Client>> OpenCluster(Options options) {
  auto client = std::make_unique<ClusterClient>(std::move(options));
  Status s = client->Start();
  if (!s.ok()) {
    client->Close();
    return s;
  }
  return std::unique_ptr<Client>(std::move(client));
}

}  // namespace dsx::redis
