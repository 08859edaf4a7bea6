// Encoding and decoding of segment-log records (docs/formats/segment-log.md, "Record types").
// A record is built in one string: 9 header bytes, then the payload; FinishRecord fills the
// header (length, type, masked CRC-32C over type ++ payload).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "session/store/file/coding.hpp"
#include "session/store/file/segment_format.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session::filestore {

// Internal log id of one stream incarnation: assigned by the store, never reused, so records of
// a dropped stream can never attach to a later stream that got the same service id.
using LogId = std::uint64_t;

// Where one batch's `data` structure sits inside a record payload.
struct BatchRef {
  std::uint32_t data_off = 0;  // offset of `u32 count` within the payload [bytes]
  std::uint32_t msg_count = 0;
  std::uint64_t data_len = 0;  // sum of message sizes [bytes]
};

struct CreateRecord {
  LogId lid = 0;
  StreamMeta meta;
  bool closed = false;
  std::vector<BatchRef> batches;
};

struct AppendRecord {
  LogId lid = 0;
  std::uint64_t start_offset = 0;
  bool close = false;
  std::optional<std::string> stream_seq;
  std::optional<ProducerTuple> producer;
  BatchRef batch;
};

// A record: 9 reserved header bytes; append the payload, then FinishRecord.
std::string BeginRecord();
void FinishRecord(std::string& rec, RecordType type);

// StreamMeta as stored in kCreate records and in the CHECKPOINT.
// `extra_flags`: flag bits that are not StreamMeta fields (kMetaHasRecoveryState); GetMeta
// returns every flag read in `flags`.
void PutMeta(std::string& out, const StreamMeta& meta, std::uint32_t extra_flags = 0);
void GetMeta(Decoder& d, StreamMeta* meta, std::uint32_t* flags = nullptr);  // errors leave d.ok() false

void EncodeCreate(std::string& rec, LogId lid, const StreamMeta& meta, bool closed, const std::vector<Batch>& batches);
void EncodeAppend(std::string& rec, LogId lid, std::uint64_t start_offset, const AppendOp& op);
void EncodeLid(std::string& rec, LogId lid);  // kSoftDelete, kDrop
// kRelocate: the batch of stream `lid` that starts at `start_offset`, copied (compaction).
void EncodeRelocate(std::string& rec, LogId lid, std::uint64_t start_offset, const std::vector<std::uint32_t>& sizes,
                    std::string_view bytes);

struct RelocateRecord {
  LogId lid = 0;
  std::uint64_t start_offset = 0;
  BatchRef batch;
};

// Decoders: nullopt when the payload does not parse (treated as corruption).
std::optional<CreateRecord> DecodeCreate(std::string_view payload);
std::optional<AppendRecord> DecodeAppend(std::string_view payload);
std::optional<LogId> DecodeLid(std::string_view payload);
std::optional<RelocateRecord> DecodeRelocate(std::string_view payload);

// Parse a batch's data structure at `ref.data_off` of `payload`: message sizes and bytes.
// False when it does not fit.
bool DecodeBatchData(std::string_view payload, std::uint32_t data_off, std::vector<std::uint32_t>* sizes,
                     std::string_view* bytes);

// Header checks shared by the scanner and the reader. Returns "" when `header` (9 bytes) and
// `payload` form a valid record, else the reason ("checksum mismatch", "bad record type"...).
std::string_view CheckRecord(std::string_view header, std::string_view payload);

}  // namespace dsx::session::filestore
