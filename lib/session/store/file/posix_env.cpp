// POSIX implementation of FileEnv: pread/pwrite/fdatasync on plain file descriptors.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/fs.hpp"
#include "session/store/file/file_env.hpp"

namespace dsx::session::filestore {
namespace {

Status Errno(const std::string& what, const std::string& name, int err) {
  return Status::Failed("cannot " + what + " '" + name + "': " + std::strerror(err));
}

class PosixFile final : public RandomFile {
 public:
  PosixFile(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  ~PosixFile() override { ::close(fd_); }

  Status Write(std::uint64_t pos, std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write", name_, errno);
      }
      data.remove_prefix(static_cast<std::size_t>(n));
      pos += static_cast<std::uint64_t>(n);
    }
    return {};
  }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno("sync", name_, errno);
    return {};
  }
  Result<std::size_t> Read(std::uint64_t pos, char* buf, std::size_t n) const override {
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, buf + got, n - got, static_cast<off_t>(pos + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno("read", name_, errno);
      }
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    return got;
  }
  Result<std::uint64_t> Size() const override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return Errno("stat", name_, errno);
    return static_cast<std::uint64_t>(st.st_size);
  }
  Status Truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return Errno("truncate", name_, errno);
    return {};
  }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  std::string name_;
};

class PosixLock final : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override { ::close(fd_); }  // closing releases the flock

 private:
  int fd_;
};

class Posix final : public FileEnv {
 public:
  Result<std::shared_ptr<RandomFile>> Open(const std::filesystem::path& path, bool create) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) return Errno("open", path.filename().string(), errno);
    return std::shared_ptr<RandomFile>(std::make_shared<PosixFile>(fd, path.filename().string()));
  }
  Result<std::string> ReadAll(const std::filesystem::path& path) override { return dsx::fs::ReadFile(path); }
  Status WriteAtomic(const std::filesystem::path& path, std::string_view data, bool sync) override {
    return dsx::fs::AtomicWriteFile(path, data, sync);
  }
  Status Remove(const std::filesystem::path& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("remove", path.filename().string(), errno);
    return {};
  }
  Status CreateDir(const std::filesystem::path& dir) override { return dsx::fs::EnsureDir(dir); }
  Status SyncDir(const std::filesystem::path& dir) override { return dsx::fs::SyncDir(dir); }
  Result<std::vector<std::string>> List(const std::filesystem::path& dir) override {
    std::error_code ec;
    std::vector<std::string> names;
    for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return Status::Failed("cannot list '" + dir.string() + "': " + ec.message());
    return names;
  }
  Result<std::unique_ptr<FileLock>> Lock(const std::filesystem::path& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("open", path.string(), errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK)
        return Status::Conflict("cannot lock '" + path.string() + "': another dsx server uses this data directory");
      return Errno("lock", path.string(), err);
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixLock>(fd));
  }
};

}  // namespace

FileEnv* PosixEnv() {
  static Posix env;  // stateless; lives until exit
  return &env;
}

}  // namespace dsx::session::filestore
