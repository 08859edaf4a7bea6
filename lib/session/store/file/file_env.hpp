// The file I/O the store uses, behind a small interface so tests can fail the Nth write or
// sync (STYLE habit 13; LevelDB's Env). PosixEnv() is the real thing; tests wrap it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::session::filestore {

// An open file read with pread and written with pwrite. Thread-safe for concurrent reads;
// the store writes from one thread only. Closed when the last reference goes.
class RandomFile {
 public:
  virtual ~RandomFile() = default;
  // Write all of `data` at byte `pos`; a short write is an error.
  virtual Status Write(std::uint64_t pos, std::string_view data) = 0;
  // fdatasync: everything written so far is durable when this returns OK.
  virtual Status Sync() = 0;
  // Read up to `n` bytes at `pos` into `buf`; returns the bytes read (short only at end of file).
  virtual Result<std::size_t> Read(std::uint64_t pos, char* buf, std::size_t n) const = 0;
  virtual Result<std::uint64_t> Size() const = 0;
  virtual Status Truncate(std::uint64_t size) = 0;
  virtual const std::string& name() const = 0;  // file name for messages
};

// Holds an exclusive advisory lock until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileEnv {
 public:
  virtual ~FileEnv() = default;
  // Open for reading and writing; create if missing when `create`.
  virtual Result<std::shared_ptr<RandomFile>> Open(const std::filesystem::path& path, bool create) = 0;
  // Whole small file (index, checkpoint). NotFound if missing.
  virtual Result<std::string> ReadAll(const std::filesystem::path& path) = 0;
  // Write via temp file + (sync) + rename + (directory sync): readers see old or new, never torn.
  virtual Status WriteAtomic(const std::filesystem::path& path, std::string_view data, bool sync) = 0;
  virtual Status Remove(const std::filesystem::path& path) = 0;
  virtual Status CreateDir(const std::filesystem::path& dir) = 0;
  virtual Status SyncDir(const std::filesystem::path& dir) = 0;
  // File names (not paths) directly in `dir`.
  virtual Result<std::vector<std::string>> List(const std::filesystem::path& dir) = 0;
  // Exclusive lock on `path` (created); Conflict if another process holds it.
  virtual Result<std::unique_ptr<FileLock>> Lock(const std::filesystem::path& path) = 0;
};

// The process-wide POSIX environment (never destroyed).
FileEnv* PosixEnv();

}  // namespace dsx::session::filestore
