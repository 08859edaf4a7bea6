// StreamService over a shared store (several servers on one Redis): keeping this server's
// view of each stream in step with the store's committed state.
//
// The protocol decisions stay where they are (stream_append.cpp, stream_create.cpp): each
// server decides on its in-memory view, and the store applies a mutation only if the stream is
// still at the version the decision saw (StreamStore "Shared stores"). A mutation that loses
// that race changed nothing; its stream "resyncs": new appends park, the store's state is
// fetched and installed, and the parked appends are decided again on it, in order. So two
// servers racing on one stream can never both win a producer epoch or both accept one
// Producer-Seq: the loser's decision is retaken on the winner's state.
#include <algorithm>
#include <mutex>
#include <random>

#include "core/log.hpp"
#include "session/model/protocol_values.hpp"
#include "session/model/stream_record.hpp"
#include "session/model/stream_service.hpp"

namespace dsx::session {
namespace {

constexpr std::uint64_t kNodeMask = 0xffffffff00000000ull;

Reply Unavailable(std::string why) {
  Reply r;
  r.status = 503;
  r.error = std::move(why);
  return r;
}

}  // namespace

void StreamService::EnableSharing() {
  std::random_device rd;
  std::uint32_t tag = 0;
  while (tag == 0) tag = rd();
  node_tag_ = static_cast<std::uint64_t>(tag) << 32;
  shared_ = true;
  store_->SetChangeListener([this](const std::string& path, std::uint64_t version) { OnRemoteChange(path, version); });
  store_->SetResyncListener([this] { ResyncAll(); });
}

std::uint64_t StreamService::NextVersion() {
  std::uint32_t n = version_counter_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n == 0) n = version_counter_.fetch_add(1, std::memory_order_relaxed) + 1;
  return node_tag_ | n;
}

void StreamService::NoteAccess(const StreamHandle& s, std::int64_t now) {
  s->last_access_ms.store(now, std::memory_order_relaxed);
  if (!shared_ || !s->meta.ttl_seconds) return;
  const std::int64_t period = std::min<std::int64_t>(1000, static_cast<std::int64_t>(*s->meta.ttl_seconds) * 250);
  std::int64_t sent = s->touch_sent_ms.load(std::memory_order_relaxed);
  if (now - sent < period) return;
  if (!s->touch_sent_ms.compare_exchange_strong(sent, now)) return;  // another thread sends it
  store_->Touch(s->meta.path, now);
}

void StreamService::SetRemoteChangeObserver(std::function<void(const std::string& path)> observer) {
  std::lock_guard lk(observer_mu_);
  remote_observer_ = std::move(observer);
}

std::uint64_t StreamService::RemoteChanges(const StreamHandle& stream) const {
  return stream ? stream->remote_changes.load() : 0;
}

bool StreamService::Holds(const std::string& path) {
  std::shared_lock lk(map_mu_);
  return by_path_.count(path) > 0;
}

void StreamService::Sync(const std::string& path, std::function<void()> then) {
  if (!shared_ || closing_) return then();
  store_->Fetch(path, [this, path, then = std::move(then)](Result<std::optional<StreamState>> r) {
    Install(path, r);
    then();
  });
}

void StreamService::OnRemoteChange(const std::string& path, std::uint64_t version) {
  // Our own mutations come back too: their callbacks already updated this view.
  if (version != 0 && (version & kNodeMask) == node_tag_) return;
  // Fetch only what someone here is waiting on. Every request brings its stream up to date
  // first (router: Sync), so a stream nobody waits on here is fetched when asked for, not on
  // every append another server makes: with N servers an append costs one fetch per server
  // with live readers of that stream, not N-1. A stream never served here is not adopted.
  {
    std::shared_lock lk(map_mu_);
    auto it = by_path_.find(path);
    if (it == by_path_.end()) return;
    Stream& s = *it->second;
    std::lock_guard rl(s.read_mu);
    if (version != 0 && s.version == version) return;
    const bool waited_on = std::any_of(s.waiters.begin(), s.waiters.end(), [](const Waiter& w) { return w.armed->load(); });
    if (!waited_on && version != 0) {
      s.remote_dirty.store(true);  // Wait fetches it when a reader parks (under read_mu: no gap)
      return;
    }
  }
  store_->Fetch(path, [this, path](Result<std::optional<StreamState>> r) { Install(path, r); });
}

Status StreamService::StoreHealth() const {
  if (!store_down_.load()) return Status::Ok();
  std::lock_guard lk(health_mu_);
  return Status::Unavailable(store_down_reason_);
}

void StreamService::CheckStoreHealth() {
  if (!shared_ || closing_) return;
  const Status health = store_->Health();
  // Down only when unreachable at two checks in a row: a connection the client re-opens (after a
  // slow reply) is not an outage, and readers told of one would move for nothing.
  const int failed_checks = health.ok() ? 0 : std::min(failed_health_checks_ + 1, 2);
  failed_health_checks_ = failed_checks;
  const bool down = failed_checks >= 2;
  {
    std::lock_guard lk(health_mu_);
    if (down) store_down_reason_ = health.message();
    if (store_down_.load() == down) return;
    store_down_.store(down);
  }
  if (!down) {
    log::Info("shared store reachable again: live reads resume");
    return;
  }
  log::Warn("shared store unreachable: live readers are told to retry", {{"why", health.message()}});
  // Every parked reader reads again and meets the 503 (ReadFrom); Wait parks nobody meanwhile.
  std::vector<StreamHandle> streams;
  {
    std::shared_lock lk(map_mu_);
    streams.reserve(by_path_.size());
    for (const auto& [p, s] : by_path_) streams.push_back(s);
  }
  for (const StreamHandle& s : streams) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard rl(s->read_mu);
      waiters.swap(s->waiters);
      s->live_waiters_at_purge = 0;
    }
    WakeArmed(waiters);
  }
}

void StreamService::ResyncAll() {
  std::vector<std::string> paths;
  {
    std::shared_lock lk(map_mu_);
    paths.reserve(by_path_.size());
    for (const auto& [p, s] : by_path_) paths.push_back(p);
  }
  log::Info("shared store reconnected: resynchronising streams", {{"streams", std::to_string(paths.size())}});
  for (const std::string& p : paths) OnRemoteChange(p, 0);
}

StreamHandle StreamService::Adopt(StreamState st) {
  std::optional<std::string> fork_source_path = std::move(st.fork_source_path);
  // Counted as read when adopted (as at Open), or later if another server recorded a later access.
  const std::int64_t accessed = std::max(clock_.NowMs(), st.last_access_ms);
  StreamHandle s = StreamFromState(std::move(st), accessed);
  if (s->meta.fork_source && fork_source_path) {
    auto it = by_path_.find(*fork_source_path);
    if (it != by_path_.end() && it->second->meta.id == *s->meta.fork_source) {
      s->source = it->second;
      s->fork_from_path = *fork_source_path;
      it->second->fork_refs++;
    } else {
      // The source is not known here yet: fetch it, then this fork again (it links then).
      const std::string fork = s->meta.path;
      log::Info("fork source not loaded here yet; fetching it", {{"stream", fork}});
      Sync(*fork_source_path, [this, fork] { Sync(fork, [] {}); });
    }
  }
  by_path_[s->meta.path] = s;
  if (!s->meta.soft_deleted) stats_.streams++;
  return s;
}

void StreamService::ForgetLocked(const StreamHandle& s) {
  // Like RemoveLocked, but the store already dropped it (another server did).
  auto it = by_path_.find(s->meta.path);
  if (it != by_path_.end() && it->second == s) by_path_.erase(it);
  if (!s->meta.soft_deleted) stats_.streams--;
  std::vector<Waiter> waiters;
  {
    std::lock_guard rl(s->read_mu);
    s->gone = true;
    waiters.swap(s->waiters);
  }
  WakeArmed(waiters);
  if (s->source) {
    s->source->fork_refs--;
    s->source.reset();
  }
}

void StreamService::Install(const std::string& path, const Result<std::optional<StreamState>>& fetched) {
  std::vector<std::pair<AppendArgs, ReplyCallback>> replay;
  std::vector<Waiter> waiters;
  bool failed_resync = false;
  bool changed = false;
  {
    std::unique_lock lk(map_mu_);
    auto it = by_path_.find(path);
    StreamHandle s = it == by_path_.end() ? nullptr : it->second;
    if (!fetched.ok()) {
      // Unreachable store: nothing to install. Appends parked by a resync get 503 now; the
      // next request tries again.
      if (s) {
        std::lock_guard wl(s->write_mu);
        if (s->resyncing && s->resync_fetching) {
          s->resync_fetching = false;
          replay.swap(s->parked);
          failed_resync = true;
        }
      }
    } else if (!fetched->has_value()) {
      // Gone from the store. A creation of ours still in flight is not gone, only not yet there.
      if (s) {
        bool ready;
        {
          std::lock_guard rl(s->read_mu);
          ready = s->ready;
        }
        if (ready) {
          {
            std::lock_guard wl(s->write_mu);
            s->resyncing = false;
            s->resync_fetching = false;
            replay.swap(s->parked);  // decided again: they find no stream (404)
          }
          ForgetLocked(s);
          changed = true;
        }
      }
    } else {
      const StreamState& st = **fetched;
      if (s && s->meta.id != st.meta.id) {
        bool ready;
        {
          std::lock_guard rl(s->read_mu);
          ready = s->ready;
        }
        if (!ready) return;  // our own creation is racing; its callback decides
        ForgetLocked(s);     // deleted and created again elsewhere
        s = nullptr;
      }
      if (!s) {
        Adopt(st);
        changed = true;
      } else {
        std::lock_guard wl(s->write_mu);
        bool idle;
        {
          std::lock_guard rl(s->read_mu);
          idle = s->completed == s->submitted;
        }
        // With mutations of ours in flight their own answers decide: if this state is newer,
        // they lose their race and a resync installs it.
        if (st.last_access_ms > s->last_access_ms.load()) s->last_access_ms.store(st.last_access_ms);
        if (idle) {
          if (st.meta.soft_deleted && !s->meta.soft_deleted) {
            s->meta.soft_deleted = true;
            stats_.streams--;
            changed = true;
          }
          // The pending view always becomes the store's: after an append whose outcome is
          // unknown (Redis went away) it ran ahead of what the store holds.
          s->pending_tail = st.tail;
          s->pending_closed = st.closed;
          s->pending_seq = st.stream_seq;
          s->producers = st.producers;
          s->pending_closed_by = st.closed_by;
          s->pending_version = st.version;
          std::lock_guard rl(s->read_mu);
          if (st.version != s->version || st.tail != s->tail || st.closed != s->closed) {
            s->tail = st.tail;
            s->closed = st.closed;
            s->version = st.version;
            s->remote_changes++;
            waiters.swap(s->waiters);
            s->live_waiters_at_purge = 0;
            changed = true;
          }
          if (s->resyncing) {
            s->resyncing = false;
            s->resync_fetching = false;
            replay.swap(s->parked);
          }
        }
      }
    }
  }
  WakeArmed(waiters);
  if (changed) {
    std::function<void(const std::string&)> observer;
    {
      std::lock_guard lk(observer_mu_);
      observer = remote_observer_;
    }
    if (observer) observer(path);
  }
  for (auto& [args, done] : replay) {
    if (failed_resync) {
      done(Unavailable("shared store unreachable: " + fetched.status().message()));
    } else {
      Append(std::move(args), std::move(done));
    }
  }
}

void StreamService::MaybeStartResync(const StreamHandle& s) {
  if (!s->resyncing || s->resync_fetching) return;
  {
    std::lock_guard rl(s->read_mu);
    if (s->completed != s->submitted) return;  // the last answer in flight starts it
  }
  s->resync_fetching = true;
  const std::string path = s->meta.path;
  store_->Fetch(path, [this, path](Result<std::optional<StreamState>> r) { Install(path, r); });
}


}  // namespace dsx::session
