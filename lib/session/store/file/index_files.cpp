// Index and checkpoint files: see index_files.hpp.
#include "session/store/file/index_files.hpp"

#include "core/hash.hpp"
#include "session/store/file/coding.hpp"
#include "session/store/file/segment_format.hpp"

namespace dsx::session::filestore {
namespace {

void Seal(std::string& out) { PutU32(out, hash::MaskCrc(hash::Crc32c(out.data(), out.size()))); }

// Body without the trailing CRC, or nullopt when the CRC does not match.
std::optional<std::string_view> Unseal(std::string_view bytes, std::string_view magic) {
  if (bytes.size() < magic.size() + 4 || bytes.substr(0, magic.size()) != magic) return std::nullopt;
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (hash::UnmaskCrc(LoadU32(bytes.data() + body.size())) != hash::Crc32c(body.data(), body.size()))
    return std::nullopt;
  return body.substr(magic.size());
}

}  // namespace

std::string EncodeIndex(const SegmentIndex& idx) {
  std::string out(kIndexMagic);
  PutU64(out, idx.segment);
  PutU64(out, idx.segment_size);
  PutU32(out, static_cast<std::uint32_t>(idx.entries.size()));
  for (const auto& e : idx.entries) {
    PutU64(out, e.lid);
    PutU64(out, e.start_offset);
    PutU64(out, e.record_pos);
    PutU32(out, e.record_len);
    PutU32(out, e.data_len);
    PutU32(out, e.msg_count);
    PutU32(out, e.data_off);
  }
  Seal(out);
  return out;
}

std::optional<SegmentIndex> DecodeIndex(std::string_view bytes) {
  auto body = Unseal(bytes, kIndexMagic);
  if (!body) return std::nullopt;
  Decoder d(*body);
  SegmentIndex idx;
  idx.segment = d.U64();
  idx.segment_size = d.U64();
  std::uint32_t n = d.U32();
  if (!d.ok() || d.remaining() != std::size_t{n} * kIndexEntrySize) return std::nullopt;
  idx.entries.resize(n);
  for (auto& e : idx.entries) {
    e.lid = d.U64();
    e.start_offset = d.U64();
    e.record_pos = d.U64();
    e.record_len = d.U32();
    e.data_len = d.U32();
    e.msg_count = d.U32();
    e.data_off = d.U32();
  }
  if (!d.done()) return std::nullopt;
  return idx;
}

std::string EncodeCheckpoint(const Checkpoint& cp) {
  std::string out(kCheckpointMagic);
  PutU64(out, cp.replay_segment);
  PutU64(out, cp.next_lid);
  PutU32(out, static_cast<std::uint32_t>(cp.streams.size()));
  for (const auto& s : cp.streams) {
    const StreamState& st = s.state;
    const bool recovery = st.unavailable || !s.lost.empty() || s.loss_unbounded;
    PutU64(out, s.lid);
    PutMeta(out, st.meta, recovery ? kMetaHasRecoveryState : 0);
    PutU64(out, st.tail);
    PutU8(out, st.closed ? 1 : 0);
    PutU8(out, st.stream_seq ? 1 : 0);
    if (st.stream_seq) PutStr(out, *st.stream_seq);
    PutU32(out, static_cast<std::uint32_t>(st.producers.size()));
    for (const auto& [id, p] : st.producers) {
      PutStr(out, id);
      PutU64(out, p.epoch);
      PutU64(out, p.last_seq);
    }
    PutU8(out, st.closed_by ? 1 : 0);
    if (st.closed_by) {
      PutStr(out, st.closed_by->id);
      PutU64(out, st.closed_by->epoch);
      PutU64(out, st.closed_by->seq);
    }
    PutU64(out, st.message_count);
    if (recovery) {
      PutU8(out, s.loss_unbounded ? 1 : 0);
      PutStr(out, st.unavailable.value_or(""));
      PutU32(out, static_cast<std::uint32_t>(s.lost.size()));
      for (const auto& r : s.lost) {
        PutU64(out, r.begin);
        PutU64(out, r.end);
      }
    }
  }
  Seal(out);
  return out;
}

std::optional<Checkpoint> DecodeCheckpoint(std::string_view bytes) {
  auto body = Unseal(bytes, kCheckpointMagic);
  if (!body) return std::nullopt;
  Decoder d(*body);
  Checkpoint cp;
  cp.replay_segment = d.U64();
  cp.next_lid = d.U64();
  std::uint32_t n = d.U32();
  for (std::uint32_t i = 0; i < n && d.ok(); ++i) {
    CheckpointStream s;
    StreamState& st = s.state;
    s.lid = d.U64();
    std::uint32_t flags = 0;
    GetMeta(d, &st.meta, &flags);
    st.tail = d.U64();
    st.closed = d.U8() != 0;
    if (d.U8() != 0) st.stream_seq = d.Str();
    std::uint32_t np = d.U32();
    for (std::uint32_t j = 0; j < np && d.ok(); ++j) {
      std::string id = d.Str();
      ProducerState p;
      p.epoch = d.U64();
      p.last_seq = d.U64();
      st.producers[id] = p;
    }
    if (d.U8() != 0) {
      ProducerTuple t;
      t.id = d.Str();
      t.epoch = d.U64();
      t.seq = d.U64();
      st.closed_by = std::move(t);
    }
    st.message_count = d.U64();
    if (flags & kMetaHasRecoveryState) {
      s.loss_unbounded = (d.U8() & 1) != 0;
      std::string why = d.Str();
      if (!why.empty()) st.unavailable = std::move(why);
      std::uint32_t nl = d.U32();
      if (!d.ok() || nl > d.remaining() / 16) return std::nullopt;
      for (std::uint32_t j = 0; j < nl; ++j) {
        LostRange r{d.U64(), d.U64()};
        if (r.end <= r.begin || (!s.lost.empty() && r.begin < s.lost.back().end)) return std::nullopt;
        s.lost.push_back(r);
      }
    }
    cp.streams.push_back(std::move(s));
  }
  if (!d.done()) return std::nullopt;
  return cp;
}

}  // namespace dsx::session::filestore
