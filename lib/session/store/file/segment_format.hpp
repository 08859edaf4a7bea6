// Constants of the segment-log format, shared by the writer, the recovery scanner and the
// index files. The format is specified in docs/formats/segment-log.md: change both together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dsx::session::filestore {

// Segment file header: magic + u64 segment number (little-endian).
inline constexpr std::string_view kSegmentMagic = "DSXSEG01";
inline constexpr std::size_t kSegmentHeaderSize = 16;
// Record header: u32 masked crc32c(type ++ payload) | u32 payload length | u8 type.
inline constexpr std::size_t kRecordHeaderSize = 9;
// Upper bound on one record's payload (1 GiB, far above the HTTP body limit); a larger length
// field is corruption [bytes].
inline constexpr std::uint32_t kMaxRecordPayload = 1u << 30;
// The writer rolls to a new segment once the active one reaches this size [bytes].
inline constexpr std::uint64_t kSegmentTargetSize = 64ull << 20;
// The writer keeps 1 to 2 chunks of zeros written ahead of the last record in the active segment
// (file_store_prefill.cpp); a segment's valid records may therefore be followed by zeros [bytes].
inline constexpr std::uint64_t kPrefillChunk = 1ull << 20;

inline constexpr std::string_view kIndexMagic = "DSXIDX01";
inline constexpr std::size_t kIndexEntrySize = 40;
inline constexpr std::string_view kCheckpointMagic = "DSXCKP01";

static_assert(kSegmentMagic.size() == 8 && kIndexMagic.size() == 8 && kCheckpointMagic.size() == 8);

enum class RecordType : std::uint8_t {
  kCreate = 1,      // a new stream: metadata, closed flag, initial batches
  kAppend = 2,      // one batch + producer / Stream-Seq / close, atomically
  kSoftDelete = 3,  // stream marked soft-deleted (forks still read it)
  kDrop = 4,        // stream removed; its data may be freed
  kRelocate = 5,    // compaction: a live batch copied out of a mostly dead segment
};
inline constexpr std::uint8_t kMaxRecordType = 5;

// kAppend flags.
inline constexpr std::uint8_t kAppendCloses = 1u << 0;
inline constexpr std::uint8_t kAppendHasSeq = 1u << 1;
inline constexpr std::uint8_t kAppendHasProducer = 1u << 2;
// StreamMeta flags (kCreate records, CHECKPOINT): which optional fields are present.
inline constexpr std::uint32_t kMetaHasTtl = 1u << 0;
inline constexpr std::uint32_t kMetaHasExpiresAt = 1u << 1;
inline constexpr std::uint32_t kMetaHasExpiresAtMs = 1u << 2;
inline constexpr std::uint32_t kMetaHasForkSource = 1u << 3;
inline constexpr std::uint32_t kMetaForkOffsetGiven = 1u << 4;
inline constexpr std::uint32_t kMetaSoftDeleted = 1u << 5;
// CHECKPOINT only: the stream entry ends with its recovery state (unavailable reason, lost
// ranges), docs/formats/segment-log.md.
inline constexpr std::uint32_t kMetaHasRecoveryState = 1u << 6;

}  // namespace dsx::session::filestore
