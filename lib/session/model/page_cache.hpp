// PageCache<Page>: pages of a stream built once and shared by every live reader at the same
// offset.
//
// Why: when an append wakes 1,000 subscribers parked at offset X, each used to read [X, tail)
// from the store, parse it and serialize its own copy of the same bytes (10-15 µs of CPU per
// reader per event). With the cache the first reader builds the page and the other 999 take
// the same immutable bytes, so a delivery costs little more than its write(2).
//
// Why it is safe: a page covers [from, next) of an append-only log, so its content never
// goes stale. Whether more arrived since it was built is not the page's business: readers
// learn it from the service (StreamService::Peek, and Wait refuses to park behind the tail).
// Only pages with data are cached (the caller says so): "nothing new at X" goes stale at the
// next append. Keys are (stream identity, from, variant); variant is a rendering choice that
// is the same for many readers (e.g. base64 framing). Each stream keeps its most recently
// used `per_stream` pages; a stream's pages go when the stream record dies.
//
// Thread-safe. A page is built outside the lock, so two threads may build the same page at
// once; the first one stored wins and both are correct.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "session/model/stream_service.hpp"

namespace dsx::session {

template <class Page>
class PageCache {
 public:
  using Ptr = std::shared_ptr<const Page>;

  explicit PageCache(std::size_t per_stream = 4) : per_stream_(per_stream) {}
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // The page for (stream, from, variant): cached, or built with `build()`, which returns
  // {page, cacheable}. A null page is returned as is and never cached.
  template <class Build>
  Ptr Get(const StreamHandle& stream, std::uint64_t from, unsigned variant, Build&& build) {
    {
      std::lock_guard lk(mu_);
      if (Slot* slot = FindLocked(stream, from, variant)) {
        slot->used = ++clock_;
        hits_++;
        return slot->page;
      }
    }
    std::pair<Ptr, bool> built = build();
    if (!built.first || !built.second) return std::move(built.first);
    std::lock_guard lk(mu_);
    misses_++;
    if (Slot* slot = FindLocked(stream, from, variant)) return slot->page;  // another thread won
    Entry& e = EntryLocked(stream);
    if (e.slots.size() >= per_stream_) {
      auto oldest = e.slots.begin();
      for (auto it = e.slots.begin(); it != e.slots.end(); ++it) {
        if (it->used < oldest->used) oldest = it;
      }
      e.slots.erase(oldest);
    }
    e.slots.push_back(Slot{from, variant, built.first, ++clock_});
    return std::move(built.first);
  }

  std::uint64_t hits() const {
    std::lock_guard lk(mu_);
    return hits_;
  }
  std::uint64_t misses() const {
    std::lock_guard lk(mu_);
    return misses_;
  }

 private:
  struct Slot {
    std::uint64_t from;
    unsigned variant;
    Ptr page;
    std::uint64_t used;  // LRU clock
  };
  struct Entry {
    std::weak_ptr<Stream> stream;  // identity check: a new stream may reuse the address
    std::vector<Slot> slots;
  };

  Slot* FindLocked(const StreamHandle& stream, std::uint64_t from, unsigned variant) {
    auto it = streams_.find(stream.get());
    if (it == streams_.end() || it->second.stream.lock() != stream) return nullptr;
    for (Slot& s : it->second.slots) {
      if (s.from == from && s.variant == variant) return &s;
    }
    return nullptr;
  }

  Entry& EntryLocked(const StreamHandle& stream) {
    // Forget streams that died, now and then, so deleted streams do not pin their pages.
    if (streams_.size() >= 64 && streams_.size() >= 2 * live_at_purge_) {
      std::erase_if(streams_, [](const auto& kv) { return kv.second.stream.expired(); });
      live_at_purge_ = streams_.size();
    }
    Entry& e = streams_[stream.get()];
    if (e.stream.lock() != stream) {  // new, or the address of a dead stream reused
      e.stream = stream;
      e.slots.clear();
    }
    return e;
  }

  const std::size_t per_stream_;
  mutable std::mutex mu_;
  std::unordered_map<const Stream*, Entry> streams_;
  std::size_t live_at_purge_ = 0;
  std::uint64_t clock_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

}  // namespace dsx::session
