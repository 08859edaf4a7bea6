#include "session/store/redis/local_log.hpp"

#include <algorithm>

namespace dsx::session::redisstore {

LocalLog::Applied LocalLog::AppendMessage(std::uint64_t end, std::string_view bytes, bool first) {
  const std::uint64_t tail = TailLocked();
  if (end <= tail) return Applied::kOk;  // already here
  const std::uint64_t start = end - bytes.size();
  if (start > tail) return Applied::kGap;
  if (start < tail) return Applied::kMismatch;
  data_.append(bytes);
  spans_.push_back(MessageSpan{end, first});
  return Applied::kOk;
}

LocalLog::Applied LocalLog::Apply(const std::vector<Entry>& entries) {
  MutexLock lk(&mu_);
  for (const Entry& e : entries) {
    if (e.bytes.empty() || e.bytes.size() > e.end) return Applied::kMismatch;
    const Applied a = AppendMessage(e.end, e.bytes, e.first);
    if (a != Applied::kOk) return a;
  }
  return Applied::kOk;
}

LocalLog::Applied LocalLog::ApplyBatch(std::uint64_t start, const Batch& batch) {
  MutexLock lk(&mu_);
  std::uint64_t pos = start;
  std::size_t at = 0;
  bool first = true;
  for (std::uint32_t size : batch.sizes) {
    pos += size;
    const Applied a = AppendMessage(pos, std::string_view(batch.payload).substr(at, size), first);
    if (a != Applied::kOk) return a;
    at += size;
    first = false;
  }
  return Applied::kOk;
}

void LocalLog::Reset() {
  MutexLock lk(&mu_);
  data_.clear();
  spans_.clear();
}

std::uint64_t LocalLog::Tail() const {
  MutexLock lk(&mu_);
  return TailLocked();
}

void LocalLog::SetCommitted() {
  MutexLock lk(&mu_);
  committed_ = true;
}

bool LocalLog::Committed() const {
  MutexLock lk(&mu_);
  return committed_;
}

ReadChunk LocalLog::Read(std::uint64_t from, std::uint64_t end_limit, std::size_t max_bytes) const {
  ReadChunk c;
  c.begin = from;
  MutexLock lk(&mu_);
  auto it = std::upper_bound(spans_.begin(), spans_.end(), from,
                             [](std::uint64_t v, const MessageSpan& m) { return v < m.end; });
  if (it == spans_.end()) return c;
  std::size_t i = static_cast<std::size_t>(it - spans_.begin());
  const std::uint64_t start = i == 0 ? base_ : spans_[i - 1].end;
  if (start >= end_limit) return c;
  c.begin = start;
  std::uint64_t stop = start;
  for (; i < spans_.size(); ++i) {
    if (stop >= end_limit) break;
    c.messages.push_back(spans_[i]);
    stop = spans_[i].end;
    if (stop - start >= max_bytes) break;
  }
  c.data.assign(data_, start - base_, stop - start);
  return c;
}

std::shared_ptr<LocalLog::Ticket> LocalLog::Enqueue() {
  auto t = std::make_shared<Ticket>();
  MutexLock lk(&seq_mu_);
  pending_.push_back(t);
  return t;
}

void LocalLog::Complete(const std::shared_ptr<Ticket>& ticket, std::function<void()> fn) {
  MutexLock lk(&seq_mu_);
  ticket->fn = std::move(fn);
  ticket->ready = true;
  if (delivering_) return;  // the thread delivering now will reach it
  delivering_ = true;
  while (!pending_.empty() && pending_.front()->ready) {
    std::function<void()> run = std::move(pending_.front()->fn);
    pending_.pop_front();
    lk.Unlock();
    run();
    lk.Lock();
  }
  delivering_ = false;
}

bool LocalLog::Busy() const {
  MutexLock lk(&seq_mu_);
  return !pending_.empty();
}

}  // namespace dsx::session::redisstore
