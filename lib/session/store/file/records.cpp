// Record encoding: see records.hpp and docs/formats/segment-log.md.
#include "session/store/file/records.hpp"

#include <cassert>

#include "core/hash.hpp"
#include "session/store/file/coding.hpp"

namespace dsx::session::filestore {
namespace {

void PutBatchData(std::string& out, const Batch& b) {
  assert(b.payload.size() == [&] {
    std::uint64_t n = 0;
    for (auto s : b.sizes) n += s;
    return n;
  }());
  PutU32(out, static_cast<std::uint32_t>(b.sizes.size()));
  for (auto s : b.sizes) PutU32(out, s);
  out.append(b.payload);
}

// Reads a data structure at the decoder's position; fills `ref` relative to the payload start.
bool GetBatchRef(Decoder& d, BatchRef* ref) {
  ref->data_off = static_cast<std::uint32_t>(d.pos());
  std::uint32_t count = d.U32();
  if (!d.ok() || count > d.remaining() / 4) return false;
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < count; ++i) total += d.U32();
  if (!d.ok() || total > d.remaining()) return false;
  d.Bytes(static_cast<std::size_t>(total));
  ref->msg_count = count;
  ref->data_len = total;
  return d.ok();
}

}  // namespace

std::string BeginRecord() { return std::string(kRecordHeaderSize, '\0'); }

void FinishRecord(std::string& rec, RecordType type) {
  assert(rec.size() >= kRecordHeaderSize);
  const std::size_t payload = rec.size() - kRecordHeaderSize;
  assert(payload <= kMaxRecordPayload);
  StoreU32(&rec[4], static_cast<std::uint32_t>(payload));
  rec[8] = static_cast<char>(type);
  // The CRC covers the type byte and the payload: bytes [8, end).
  StoreU32(&rec[0], hash::MaskCrc(hash::Crc32c(rec.data() + 8, rec.size() - 8)));
}

void PutMeta(std::string& out, const StreamMeta& m, std::uint32_t extra_flags) {
  std::uint32_t flags = extra_flags;
  if (m.ttl_seconds) flags |= kMetaHasTtl;
  if (m.expires_at) flags |= kMetaHasExpiresAt;
  if (m.expires_at_ms) flags |= kMetaHasExpiresAtMs;
  if (m.fork_source) flags |= kMetaHasForkSource;
  if (m.fork_offset_given) flags |= kMetaForkOffsetGiven;
  if (m.soft_deleted) flags |= kMetaSoftDeleted;
  PutU32(out, flags);
  PutU64(out, m.id);
  PutStr(out, m.path);
  PutStr(out, m.content_type);
  PutU64(out, m.ttl_seconds.value_or(0));
  PutStr(out, m.expires_at.value_or(""));
  PutI64(out, m.expires_at_ms.value_or(0));
  PutU64(out, m.fork_source.value_or(0));
  PutU64(out, m.base_offset);
  PutU64(out, m.fork_sub_offset);
  PutI64(out, m.created_ms);
}

void GetMeta(Decoder& d, StreamMeta* m, std::uint32_t* flags_out) {
  std::uint32_t flags = d.U32();
  if (flags_out) *flags_out = flags;
  m->id = d.U64();
  m->path = d.Str();
  m->content_type = d.Str();
  std::uint64_t ttl = d.U64();
  std::string expires_at = d.Str();
  std::int64_t expires_at_ms = d.I64();
  std::uint64_t fork_source = d.U64();
  m->base_offset = d.U64();
  m->fork_sub_offset = d.U64();
  m->created_ms = d.I64();
  if (flags & kMetaHasTtl) m->ttl_seconds = ttl;
  if (flags & kMetaHasExpiresAt) m->expires_at = std::move(expires_at);
  if (flags & kMetaHasExpiresAtMs) m->expires_at_ms = expires_at_ms;
  if (flags & kMetaHasForkSource) m->fork_source = fork_source;
  m->fork_offset_given = flags & kMetaForkOffsetGiven;
  m->soft_deleted = flags & kMetaSoftDeleted;
}

void EncodeCreate(std::string& rec, LogId lid, const StreamMeta& m, bool closed, const std::vector<Batch>& batches) {
  PutU64(rec, lid);
  PutMeta(rec, m);
  PutU8(rec, closed ? 1 : 0);
  PutU32(rec, static_cast<std::uint32_t>(batches.size()));
  for (const auto& b : batches) PutBatchData(rec, b);
}

void EncodeAppend(std::string& rec, LogId lid, std::uint64_t start_offset, const AppendOp& op) {
  std::uint8_t flags = 0;
  if (op.close) flags |= kAppendCloses;
  if (op.stream_seq) flags |= kAppendHasSeq;
  if (op.producer) flags |= kAppendHasProducer;
  PutU64(rec, lid);
  PutU64(rec, start_offset);
  PutU8(rec, flags);
  if (op.stream_seq) PutStr(rec, *op.stream_seq);
  if (op.producer) {
    PutStr(rec, op.producer->id);
    PutU64(rec, op.producer->epoch);
    PutU64(rec, op.producer->seq);
  }
  PutBatchData(rec, op.batch);
}

void EncodeLid(std::string& rec, LogId lid) { PutU64(rec, lid); }

void EncodeRelocate(std::string& rec, LogId lid, std::uint64_t start_offset, const std::vector<std::uint32_t>& sizes,
                    std::string_view bytes) {
  PutU64(rec, lid);
  PutU64(rec, start_offset);
  PutU32(rec, static_cast<std::uint32_t>(sizes.size()));
  for (auto s : sizes) PutU32(rec, s);
  rec.append(bytes);
}

std::optional<RelocateRecord> DecodeRelocate(std::string_view payload) {
  Decoder d(payload);
  RelocateRecord r;
  r.lid = d.U64();
  r.start_offset = d.U64();
  if (!d.ok() || !GetBatchRef(d, &r.batch) || !d.done() || r.batch.msg_count == 0) return std::nullopt;
  return r;
}

std::optional<CreateRecord> DecodeCreate(std::string_view payload) {
  Decoder d(payload);
  CreateRecord r;
  r.lid = d.U64();
  GetMeta(d, &r.meta);
  r.closed = d.U8() != 0;
  std::uint32_t nbatches = d.U32();
  if (!d.ok() || nbatches > d.remaining() / 4) return std::nullopt;
  for (std::uint32_t i = 0; i < nbatches; ++i) {
    BatchRef ref;
    if (!GetBatchRef(d, &ref)) return std::nullopt;
    r.batches.push_back(ref);
  }
  if (!d.done()) return std::nullopt;
  return r;
}

std::optional<AppendRecord> DecodeAppend(std::string_view payload) {
  Decoder d(payload);
  AppendRecord r;
  r.lid = d.U64();
  r.start_offset = d.U64();
  std::uint8_t flags = d.U8();
  r.close = flags & kAppendCloses;
  if (flags & kAppendHasSeq) r.stream_seq = d.Str();
  if (flags & kAppendHasProducer) {
    ProducerTuple p;
    p.id = d.Str();
    p.epoch = d.U64();
    p.seq = d.U64();
    r.producer = std::move(p);
  }
  if (!d.ok() || !GetBatchRef(d, &r.batch) || !d.done()) return std::nullopt;
  return r;
}

std::optional<LogId> DecodeLid(std::string_view payload) {
  Decoder d(payload);
  LogId lid = d.U64();
  if (!d.done()) return std::nullopt;
  return lid;
}

bool DecodeBatchData(std::string_view payload, std::uint32_t data_off, std::vector<std::uint32_t>* sizes,
                     std::string_view* bytes) {
  if (data_off > payload.size()) return false;
  Decoder d(payload.substr(data_off));
  std::uint32_t count = d.U32();
  if (!d.ok() || count > d.remaining() / 4) return false;
  sizes->resize(count);
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < count; ++i) total += (*sizes)[i] = d.U32();
  if (total > d.remaining()) return false;
  *bytes = d.Bytes(static_cast<std::size_t>(total));
  return d.ok();
}

std::string_view CheckRecord(std::string_view header, std::string_view payload) {
  if (header.size() < kRecordHeaderSize) return "truncated header";
  std::uint32_t len = LoadU32(header.data() + 4);
  auto type = static_cast<std::uint8_t>(header[8]);
  if (len > kMaxRecordPayload) return "bad record length";
  if (type == 0 || type > kMaxRecordType) return "bad record type";
  if (payload.size() < len) return "truncated record";
  std::uint32_t crc = hash::Crc32cExtend(hash::Crc32c(header.data() + 8, 1), payload.data(), len);
  if (hash::MaskCrc(crc) != LoadU32(header.data())) return "checksum mismatch";
  return {};
}

}  // namespace dsx::session::filestore
