// StreamService::Create (PUT): idempotent create, forks with sub-offsets, TTL inheritance.
#include <mutex>

#include "session/model/json_mode.hpp"
#include "session/model/protocol_values.hpp"
#include "session/model/stream_record.hpp"
#include "session/model/stream_service.hpp"

namespace dsx::session {
namespace {

Reply Error(int status, std::string why) {
  Reply r;
  r.status = status;
  r.error = std::move(why);
  return r;
}

void FillInfo(const Stream& s, Reply* r) {
  r->has_info = true;
  r->info.content_type = s.meta.content_type;
  r->info.ttl_seconds = s.meta.ttl_seconds;
  r->info.expires_at = s.meta.expires_at;
  std::lock_guard rl(s.read_mu);
  r->info.tail = s.tail;
  r->info.closed = s.closed;
}

// Same configuration as an existing stream? (PUT idempotency)
bool SameConfig(Stream& s, const CreateArgs& a) {
  const std::string want_ct = a.content_type ? NormalizeContentType(*a.content_type)
                                             : (a.fork_from ? s.ct_normalized : std::string(kDefaultContentType));
  if (want_ct != s.ct_normalized) return false;
  const bool inherited_expiry = a.fork_from && !a.ttl_seconds && !a.expires_at;
  if (!inherited_expiry) {
    if (a.ttl_seconds != s.meta.ttl_seconds) return false;
    if (a.expires_at != s.meta.expires_at) return false;
  }
  {
    std::lock_guard wl(s.write_mu);
    if (a.closed != s.pending_closed) return false;
  }
  if (a.fork_from.value_or("") != s.fork_from_path) return false;
  if (a.fork_from && a.fork_offset && *a.fork_offset != s.meta.base_offset) return false;
  if (a.fork_sub_offset != s.meta.fork_sub_offset) return false;
  return true;
}

}  // namespace

void StreamService::Create(CreateArgs args, ReplyCallback done) {
  if (closing_) return done(Error(503, "server is shutting down"));
  const std::int64_t now = clock_.NowMs();
  std::unique_lock lk(map_mu_);

  // An existing stream at this path: identical config -> 200, else 409.
  if (auto it = by_path_.find(args.path); it != by_path_.end()) {
    StreamHandle s = it->second;
    if (!s->unavailable.empty()) {
      lk.unlock();
      return done(Error(503, "stream unavailable: " + s->unavailable));
    }
    if (s->meta.soft_deleted) {
      lk.unlock();
      return done(Error(409, "a deleted stream with live forks still holds this path"));
    }
    if (s->Expired(now)) {
      ExpireLocked(s);
      if (s->meta.soft_deleted) {
        lk.unlock();
        return done(Error(409, "an expired stream with live forks still holds this path"));
      }
    } else {
      lk.unlock();
      if (!SameConfig(*s, args)) return done(Error(409, "stream exists with a different configuration"));
      Reply r;
      r.status = 200;
      FillInfo(*s, &r);
      return done(std::move(r));
    }
  }

  // A shared store may refuse the creation (another server made the path first): then it is
  // answered from the store's stream, as an idempotent create.
  std::optional<CreateArgs> retry;
  if (shared_) retry = args;
  auto s = std::make_shared<Stream>();
  StreamMeta& meta = s->meta;
  std::vector<Batch> batches;
  std::string content_type = args.content_type.value_or(std::string(kDefaultContentType));

  if (args.fork_from) {
    auto it = by_path_.find(*args.fork_from);
    if (it == by_path_.end()) return done(Error(404, "fork source not found"));
    StreamHandle src = it->second;
    if (src->meta.soft_deleted) return done(Error(409, "fork source was deleted"));
    if (src->Expired(now)) {
      ExpireLocked(src);
      return done(Error(404, "fork source not found"));
    }
    std::uint64_t src_tail;
    {
      std::lock_guard rl(src->read_mu);
      if (!src->ready || src->gone) return done(Error(404, "fork source not found"));
      src_tail = src->tail;
    }
    if (args.content_type && NormalizeContentType(*args.content_type) != src->ct_normalized) {
      return done(Error(409, "content type does not match the fork source's"));
    }
    if (!args.content_type) content_type = src->meta.content_type;
    const std::uint64_t point = args.fork_offset.value_or(src_tail);
    if (point > src_tail) return done(Error(400, "Stream-Fork-Offset is beyond the source's tail"));
    if (args.fork_sub_offset > 0) {
      // The prefix comes from the single append that starts exactly at the fork point.
      auto chunk = ReadChain(*src, point, src_tail, options_.max_read_bytes);
      if (!chunk.ok()) return done(Error(503, chunk.status().message()));
      if (chunk->messages.empty() || chunk->begin != point || !chunk->messages[0].first) {
        return done(Error(400, "Stream-Fork-Sub-Offset has no append at the fork offset"));
      }
      Batch prefix;
      if (src->json) {
        std::size_t n = 1;
        while (n < chunk->messages.size() && !chunk->messages[n].first) ++n;
        if (args.fork_sub_offset > n) return done(Error(400, "Stream-Fork-Sub-Offset overshoots the append"));
        std::uint64_t pos = point;
        for (std::size_t i = 0; i < args.fork_sub_offset; ++i) {
          prefix.sizes.push_back(static_cast<std::uint32_t>(chunk->messages[i].end - pos));
          pos = chunk->messages[i].end;
        }
        prefix.payload = chunk->data.substr(0, pos - point);
      } else {
        const std::uint64_t size = chunk->messages[0].end - point;
        if (args.fork_sub_offset > size) return done(Error(400, "Stream-Fork-Sub-Offset overshoots the append"));
        prefix.payload = chunk->data.substr(0, args.fork_sub_offset);
        prefix.sizes.push_back(static_cast<std::uint32_t>(args.fork_sub_offset));
      }
      batches.push_back(std::move(prefix));
    }
    meta.fork_source = src->meta.id;
    meta.base_offset = point;
    meta.fork_sub_offset = args.fork_sub_offset;
    meta.fork_offset_given = args.fork_offset.has_value();
    if (!args.ttl_seconds && !args.expires_at) {
      meta.ttl_seconds = src->meta.ttl_seconds;
      meta.expires_at = src->meta.expires_at;
      meta.expires_at_ms = src->meta.expires_at_ms;
    }
    s->source = src;
    s->fork_from_path = *args.fork_from;
  }
  if (args.ttl_seconds || args.expires_at) {
    meta.ttl_seconds = args.ttl_seconds;
    meta.expires_at = args.expires_at;
    meta.expires_at_ms = args.expires_at_ms;
  }
  s->ct_normalized = NormalizeContentType(content_type);
  s->json = s->ct_normalized == "application/json";
  if (!args.body.empty()) {
    if (s->json) {
      auto batch = JsonBatchFromBody(args.body, /*allow_empty=*/true);
      if (!batch.ok()) return done(Error(400, batch.status().message()));
      if (!batch->empty()) batches.push_back(std::move(batch).value());
    } else {
      Batch b;
      b.sizes.push_back(static_cast<std::uint32_t>(args.body.size()));
      b.payload = std::move(args.body);
      batches.push_back(std::move(b));
    }
  }

  meta.id = store_->NewId(next_id_++);
  meta.path = args.path;
  meta.content_type = std::move(content_type);
  meta.created_ms = now;
  s->last_access_ms = now;
  std::uint64_t tail = meta.base_offset;
  for (const Batch& b : batches) tail += b.payload.size();
  s->tail = meta.base_offset;
  s->pending_tail = tail;
  s->pending_closed = args.closed;
  if (s->source) s->source->fork_refs++;
  by_path_[meta.path] = s;
  stats_.streams++;
  stats_.creates++;

  std::unique_lock wl(s->write_mu);
  s->submitted++;
  CreateOp op{meta, std::move(batches), args.closed, 0, std::nullopt};
  if (shared_) {
    op.new_version = s->pending_version = NextVersion();
    op.fork_source_path = args.fork_from;
  }
  lk.unlock();
  const bool closed = args.closed;
  const std::uint64_t version = op.new_version;
  store_->Create(std::move(op), [this, s, tail, closed, version, retry = std::move(retry),
                                 done = std::move(done)](Status st) mutable {
    if (!st.ok() && shared_) {
      // Not created. Forget our record (the store comes back; the path must not stay taken).
      // Conflict: another server created this path first: fetch theirs, answer as PUT does.
      {
        std::unique_lock lk(map_mu_);
        {
          std::lock_guard rl(s->read_mu);
          s->completed++;
          s->gone = true;
        }
        auto it = by_path_.find(s->meta.path);
        if (it != by_path_.end() && it->second == s) {
          by_path_.erase(it);
          stats_.streams--;
          stats_.creates--;
        }
        if (s->source) s->source->fork_refs--;
      }
      if (st.code() != Code::kConflict) return done(Error(503, "cannot create stream: " + st.message()));
      const std::string path = s->meta.path;
      Sync(path, [this, retry = std::move(retry), done = std::move(done)]() mutable {
        Create(std::move(*retry), std::move(done));
      });
      return;
    }
    if (!st.ok()) {
      s->failed = true;
      {
        std::lock_guard rl(s->read_mu);
        s->completed++;
        s->gone = true;
      }
      return done(Error(503, "cannot create stream: " + st.message()));
    }
    Reply r;
    r.status = 201;
    r.closed_header = closed;
    {
      std::lock_guard rl(s->read_mu);
      s->tail = tail;
      s->closed = closed;
      s->ready = true;
      s->completed++;
      s->version = version;
    }
    FillInfo(*s, &r);
    done(std::move(r));
  });
}

}  // namespace dsx::session
