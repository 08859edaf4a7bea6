// `dsx session repair DIR`: salvage every valid record of a damaged file store, in the spirit
// of LevelDB's RepairDB. Recovery (verifying every segment) finds the corrupt ranges and the
// streams they hit; repair rewrites each corrupt segment with only its valid records (and its
// .idx), then accepts the losses: the damaged streams are served again with all their valid
// data at their original offsets, the lost offsets are recorded (reads step over them) and
// every stream's next offset stays past anything it ever acknowledged. Takes DIR/LOCK: refuses
// (Conflict) while a server runs on DIR.
#pragma once

#include <filesystem>

#include "core/status.hpp"
#include "session/store/file/file_env.hpp"
#include "session/store/file/recovery_report.hpp"

namespace dsx::session::filestore {

struct RepairResult {
  RecoveryReport before;  // what recovery found
  RecoveryReport after;   // a verifying open after the repair (clean unless I/O failed)
};

// `env`: nullptr for the real file system (tests and the recovery fuzzer pass an in-memory one).
Result<RepairResult> Repair(const std::filesystem::path& dir, FileEnv* env = nullptr);

}  // namespace dsx::session::filestore
