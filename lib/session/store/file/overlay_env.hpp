// A FileEnv that never writes to its base: reads go to the base files until something is
// written, then to a private in-memory copy. `dsx session fsck` runs the store's own recovery
// over it, so the report is exactly what an open would do, and the directory is left as it
// was. With no base it is a plain in-memory file system (the recovery fuzzer's).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/mutex.hpp"
#include "session/store/file/file_env.hpp"

namespace dsx::session::filestore {

class OverlayEnv final : public FileEnv {
 public:
  explicit OverlayEnv(FileEnv* base) : base_(base) {}

  Result<std::shared_ptr<RandomFile>> Open(const std::filesystem::path& path, bool create) override;
  Result<std::string> ReadAll(const std::filesystem::path& path) override;
  Status WriteAtomic(const std::filesystem::path& path, std::string_view data, bool sync) override;
  Status Remove(const std::filesystem::path& path) override;
  Status CreateDir(const std::filesystem::path& dir) override;
  Status SyncDir(const std::filesystem::path&) override { return {}; }
  Result<std::vector<std::string>> List(const std::filesystem::path& dir) override;
  // A lock only among users of this env (the base directory's LOCK is not touched).
  Result<std::unique_ptr<FileLock>> Lock(const std::filesystem::path& path) override;

  // The bytes of `path` as this env sees it (tests, the fuzzer); NotFound if absent.
  Result<std::string> Contents(const std::filesystem::path& path) { return ReadAll(path); }

  struct Data;  // one file's bytes, shared by its open handles

 private:
  std::shared_ptr<Data> Copy(const std::string& key) REQUIRES(mu_);

  FileEnv* const base_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Data>> files_ GUARDED_BY(mu_);  // written here (whole contents)
  std::set<std::string> removed_ GUARDED_BY(mu_);                       // removed here (hides the base file)
  std::set<std::string> dirs_ GUARDED_BY(mu_);
  std::set<std::string> locked_ GUARDED_BY(mu_);
};

}  // namespace dsx::session::filestore
