// Reading a segment image record by record, telling a torn tail from corruption
// (docs/formats/segment-log.md, "Torn tails and corruption"). Pure functions over bytes: the
// store's recovery, `dsx session fsck` and `repair` all read segments through this one scanner,
// so what fsck reports is what recovery does.
//
// A record that does not verify at position P is
// - the clean end of the log when everything from P on is zero (the writer's prefilled zeros);
// - a torn tail when no valid record follows it anywhere up to the end of the file: the crash
//   hit while it was being written, it was never acknowledged, recovery cuts it;
// - corruption when a valid record follows: the bytes from P up to that record are a bad range,
//   reported and skipped, and scanning goes on (LevelDB's log reader: report the bytes dropped
//   and why, keep reading). The next record is looked for where the bad record's own length
//   says it ends (a flipped payload byte), else at every later byte (a flipped length).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "session/store/file/file_env.hpp"
#include "session/store/file/index_files.hpp"
#include "session/store/file/segment_format.hpp"

namespace dsx::session::filestore {

struct ScannedRecord {
  RecordType type{};
  std::uint64_t pos = 0;  // header position in the segment [bytes]
  std::uint32_t len = 0;  // header + payload [bytes]
  std::string_view payload;
};

struct BadRange {
  std::uint64_t begin = 0, end = 0;  // [begin, end) of the segment [bytes]
  std::string reason;                // why the record at `begin` does not verify
};

struct SegmentScan {
  enum class End {
    kClean,  // the last record ends the file
    kZeros,  // the last record is followed by zeros only (prefill)
    kTorn,   // an invalid record with nothing valid after it: a torn tail at valid_end
  };
  std::vector<ScannedRecord> records;  // every valid record, in file order
  std::vector<BadRange> bad;           // corrupt ranges, each followed by a valid record
  End end = End::kClean;
  std::uint64_t valid_end = 0;  // where the last valid record (or the header) ends
  std::string tail_reason;      // kTorn: why the record at valid_end is invalid
  bool header_ok = true;        // magic and number match (else bad[0] is [0, 16))
};

// Scans `image`, the whole file of segment `number`. Records point into `image`.
SegmentScan ScanSegment(std::string_view image, std::uint64_t number);

// The data batches of the valid records (what the segment's .idx lists).
std::vector<IndexEntry> IndexEntries(const SegmentScan& scan);

// "0000000000000042.log" -> 42 (and ".idx" with `ext`); nullopt for any other name.
std::optional<std::uint64_t> SegmentFileNumber(const std::string& name, std::string_view ext = ".log");

// The whole file (a segment is read whole at open: at most one segment beyond the size limit).
Result<std::string> ReadWholeFile(const RandomFile& file);

// "%016llu" + ext.
std::string SegmentFileName(std::uint64_t number, std::string_view ext = ".log");

}  // namespace dsx::session::filestore
