// `dsx session fsck DIR`: a read-only check of a file store's directory. It runs the store's
// own recovery (verifying every record of every segment, not only the indexes) over an
// OverlayEnv, so it reports exactly what the next open would find and do, and changes nothing.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "session/store/file/recovery_report.hpp"

namespace dsx::session::filestore {

struct FsckResult {
  std::filesystem::path dir;
  bool in_use = false;  // a server holds DIR/LOCK: its active segment may be mid-write
  RecoveryReport report;
  bool corrupt() const { return report.corrupt(); }
};

// NotFound when DIR is not a store directory; Failed on I/O errors.
Result<FsckResult> Fsck(const std::filesystem::path& dir);

// True when another process holds DIR/LOCK (a running server). Never creates the file.
bool StoreDirInUse(const std::filesystem::path& dir);

// The report as text lines (one finding a line) and as JSON (man dsx-session, JSON OUTPUT).
std::string FsckText(const FsckResult& r);
nlohmann::json FsckJson(const FsckResult& r);

}  // namespace dsx::session::filestore
