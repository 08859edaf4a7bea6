// Helpers for the Redis store tests: a redis-server on a free loopback port (own temp dir,
// killed at the end), synchronous wrappers over the async store API, batches and metas.
// Tests skip (pass with a message) when redis-server is not installed.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "redis/client.hpp"
#include "session/store/redis/redis_store.hpp"

namespace dsx::session::redistest {

namespace fsys = std::filesystem;

inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

inline bool HaveRedisServer() { return ::access("/usr/bin/redis-server", X_OK) == 0; }

// One redis-server process. Start() again after Kill() reuses port and directory (AOF files).
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra = {}) : port_(FreePort()), extra_(std::move(extra)) {
    static std::atomic<int> n{0};
    dir_ = fsys::temp_directory_path() / ("dsx-redis-store-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fsys::remove_all(dir_);
    fsys::create_directories(dir_);
    Start();
  }
  ~RedisServer() {
    Kill(SIGKILL);
    fsys::remove_all(dir_);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  void Start() {
    std::vector<std::string> args{"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                  "--dir", dir_.string(), "--save", "", "--appendonly", "no"};
    for (auto& e : extra_) args.push_back(e);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      const int null = ::open("/dev/null", O_WRONLY);  // not stdio: its buffers are the parent's
      ::dup2(null, 1);
      ::execv("/usr/bin/redis-server", argv.data());
      ::_exit(127);
    }
    // Wait until it accepts connections.
    for (int i = 0; i < 200; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<std::uint16_t>(port_));
      const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (ok) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void Kill(int sig = SIGKILL) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::vector<std::string> extra_;
  fsys::path dir_;
  pid_t pid_ = -1;
};

inline RedisStoreOptions Options(const RedisServer& r, int wait_replicas = 0) {
  RedisStoreOptions o;
  o.url = r.url();
  o.wait_replicas = wait_replicas;
  o.wait_timeout = std::chrono::milliseconds(200);
  return o;
}

inline std::unique_ptr<StreamStore> OpenStore(const RedisServer& r, int wait_replicas = 0) {
  auto s = OpenRedisStore(Options(r, wait_replicas));
  if (!s) return nullptr;
  return std::move(*s);
}

inline std::unique_ptr<redis::Client> OpenClient(const RedisServer& r) {
  auto o = redis::ParseUrl(r.url());
  if (!o) return nullptr;
  auto c = redis::Client::Open(*o);
  if (!c) return nullptr;
  return std::move(*c);
}

inline Batch MakeBatch(std::vector<std::string> msgs) {
  Batch b;
  for (auto& m : msgs) {
    b.payload += m;
    b.sizes.push_back(static_cast<std::uint32_t>(m.size()));
  }
  return b;
}

inline StreamMeta Meta(StreamId id, std::string path, std::string ct = "text/plain") {
  StreamMeta m;
  m.id = id;
  m.path = std::move(path);
  m.content_type = std::move(ct);
  m.created_ms = 1700000000000;
  return m;
}

inline CreateOp MakeCreate(StreamId id, std::string path, std::vector<Batch> batches, std::uint64_t version) {
  CreateOp op;
  op.meta = Meta(id, std::move(path));
  op.batches = std::move(batches);
  op.new_version = version;
  return op;
}

inline Status CreateSync(StreamStore& s, CreateOp op) {
  std::promise<Status> p;
  s.Create(std::move(op), [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

inline Result<AppendResult> AppendSync(StreamStore& s, AppendOp op) {
  std::promise<Result<AppendResult>> p;
  s.Append(std::move(op), [&](Result<AppendResult> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

inline AppendOp MakeAppend(StreamId id, std::vector<std::string> msgs, std::uint64_t expect, std::uint64_t next) {
  AppendOp op;
  op.id = id;
  op.batch = MakeBatch(std::move(msgs));
  op.expect_version = expect;
  op.new_version = next;
  return op;
}

inline Status DropSync(StreamStore& s, StreamId id) {
  std::promise<Status> p;
  s.Drop(id, [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

inline Status SoftDeleteSync(StreamStore& s, StreamId id) {
  std::promise<Status> p;
  s.SoftDelete(id, [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

inline Result<std::optional<StreamState>> FetchSync(StreamStore& s, const std::string& path) {
  std::promise<Result<std::optional<StreamState>>> p;
  s.Fetch(path, [&](Result<std::optional<StreamState>> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

inline std::string ReadAll(const StreamStore& s, StreamId id, std::uint64_t from, std::uint64_t tail,
                           std::size_t max_bytes = 1 << 20) {
  std::string out;
  while (from < tail) {
    auto r = s.Read(id, from, tail, max_bytes);
    if (!r || r->messages.empty()) return out + "<read error: " + r.status().message() + ">";
    out += r->data;
    from = r->messages.back().end;
  }
  return out;
}

inline const StreamState* Find(const std::vector<StreamState>& v, StreamId id) {
  for (const auto& s : v)
    if (s.meta.id == id) return &s;
  return nullptr;
}

}  // namespace dsx::session::redistest

// Skip the test case when there is no redis-server.
#define REQUIRE_REDIS_SERVER()                                      \
  do {                                                              \
    if (!::dsx::session::redistest::HaveRedisServer()) {            \
      MESSAGE("redis-server not installed: skipped");               \
      return;                                                       \
    }                                                               \
  } while (0)
