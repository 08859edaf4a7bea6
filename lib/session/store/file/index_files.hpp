// The two index files of the segment log (docs/formats/segment-log.md, "Index files"):
// a sealed segment's extent index (N.idx) and the registry CHECKPOINT. Both end with a masked
// CRC-32C over everything before it; a decoder returns nullopt on any mismatch or bad layout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "session/store/file/records.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session::filestore {

// One data batch of a segment (40 bytes on disk).
struct IndexEntry {
  LogId lid = 0;
  std::uint64_t start_offset = 0;  // stream offset of the batch's first byte
  std::uint64_t record_pos = 0;    // position of the record header in the segment [bytes]
  std::uint32_t record_len = 0;    // header + payload [bytes]
  std::uint32_t data_len = 0;      // sum of the batch's message sizes [bytes]
  std::uint32_t msg_count = 0;
  std::uint32_t data_off = 0;  // position of the batch's data structure in the payload [bytes]
};

struct SegmentIndex {
  std::uint64_t segment = 0;
  std::uint64_t segment_size = 0;  // bytes of the segment file the index covers
  std::vector<IndexEntry> entries;
};

std::string EncodeIndex(const SegmentIndex& idx);
std::optional<SegmentIndex> DecodeIndex(std::string_view bytes);

// A range of a stream's offsets whose data is lost for good ([begin, end)): found by recovery
// (damaged or missing records) and kept, once `dsx session repair` accepted the loss, so the
// offsets are never handed out again and reads step over them.
struct LostRange {
  std::uint64_t begin = 0, end = 0;
  bool operator==(const LostRange&) const = default;
};

struct CheckpointStream {
  LogId lid = 0;
  StreamState state;            // state.unavailable: the stream is damaged
  std::vector<LostRange> lost;  // sorted, disjoint
  // What it lost cannot be bounded (a segment after the checkpoint is missing): a repair
  // cannot pick a next offset that is surely past everything it acknowledged, so it stays
  // unavailable until deleted (or the segment is restored).
  bool loss_unbounded = false;
};

struct Checkpoint {
  std::uint64_t replay_segment = 1;  // recovery scans segments >= this one
  LogId next_lid = 1;
  std::vector<CheckpointStream> streams;
};

std::string EncodeCheckpoint(const Checkpoint& cp);
std::optional<Checkpoint> DecodeCheckpoint(std::string_view bytes);

}  // namespace dsx::session::filestore
