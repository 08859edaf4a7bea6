// StreamService reads: catch-up across a fork chain, framing (raw bytes or JSON array).
#include <algorithm>
#include <mutex>

#include "session/model/json_mode.hpp"
#include "session/model/offset.hpp"
#include "session/model/protocol_values.hpp"
#include "session/model/stream_record.hpp"
#include "session/model/stream_service.hpp"

namespace dsx::session {

Result<ReadChunk> StreamService::ReadChain(const Stream& s, std::uint64_t from, std::uint64_t end,
                                           std::size_t max_bytes) const {
  // Segments from the root ancestor down to `s`: [lo, hi) of each stream's own log.
  struct Segment {
    const Stream* stream;
    std::uint64_t lo, hi;
  };
  Segment segs[32];
  std::size_t n = 0;
  std::uint64_t hi = end;
  for (const Stream* cur = &s; cur != nullptr && n < 32; cur = cur->source.get()) {
    segs[n++] = Segment{cur, cur->meta.base_offset, hi};
    hi = std::min(hi, cur->meta.base_offset);
  }
  std::reverse(segs, segs + n);

  ReadChunk out;
  out.begin = from;
  std::uint64_t pos = from;
  for (std::size_t i = 0; i < n; ++i) {
    const Segment& g = segs[i];
    if (g.hi <= g.lo || g.hi <= pos) continue;
    const std::size_t budget = max_bytes > out.data.size() ? max_bytes - out.data.size() : 1;
    auto r = store_->Read(g.stream->meta.id, std::max(pos, g.lo), g.hi, budget);
    if (!r.ok()) return r.status();
    ReadChunk& c = *r;
    if (c.messages.empty()) continue;
    if (out.messages.empty()) out.begin = c.begin;
    // A fork point inside a message: cut the inherited message at the fork point.
    std::size_t keep = c.messages.size();
    if (c.messages.back().end > g.hi) {
      const std::uint64_t cut = g.hi - c.begin;
      c.data.resize(cut);
      c.messages.back().end = g.hi;
      if (cut == 0) keep = 0;
    }
    out.data.append(c.data);
    out.messages.insert(out.messages.end(), c.messages.begin(), c.messages.begin() + keep);
    pos = out.messages.empty() ? pos : out.messages.back().end;
    if (out.data.size() >= max_bytes) break;
  }
  return out;
}

ReadReply StreamService::Read(const std::string& path, const OffsetParam& offset) {
  const std::int64_t now = clock_.NowMs();
  ReadReply rr;
  StreamHandle s = Find(path, now, &rr.reply);
  if (!s) return rr;
  std::uint64_t from = 0;
  if (offset.kind == OffsetParam::Kind::kAt) from = offset.position;
  if (offset.kind == OffsetParam::Kind::kNow) {
    std::lock_guard rl(s->read_mu);
    from = s->tail;
  }
  return ReadFrom(s, from);
}

StreamService::TailState StreamService::Peek(const StreamHandle& s) {
  NoteAccess(s, clock_.NowMs());
  std::lock_guard rl(s->read_mu);
  return TailState{s->gone, s->tail, s->closed};
}

ReadReply StreamService::ReadFrom(const StreamHandle& s, std::uint64_t from) {
  ReadReply rr;
  rr.stream = s;
  rr.json = s->json;
  NoteAccess(s, clock_.NowMs());
  std::uint64_t tail;
  bool closed;
  {
    std::lock_guard rl(s->read_mu);
    if (s->gone) {
      rr.reply.status = 404;
      rr.reply.error = "stream not found";
      return rr;
    }
    tail = s->tail;
    closed = s->closed;
  }
  if (from >= tail && !closed && store_down_.load()) {
    // Caught up, and what other servers write cannot reach this one (CheckStoreHealth): a
    // reader told "up to date" would wait for nothing. It retries, elsewhere if it can.
    std::lock_guard lk(health_mu_);
    rr.reply.status = 503;
    rr.reply.error = "shared store unreachable (" + store_down_reason_ +
                     "): this server cannot see new writes; retry, or read through another server";
    return rr;
  }
  rr.reply.status = 200;
  rr.reply.has_info = true;
  rr.reply.info.content_type = s->meta.content_type;
  rr.reply.info.tail = tail;
  rr.reply.info.closed = closed;
  rr.next = std::max(from, tail);
  if (from < tail) {
    auto chunk = ReadChain(*s, from, tail, options_.max_read_bytes);
    if (!chunk.ok()) {
      rr.reply.status = 503;
      rr.reply.error = chunk.status().message();
      return rr;
    }
    ReadChunk& c = *chunk;
    if (!c.messages.empty()) {
      if (s->json) {
        // In JSON mode offsets are message boundaries: every offset the server hands out is
        // one. An offset inside a message was made up (or belongs to another stream), and
        // reading on from the next boundary would silently skip the rest of that message:
        // refuse it (docs/protocol/streams.md, Offsets).
        std::size_t first = 0;
        std::uint64_t start = c.begin;
        while (first < c.messages.size() && start < from) start = c.messages[first++].end;
        // A chunk that begins past `from` follows a range the file store lost and recorded
        // (docs/formats/segment-log.md, Recovery): reading goes on at its first message.
        if (start != from && c.begin <= from) {
          rr.reply.status = 400;
          rr.reply.has_info = false;
          rr.reply.error =
              "offset " + FormatOffset(from) + " is inside a message (JSON offsets are message boundaries)";
          return rr;
        }
        const std::size_t count = c.messages.size() - first;
        std::vector<std::uint32_t> sizes(count);
        std::uint64_t p = start;
        for (std::size_t i = 0; i < count; ++i) {
          sizes[i] = static_cast<std::uint32_t>(c.messages[first + i].end - p);
          p = c.messages[first + i].end;
        }
        if (count > 0) {
          AppendJsonArray(rr.body, std::string_view(c.data).substr(start - c.begin), sizes.data(), count);
        }
        rr.messages = count;
      } else {
        const std::uint64_t skip = from > c.begin ? from - c.begin : 0;
        rr.body = skip ? c.data.substr(skip) : std::move(c.data);
        rr.messages = c.messages.size();
      }
      rr.next = c.messages.back().end;
    }
  }
  if (rr.messages == 0 && s->json) rr.body = "[]";
  rr.up_to_date = rr.next >= tail;
  rr.closed_at_end = closed && rr.up_to_date;
  return rr;
}

}  // namespace dsx::session
