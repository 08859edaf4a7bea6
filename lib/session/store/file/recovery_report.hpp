// What recovery found and did at open, per file and per stream: the log lines' structured
// twin. `dsx session fsck` prints it (fsck.hpp), `dsx session repair` acts on it (repair.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "session/store/file/index_files.hpp"
#include "session/store/file/segment_scan.hpp"

namespace dsx::session::filestore {

struct SegmentReport {
  std::uint64_t number = 0;
  std::uint64_t size = 0;       // bytes as found
  bool scanned = false;         // records read and verified (else: extents from its .idx only)
  std::uint64_t records = 0;    // valid records (scanned only)
  std::vector<BadRange> bad;    // corrupt ranges, kept (valid records follow them)
  std::optional<BadRange> cut;  // torn tail cut: [where, old size)
  bool removed = false;         // not even a header: removed
  // "ok", "missing", "corrupt", "does not match the segment", or "" for the segment that was
  // active at the last stop (it gets its .idx at this open).
  std::string index;
};

struct DamagedStream {
  LogId lid = 0;
  std::string path;
  std::string reason;
  std::vector<LostRange> lost;  // offsets whose data is gone (so far as recovery can tell)
  bool loss_unbounded = false;  // how much it lost is unknown: repair cannot make it available
};

struct RecoveryReport {
  std::string checkpoint = "ok";  // "ok", "missing", "corrupt"
  std::vector<SegmentReport> segments;
  std::vector<std::uint64_t> missing_segments;  // an .idx without its .log
  std::vector<DamagedStream> damaged;
  // Valid records of streams whose kCreate is gone (so their path is unknown): log id and count.
  std::vector<std::pair<LogId, std::uint64_t>> orphans;

  // Anything beyond what a crash leaves (a torn tail, prefilled zeros, a missing .idx).
  bool corrupt() const {
    if (checkpoint == "corrupt" || !missing_segments.empty() || !damaged.empty() || !orphans.empty()) return true;
    for (const auto& s : segments)
      if (!s.bad.empty() || s.index == "corrupt" || s.index == "does not match the segment") return true;
    return false;
  }
};

}  // namespace dsx::session::filestore
