// Small file helpers with the error messages users should see.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace dsx::fs {

// Whole file into memory. NotFound if missing.
Result<std::string> ReadFile(const std::filesystem::path& path);
// The same for a file named by outside input (a plan, a patch, what an experiment wrote): kFailed
// "... is larger than N bytes" once more than `max_bytes` were read, so /dev/zero, a runaway file or
// a symlink to either cannot exhaust memory or hang the reader.
Result<std::string> ReadFile(const std::filesystem::path& path, std::size_t max_bytes);

// Write to "<path>.tmp.<pid>.<n>", fsync, rename over `path`, fsync the directory.
// Readers see either the old or the new file, never a torn one; parallel writers
// of the same path are safe (last rename wins).
Status AtomicWriteFile(const std::filesystem::path& path, std::string_view data, bool sync = true);

// mkdir -p with a clear error.
Status EnsureDir(const std::filesystem::path& dir);

// fsync a directory so a rename/create in it is durable.
Status SyncDir(const std::filesystem::path& dir);

}  // namespace dsx::fs
