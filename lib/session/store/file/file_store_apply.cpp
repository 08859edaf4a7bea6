// ApplyRecord: the one place a record changes the registry, used both by recovery (replaying
// the log) and by the writer (after a batch is written), so the state a client was answered
// with and the state a restart recovers are computed by the same code. Caller holds mu_.
#include <algorithm>

#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore {

void FileStore::AddExtent(StreamRec& s, const Extent& e) {
  auto& ex = s.extents;
  if (ex.empty() || ex.back().start < e.start) {
    ex.push_back(e);  // the common case: an append
  } else {
    auto it =
        std::lower_bound(ex.begin(), ex.end(), e.start, [](const Extent& x, std::uint64_t v) { return x.start < v; });
    if (it != ex.end() && it->start == e.start) {
      ReleaseExtent(*it);
      *it = e;
    } else {
      ex.insert(it, e);  // replay of a relocation whose old segment is already gone
    }
  }
  Segment& seg = segments_.at(e.segment);
  seg.live_extents++;
  seg.live_bytes += e.record_len;
}

void FileStore::ReleaseExtent(const Extent& e) {
  auto seg = segments_.find(e.segment);
  if (seg == segments_.end()) return;
  seg->second.live_bytes -= std::min<std::uint64_t>(seg->second.live_bytes, e.record_len);
  if (--seg->second.live_extents == 0 && seg->second.sealed) dead_segments_.push_back(e.segment);
}

std::string FileStore::ApplyRecord(RecordType type, std::string_view payload, std::uint64_t segment, std::uint64_t pos,
                                   std::uint32_t record_len, std::vector<IndexEntry>* index,
                                   Result<AppendResult>* result) {
  auto add_batch = [&](StreamRec& s, LogId lid, const BatchRef& b) {
    mu_.AssertHeld();  // called only from here (the analysis does not follow into lambdas)
    if (b.msg_count == 0) return;
    Extent e{s.state.tail, b.data_len, segment, pos, record_len, b.data_off, b.msg_count};
    AddExtent(s, e);
    if (index)
      index->push_back(
          {lid, e.start, pos, record_len, static_cast<std::uint32_t>(b.data_len), b.msg_count, b.data_off});
    s.state.tail += b.data_len;
    s.state.message_count += b.msg_count;
  };

  switch (type) {
    case RecordType::kCreate: {
      auto r = DecodeCreate(payload);
      if (!r) return "bad create record";
      std::shared_ptr<StreamRec> s;
      if (auto it = by_lid_.find(r->lid); it != by_lid_.end()) {
        s = it->second;  // queued by Create(): registered, not yet committed
        if (s->committed) return "stream created twice";
      } else {
        if (streams_.count(r->meta.id)) return "stream id " + std::to_string(r->meta.id) + " created twice";
        s = std::make_shared<StreamRec>();
        s->lid = r->lid;
        streams_[r->meta.id] = s;
        by_lid_[r->lid] = s;
      }
      s->committed = true;
      s->state = StreamState{};
      s->state.meta = std::move(r->meta);
      s->state.tail = s->state.meta.base_offset;
      s->state.closed = r->closed;
      for (const auto& b : r->batches) add_batch(*s, r->lid, b);
      s->pending_tail = std::max(s->pending_tail, s->state.tail);
      next_lid_ = std::max(next_lid_, r->lid + 1);
      return {};
    }
    case RecordType::kAppend: {
      auto r = DecodeAppend(payload);
      if (!r) return "bad append record";
      auto it = by_lid_.find(r->lid);
      if (it == by_lid_.end() || !it->second->committed) return "append to an unknown stream";
      StreamRec& s = *it->second;
      if (r->start_offset != s.state.tail)
        return "append at offset " + std::to_string(r->start_offset) + " but the stream ends at " +
               std::to_string(s.state.tail);
      add_batch(s, r->lid, r->batch);
      if (r->stream_seq) s.state.stream_seq = std::move(r->stream_seq);
      if (r->producer) s.state.producers[r->producer->id] = ProducerState{r->producer->epoch, r->producer->seq};
      if (r->close) {
        s.state.closed = true;
        s.state.closed_by = r->producer;
      }
      s.pending_tail = std::max(s.pending_tail, s.state.tail);
      if (result) *result = AppendResult{s.state.tail};
      return {};
    }
    case RecordType::kRelocate: {
      auto r = DecodeRelocate(payload);
      if (!r) return "bad relocate record";
      auto it = by_lid_.find(r->lid);
      if (it == by_lid_.end() || !it->second->committed) return "relocation for an unknown stream";
      StreamRec& s = *it->second;
      const BatchRef& b = r->batch;
      if (r->start_offset < s.state.meta.base_offset || r->start_offset + b.data_len > s.state.tail)
        return "relocation outside the stream";
      auto old = std::lower_bound(s.extents.begin(), s.extents.end(), r->start_offset,
                                  [](const Extent& x, std::uint64_t v) { return x.start < v; });
      if (old != s.extents.end() && old->start == r->start_offset &&
          (old->len != b.data_len || old->msg_count != b.msg_count))
        return "relocation does not match the batch it moves";
      AddExtent(s, Extent{r->start_offset, b.data_len, segment, pos, record_len, b.data_off, b.msg_count});
      if (index)
        index->push_back({r->lid, r->start_offset, pos, record_len, static_cast<std::uint32_t>(b.data_len), b.msg_count,
                          b.data_off});
      return {};
    }
    case RecordType::kSoftDelete:
    case RecordType::kDrop: {
      auto lid = DecodeLid(payload);
      if (!lid) return "bad delete record";
      auto it = by_lid_.find(*lid);
      if (it == by_lid_.end() || !it->second->committed) return "delete of an unknown stream";
      std::shared_ptr<StreamRec> s = it->second;
      if (type == RecordType::kSoftDelete) {
        s->state.meta.soft_deleted = true;
        return {};
      }
      for (const auto& e : s->extents) ReleaseExtent(e);
      s->extents.clear();
      by_lid_.erase(it);
      if (auto sit = streams_.find(s->state.meta.id); sit != streams_.end() && sit->second == s) streams_.erase(sit);
      return {};
    }
  }
  return "bad record type";
}

}  // namespace dsx::session::filestore
