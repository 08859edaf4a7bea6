#include "session/store/memory_store.hpp"

#include <algorithm>
#include <atomic>
#include <unordered_map>

#include "core/mutex.hpp"

namespace dsx::session {
namespace {

struct MemStream {
  Mutex mu;
  StreamState state GUARDED_BY(mu);               // meta + committed state (tail, producers...)
  std::string data GUARDED_BY(mu);                // the stream's own log, from meta.base_offset
  std::vector<MessageSpan> spans GUARDED_BY(mu);  // one per message, absolute end offsets
};

class MemoryStore final : public StreamStore {
 public:
  const char* Name() const override { return "memory"; }

  Result<std::vector<StreamState>> Load() override { return std::vector<StreamState>{}; }

  void Create(CreateOp op, StatusCallback done) override {
    if (closed_) return done(Status::Unavailable("store is closed"));
    auto s = std::make_shared<MemStream>();
    const StreamId id = op.meta.id;
    {
      MutexLock sl(&s->mu);  // not shared yet: uncontended, taken for the analysis
      s->state.meta = std::move(op.meta);
      s->state.tail = s->state.meta.base_offset;
      s->state.closed = op.closed;
      for (Batch& b : op.batches) AppendBatch(*s, b);
    }
    bool inserted;
    {
      WriterMutexLock lk(&mu_);
      inserted = streams_.emplace(id, s).second;
    }
    if (!inserted) return done(Status::Conflict("stream id " + std::to_string(id) + " exists"));
    done(Status::Ok());
  }

  void Append(AppendOp op, AppendCallback done) override {
    if (closed_) return done(Status::Unavailable("store is closed"));
    auto s = Get(op.id);
    if (!s) return done(Status::NotFound("no stream with id " + std::to_string(op.id)));
    AppendResult r;
    {
      MutexLock lk(&s->mu);
      AppendBatch(*s, op.batch);
      if (op.producer) {
        s->state.producers[op.producer->id] = ProducerState{op.producer->epoch, op.producer->seq};
      }
      if (op.stream_seq) s->state.stream_seq = std::move(op.stream_seq);
      if (op.close) {
        s->state.closed = true;
        s->state.closed_by = op.producer;
      }
      r.tail = s->state.tail;
    }
    done(r);
  }

  Result<ReadChunk> Read(StreamId id, std::uint64_t from, std::uint64_t end_limit,
                         std::size_t max_bytes) const override {
    auto s = Get(id);
    if (!s) return Status::NotFound("no stream with id " + std::to_string(id));
    ReadChunk c;
    c.begin = from;
    MutexLock lk(&s->mu);
    const std::uint64_t base = s->state.meta.base_offset;
    auto it = std::upper_bound(s->spans.begin(), s->spans.end(), from,
                               [](std::uint64_t v, const MessageSpan& m) { return v < m.end; });
    if (it == s->spans.end()) return c;
    std::size_t i = static_cast<std::size_t>(it - s->spans.begin());
    const std::uint64_t start = i == 0 ? base : s->spans[i - 1].end;
    if (start >= end_limit) return c;
    c.begin = start;
    std::uint64_t stop = start;
    for (; i < s->spans.size(); ++i) {
      const std::uint64_t msg_start = stop;
      if (msg_start >= end_limit) break;
      c.messages.push_back(s->spans[i]);
      stop = s->spans[i].end;
      if (stop - start >= max_bytes) break;
    }
    c.data.assign(s->data, start - base, stop - start);
    return c;
  }

  void SoftDelete(StreamId id, StatusCallback done) override {
    auto s = Get(id);
    if (!s) return done(Status::NotFound("no stream with id " + std::to_string(id)));
    MutexLock lk(&s->mu);
    s->state.meta.soft_deleted = true;
    done(Status::Ok());
  }

  void Drop(StreamId id, StatusCallback done) override {
    std::shared_ptr<MemStream> dropped;  // freed outside the lock
    {
      WriterMutexLock lk(&mu_);
      auto it = streams_.find(id);
      if (it != streams_.end()) {
        dropped = std::move(it->second);
        streams_.erase(it);
      }
    }
    if (!dropped) return done(Status::NotFound("no stream with id " + std::to_string(id)));
    done(Status::Ok());
  }

  Status Close() override {
    closed_ = true;
    return Status::Ok();
  }

 private:
  std::shared_ptr<MemStream> Get(StreamId id) const {
    ReaderMutexLock lk(&mu_);
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
  }

  static void AppendBatch(MemStream& s, const Batch& b) REQUIRES(s.mu) {
    std::uint64_t pos = s.state.tail;
    bool first = true;
    for (std::uint32_t size : b.sizes) {
      pos += size;
      s.spans.push_back(MessageSpan{pos, first});
      first = false;
    }
    s.data.append(b.payload);
    s.state.tail = pos;
    s.state.message_count += b.sizes.size();
  }

  mutable SharedMutex mu_;
  std::unordered_map<StreamId, std::shared_ptr<MemStream>> streams_ GUARDED_BY(mu_);
  std::atomic<bool> closed_{false};
};

}  // namespace

std::unique_ptr<StreamStore> MakeMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace dsx::session
