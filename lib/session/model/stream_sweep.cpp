// StreamService retention: the periodic sweep of expired streams, and the registry listing.
//
// Expiry is otherwise lazy (Find/Delete expire a stream when a request touches it); a stream
// nobody asks for again would keep its disk forever. The server calls SweepExpired on a timer
// (server.cpp); it shares ExpireLocked with the lazy path, so both give the same answers.
#include <algorithm>
#include <mutex>

#include "session/model/stream_record.hpp"
#include "session/model/stream_service.hpp"

namespace dsx::session {

std::size_t StreamService::SweepExpired(std::int64_t now_ms) {
  if (closing_) return 0;
  // Pass 1, shared lock: find candidates. Most sweeps find none and never block writers.
  std::vector<StreamHandle> expired;
  {
    std::shared_lock lk(map_mu_);
    for (const auto& [path, s] : by_path_) {
      if (s->meta.soft_deleted || !s->Expired(now_ms)) continue;
      std::lock_guard rl(s->read_mu);
      // Not yet durable (its creation's callback will mark it ready) or already dropped.
      if (s->ready && !s->gone) expired.push_back(s);
    }
  }
  if (expired.empty()) return 0;
  if (shared_) {
    // Other servers may have kept a stream alive (reads there) or ended it already: decide on
    // the store's state, fetched first. Answered asynchronously; counted as candidates.
    for (const StreamHandle& s : expired) {
      const std::string path = s->meta.path;
      Sync(path, [this, path] {
        const std::int64_t now = clock_.NowMs();
        std::unique_lock lk(map_mu_);
        auto it = by_path_.find(path);
        if (it == by_path_.end() || it->second->meta.soft_deleted || !it->second->Expired(now)) return;
        ExpireLocked(it->second);
      });
    }
    return expired.size();
  }
  // Pass 2, exclusive: check again (a request may have expired, deleted or renewed it in
  // between) and expire. Order does not matter: a fork dropped before its expired source
  // leaves the source with no refs (dropped when reached); a source reached first is
  // soft-deleted and then dropped by the cascade when its last fork goes.
  std::size_t n = 0;
  std::unique_lock lk(map_mu_);
  for (StreamHandle& s : expired) {
    auto it = by_path_.find(s->meta.path);
    if (it == by_path_.end() || it->second != s) continue;
    if (s->meta.soft_deleted || !s->Expired(now_ms)) continue;
    ExpireLocked(s);
    ++n;
  }
  return n;
}

std::vector<StreamListing> StreamService::ListStreams(std::string_view prefix, std::int64_t now_ms) {
  std::vector<StreamListing> out;
  {
    std::shared_lock lk(map_mu_);
    for (const auto& [path, s] : by_path_) {
      if (!path.starts_with(prefix)) continue;
      if (s->meta.soft_deleted || s->Expired(now_ms)) continue;
      std::lock_guard rl(s->read_mu);
      if (!s->ready || s->gone) continue;
      out.push_back(StreamListing{path, s->json, s->closed, s->tail});
    }
  }
  std::sort(out.begin(), out.end(), [](const StreamListing& a, const StreamListing& b) { return a.path < b.path; });
  return out;
}

}  // namespace dsx::session
