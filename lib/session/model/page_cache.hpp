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
// is the same for many readers (e.g. base64 framing).
//
// Memory: a page larger than max_page_bytes (a reader catching up on a long backlog) is rarely
// shared and is not kept; the rest form one least-recently-used list over all streams, bounded
// in bytes and in pages, so
// thousands of idle streams cannot pin their last pages (a page is only useful for the few
// milliseconds readers take to catch up). A dead stream's pages are never served again (the
// identity check) and age out.
//
// Thread-safe. A page is built outside the lock, so two threads may build the same page at
// once; the first one stored wins and both are correct.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "session/model/stream_service.hpp"

namespace dsx::session {

template <class Page>
class PageCache {
 public:
  using Ptr = std::shared_ptr<const Page>;

  explicit PageCache(std::size_t max_bytes = 32u << 20, std::size_t max_pages = 4096,
                     std::size_t max_page_bytes = 256u << 10)
      : max_bytes_(max_bytes), max_pages_(max_pages), max_page_bytes_(std::min(max_page_bytes, max_bytes)) {}
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // The page for (stream, from, variant): cached, or built with `build()`, which returns
  // {page, bytes held}: bytes = 0 means "do not cache" (e.g. no data). A null page is returned
  // as is.
  template <class Build>
  Ptr Get(const StreamHandle& stream, std::uint64_t from, unsigned variant, Build&& build) {
    const Key key{stream.get(), from, variant};
    {
      std::lock_guard lk(mu_);
      if (Ptr hit = FindLocked(key, stream)) {
        hits_++;
        return hit;
      }
    }
    std::pair<Ptr, std::size_t> built = build();
    if (!built.first || built.second == 0 || built.second > max_page_bytes_) return std::move(built.first);
    std::lock_guard lk(mu_);
    misses_++;
    if (Ptr hit = FindLocked(key, stream)) return hit;  // another thread stored it first
    lru_.push_front(Slot{key, stream, built.first, built.second});
    index_[key] = lru_.begin();
    bytes_ += built.second;
    while (bytes_ > max_bytes_ || lru_.size() > max_pages_) EraseLocked(std::prev(lru_.end()));
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
  std::size_t bytes() const {
    std::lock_guard lk(mu_);
    return bytes_;
  }

 private:
  struct Key {
    const Stream* stream;
    std::uint64_t from;
    unsigned variant;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      std::size_t h = std::hash<const void*>()(k.stream);
      h ^= std::hash<std::uint64_t>()(k.from) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
      return h ^ k.variant;
    }
  };
  struct Slot {
    Key key;
    std::weak_ptr<Stream> stream;  // identity: a new stream may reuse a dead one's address
    Ptr page;
    std::size_t bytes;
  };
  using Iter = typename std::list<Slot>::iterator;

  Ptr FindLocked(const Key& key, const StreamHandle& stream) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    if (it->second->stream.lock() != stream) {  // the address of a dead stream, reused
      EraseLocked(it->second);
      return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->page;
  }

  void EraseLocked(Iter slot) {
    bytes_ -= slot->bytes;
    index_.erase(slot->key);
    lru_.erase(slot);
  }

  const std::size_t max_bytes_;
  const std::size_t max_pages_;
  const std::size_t max_page_bytes_;
  mutable std::mutex mu_;
  std::list<Slot> lru_;  // most recently used first
  std::unordered_map<Key, Iter, KeyHash> index_;
  std::size_t bytes_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

}  // namespace dsx::session
