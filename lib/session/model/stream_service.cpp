// StreamService: open/close, lookup, expiry, delete, HEAD, live waits.
// Create is in stream_create.cpp, Append in stream_append.cpp, reads in stream_read.cpp.
#include "session/model/stream_service.hpp"

#include <mutex>

#include "core/log.hpp"
#include "session/model/protocol_values.hpp"
#include "session/model/stream_record.hpp"

namespace dsx::session {

StreamService::StreamService(std::unique_ptr<StreamStore> store, ServiceOptions options, Clock& clock)
    : store_(std::move(store)), options_(options), clock_(clock) {}

StreamService::~StreamService() = default;

StreamHandle StreamFromState(StreamState st, std::int64_t last_access_ms) {
  auto s = std::make_shared<Stream>();
  s->meta = std::move(st.meta);
  s->ct_normalized = NormalizeContentType(s->meta.content_type);
  s->json = s->ct_normalized == "application/json";
  s->last_access_ms = last_access_ms;
  s->pending_tail = s->tail = st.tail;
  s->pending_closed = s->closed = st.closed;
  s->pending_seq = std::move(st.stream_seq);
  s->producers = std::move(st.producers);
  s->pending_closed_by = std::move(st.closed_by);
  s->version = s->pending_version = st.version;
  s->ready = true;
  if (st.unavailable) s->unavailable = std::move(*st.unavailable);
  return s;
}

Status StreamService::Open() {
  auto loaded = store_->Load();
  if (!loaded.ok()) return loaded.status().Wrap("cannot load streams");
  std::unique_lock lk(map_mu_);
  std::unordered_map<StreamId, StreamHandle> by_id;
  const std::int64_t now = clock_.NowMs();
  StreamId max_id = 0;
  for (StreamState& st : *loaded) {
    // A restart cannot know when the stream was last read: count it as read at open, which
    // can only lengthen a sliding TTL, never cut it short.
    StreamHandle s = StreamFromState(std::move(st), now);
    max_id = std::max(max_id, s->meta.id);
    by_id[s->meta.id] = s;
  }
  for (auto& [id, s] : by_id) {
    if (s->meta.fork_source) {
      auto it = by_id.find(*s->meta.fork_source);
      if (it == by_id.end()) {
        log::Warn("fork source missing; fork reads only its own data",
                  {{"stream", s->meta.path}, {"source_id", std::to_string(*s->meta.fork_source)}});
        continue;
      }
      s->source = it->second;
      s->fork_from_path = it->second->meta.path;
      it->second->fork_refs++;
    }
  }
  for (auto& [id, s] : by_id) {
    by_path_[s->meta.path] = s;
    if (!s->meta.soft_deleted) stats_.streams++;
  }
  next_id_ = max_id + 1;
  lk.unlock();
  if (store_->Shared()) EnableSharing();
  return Status::Ok();
}

Status StreamService::Close() {
  closing_ = true;
  return store_->Close();
}

StreamHandle StreamService::Find(const std::string& path, std::int64_t now_ms, Reply* error) {
  {
    std::shared_lock lk(map_mu_);
    auto it = by_path_.find(path);
    if (it == by_path_.end()) {
      error->status = 404;
      error->error = "stream not found";
      return nullptr;
    }
    const StreamHandle& s = it->second;
    if (s->meta.soft_deleted) {
      error->status = 410;
      error->error = "stream was deleted";
      return nullptr;
    }
    if (!s->unavailable.empty()) {
      // Its records are damaged on disk: neither serve what is left nor append after it.
      error->status = 503;
      error->error = "stream unavailable: " + s->unavailable;
      return nullptr;
    }
    if (!s->Expired(now_ms)) {
      std::lock_guard rl(s->read_mu);
      if (s->ready && !s->gone) return s;
      error->status = 404;
      error->error = "stream not found";
      return nullptr;
    }
  }
  std::unique_lock lk(map_mu_);
  auto it = by_path_.find(path);
  if (it != by_path_.end() && !it->second->meta.soft_deleted && it->second->Expired(now_ms)) {
    ExpireLocked(it->second);
  }
  error->status = 404;
  error->error = "stream not found";
  return nullptr;
}

void StreamService::ExpireLocked(StreamHandle s) {
  if (s->fork_refs > 0) {
    // Forks still read through it: keep the data, hide the stream.
    s->meta.soft_deleted = true;
    stats_.streams--;
    store_->SoftDelete(s->meta.id, [path = s->meta.path](Status st) {
      if (!st.ok()) log::Error("cannot soft-delete expired stream", {{"stream", path}, {"error", st.message()}});
    });
    return;
  }
  RemoveLocked(s);
}

void StreamService::RemoveLocked(StreamHandle s) {
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
  store_->Drop(s->meta.id, [path = s->meta.path](Status st) {
    if (!st.ok()) log::Error("cannot drop stream", {{"stream", path}, {"error", st.message()}});
  });
  if (s->source) {
    StreamHandle src = s->source;
    src->fork_refs--;
    if (src->meta.soft_deleted && src->fork_refs == 0) RemoveLocked(src);
  }
}

void StreamService::Delete(const std::string& path, ReplyCallback done) {
  Reply r;
  const std::int64_t now = clock_.NowMs();
  std::unique_lock lk(map_mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) {
    r.status = 404;
    r.error = "stream not found";
    lk.unlock();
    return done(std::move(r));
  }
  StreamHandle s = it->second;
  if (s->meta.soft_deleted) {
    r.status = 410;
    r.error = "stream was deleted";
    lk.unlock();
    return done(std::move(r));
  }
  if (s->Expired(now)) {
    ExpireLocked(s);
    r.status = 404;
    r.error = "stream not found";
    lk.unlock();
    return done(std::move(r));
  }
  stats_.deletes++;
  r.status = 204;
  if (s->fork_refs > 0) {
    s->meta.soft_deleted = true;
    stats_.streams--;
    store_->SoftDelete(s->meta.id, [done = std::move(done), r](Status st) mutable {
      if (!st.ok()) {
        r.status = 503;
        r.error = st.message();
      }
      done(std::move(r));
    });
    return;
  }
  RemoveLocked(s);
  lk.unlock();
  done(std::move(r));
}

Reply StreamService::Head(const std::string& path) {
  Reply r;
  StreamHandle s = Find(path, clock_.NowMs(), &r);
  if (!s) return r;
  r.status = 200;
  r.has_info = true;
  r.info.content_type = s->meta.content_type;
  r.info.ttl_seconds = s->meta.ttl_seconds;
  r.info.expires_at = s->meta.expires_at;
  std::lock_guard rl(s->read_mu);
  r.info.tail = s->tail;
  r.info.closed = s->closed;
  return r;
}

void StreamService::WakeArmed(std::vector<Waiter>& waiters) {
  for (Waiter& w : waiters) {
    if (w.armed->exchange(false)) {
      stats_.live_waiters--;
      w.wake();
    }
  }
}

bool StreamService::Wait(const StreamHandle& s, std::uint64_t offset, std::function<void()> wake, WaitToken* token) {
  std::lock_guard rl(s->read_mu);
  if (s->gone || s->closed || s->tail > offset) return false;
  if (store_down_.load()) return false;  // read again: the read answers 503 (CheckStoreHealth)
  // Drop cancelled waiters now and then so idle streams do not accumulate them.
  if (s->waiters.size() >= 64 && s->waiters.size() >= 2 * s->live_waiters_at_purge) {
    std::erase_if(s->waiters, [](const Waiter& w) { return !w.armed->load(); });
    s->live_waiters_at_purge = s->waiters.size();
  }
  token->armed = std::make_shared<std::atomic<bool>>(true);
  s->waiters.push_back(Waiter{token->armed, offset, std::move(wake)});
  stats_.live_waiters++;
  // Shared store: another server wrote while nobody here waited, so no fetch was made
  // (stream_sync.cpp, OnRemoteChange): make it now that someone waits.
  if (shared_ && s->remote_dirty.exchange(false)) {
    const std::string path = s->meta.path;
    store_->Fetch(path, [this, path](Result<std::optional<StreamState>> r) { Install(path, r); });
  }
  return true;
}

void StreamService::CancelWait(WaitToken& token) {
  if (token.armed && token.armed->exchange(false)) stats_.live_waiters--;
  token.armed.reset();
}

}  // namespace dsx::session
