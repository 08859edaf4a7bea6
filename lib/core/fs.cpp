#include "core/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dsx::fs {
namespace {
std::string Quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }
std::string Errno() { return std::strerror(errno); }
}  // namespace

Result<std::string> ReadFile(const std::filesystem::path& path) { return ReadFile(path, std::string().max_size()); }

Result<std::string> ReadFile(const std::filesystem::path& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("cannot open " + Quote(path) + ": no such file");
    return Status::Failed("cannot open " + Quote(path) + ": " + Errno());
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = Errno();
      ::close(fd);
      return Status::Failed("cannot read " + Quote(path) + ": " + err);
    }
    if (n == 0) break;
    if (static_cast<size_t>(n) > max_bytes - out.size()) {
      ::close(fd);
      return Status::Failed(Quote(path) + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status SyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Failed("cannot open directory " + Quote(dir) + ": " + Errno());
  int rc = ::fsync(fd);
  std::string err = rc != 0 ? Errno() : "";
  ::close(fd);
  if (rc != 0) return Status::Failed("cannot sync directory " + Quote(dir) + ": " + err);
  return Status::Ok();
}

Status AtomicWriteFile(const std::filesystem::path& path, std::string_view data, bool sync) {
  static std::atomic<unsigned> counter{0};
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Failed("cannot create " + Quote(tmp) + ": " + Errno());
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = Errno();
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Failed("cannot write " + Quote(tmp) + ": " + err);
    }
    off += static_cast<size_t>(n);
  }
  if (sync && ::fdatasync(fd) != 0) {
    std::string err = Errno();
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::Failed("cannot sync " + Quote(tmp) + ": " + err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = Errno();
    ::unlink(tmp.c_str());
    return Status::Failed("cannot rename " + Quote(tmp) + " to " + Quote(path) + ": " + err);
  }
  if (sync) return SyncDir(path.parent_path());
  return Status::Ok();
}

Status EnsureDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Failed("cannot create directory " + Quote(dir) + ": " + ec.message());
  return Status::Ok();
}

}  // namespace dsx::fs
