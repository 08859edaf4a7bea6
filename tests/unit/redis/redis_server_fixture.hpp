// Test helpers: real redis-server / redis-sentinel processes on free loopback ports, each in its
// own temporary folder, killed and reaped when the helper goes away. Header-only; for
// tests/unit/redis and the session store's tests (tests/unit/session_redis).
//
//   dsx::redis::test::RedisServer server;          // redis-server on a free 127.0.0.1 port
//   if (!server.ok()) ... server.log() says why
//   server.Kill();  server.Restart();              // SIGKILL, then the same port again
//   PollUntil([&] { return ...; }, 20s);           // conditions with a deadline, never sleeps
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dsx::redis::test {

inline constexpr const char* kRedisServer = "/usr/bin/redis-server";
inline constexpr const char* kRedisSentinel = "/usr/bin/redis-sentinel";
inline constexpr const char* kRedisCli = "/usr/bin/redis-cli";

inline bool HaveRedis() { return access(kRedisServer, X_OK) == 0 && access(kRedisCli, X_OK) == 0; }
inline bool HaveSentinel() { return HaveRedis() && access(kRedisSentinel, X_OK) == 0; }
inline const char* kSkipMessage = "skipped: /usr/bin/redis-server (Debian redis-server, scripts/deps/scale.apt) is not installed";

// Polls `done` every 20 ms until it is true (true) or `timeout` passed (false).
template <typename F>
bool PollUntil(F&& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// A port nobody listens on now (bind 127.0.0.1:0, read it, close).
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

inline std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

// One inline command over a plain socket; the raw reply text ("+PONG\r\n", "$12\r\n...") or ""
// when nothing answered within `timeout`.
inline std::string RawCommand(int port, const std::string& command,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string line = command + "\r\n";
    if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      char buf[4096];
      while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        const ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
        // Complete: a one-line reply, or a bulk string of the announced length.
        const size_t eol = out.find("\r\n");
        if (eol == std::string::npos) continue;
        if (out[0] != '$') break;
        const long len = std::strtol(out.c_str() + 1, nullptr, 10);
        if (len < 0 || out.size() >= eol + 2 + static_cast<size_t>(len) + 2) break;
      }
    }
  }
  close(fd);
  return out;
}

inline bool Ping(int port) { return RawCommand(port, "PING").rfind("+PONG", 0) == 0; }

// A child process with stdout and stderr in `log_path`. Killed (SIGKILL) and reaped on destruction.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { Kill(); }

  bool Start(const std::vector<std::string>& argv, const std::string& log_path) {
    Kill();
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execv(args[0], args.data());
      _exit(127);
    }
    pid_ = pid;
    return true;
  }
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  // SIGKILL (or `sig`) and wait until it is gone.
  void Kill(int sig = SIGKILL) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// redis-server on a free 127.0.0.1 port in its own folder: no RDB snapshots, no AOF unless
// `extra` says so. ok() after the constructor: it answers PING.
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra = {}, int port = 0, std::string binary = kRedisServer)
      : extra_(std::move(extra)), binary_(std::move(binary)) {
    dir_ = MakeTempDir("dsx-redis");
    for (int attempt = 0; attempt < 5 && !ok_; ++attempt) {
      port_ = port != 0 ? port : FreePort();
      ok_ = Launch();
      if (port != 0) break;
    }
  }
  ~RedisServer() {
    process_.Kill();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool ok() const { return ok_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return ReadFile(dir_ + "/redis.log"); }
  pid_t pid() const { return process_.pid(); }
  bool Running() { return process_.Running(); }

  void Kill() { process_.Kill(SIGKILL); }
  // The same port, folder and arguments again; true once it answers PING.
  bool Restart() {
    process_.Kill();
    ok_ = Launch();
    return ok_;
  }

 private:
  bool Launch() {
    std::vector<std::string> argv = {binary_, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--dir", dir_, "--daemonize", "no", "--logfile", ""};
    for (const auto& e : extra_) argv.push_back(e);
    if (!process_.Start(argv, dir_ + "/redis.log")) return false;
    return PollUntil(
        [&] {
          if (!process_.Running()) return true;  // exited: port taken or bad arguments
          const std::string r = RawCommand(port_, "PING");
          return r.rfind("+PONG", 0) == 0 || r.rfind("-NOAUTH", 0) == 0;
        },
        std::chrono::seconds(20)) &&
           process_.Running();
  }

  std::vector<std::string> extra_;
  std::string binary_;
  std::string dir_;
  int port_ = 0;
  bool ok_ = false;
  Process process_;
};

// redis-sentinel on a free port monitoring `master_name` at 127.0.0.1:`primary_port` (quorum 2,
// down after 1 s, failover timeout 3 s). ok(): it answers PING.
class SentinelServer {
 public:
  SentinelServer(const std::string& master_name, int primary_port, int quorum = 2) {
    dir_ = MakeTempDir("dsx-sentinel");
    for (int attempt = 0; attempt < 5 && !ok_; ++attempt) {
      port_ = FreePort();
      std::ofstream conf(dir_ + "/sentinel.conf", std::ios::trunc);
      conf << "port " << port_ << "\n"
           << "bind 127.0.0.1\n"
           << "dir " << dir_ << "\n"
           << "sentinel monitor " << master_name << " 127.0.0.1 " << primary_port << " " << quorum << "\n"
           << "sentinel down-after-milliseconds " << master_name << " 1000\n"
           << "sentinel failover-timeout " << master_name << " 3000\n";
      conf.close();
      if (!process_.Start({kRedisSentinel, dir_ + "/sentinel.conf"}, dir_ + "/sentinel.log")) break;
      ok_ = PollUntil([&] { return !process_.Running() || Ping(port_); }, std::chrono::seconds(20)) &&
            process_.Running();
    }
  }
  ~SentinelServer() {
    process_.Kill();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  SentinelServer(const SentinelServer&) = delete;
  SentinelServer& operator=(const SentinelServer&) = delete;

  bool ok() const { return ok_; }
  int port() const { return port_; }
  std::string log() const { return ReadFile(dir_ + "/sentinel.log"); }

 private:
  std::string dir_;
  int port_ = 0;
  bool ok_ = false;
  Process process_;
};

// `redis-cli ARGS...` (shell words, quoted by the caller), its stdout and stderr.
inline std::string Cli(const std::string& args) {
  std::string out;
  FILE* p = popen((std::string(kRedisCli) + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Three cluster-enabled masters (no replicas) joined with redis-cli --cluster create; ok() once
// every node says cluster_state:ok.
class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3) {
    for (int i = 0; i < masters; ++i) {
      nodes_.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"}));
      if (!nodes_.back()->ok()) return;
    }
    std::string create = "--cluster create";
    for (const auto& n : nodes_) create += " 127.0.0.1:" + std::to_string(n->port());
    create += " --cluster-replicas 0 --cluster-yes";
    create_output_ = Cli(create);
    ok_ = PollUntil(
        [&] {
          for (const auto& n : nodes_) {
            if (Cli("-p " + std::to_string(n->port()) + " cluster info").find("cluster_state:ok") == std::string::npos) {
              return false;
            }
          }
          return true;
        },
        std::chrono::seconds(30));
  }
  bool ok() const { return ok_; }
  RedisServer& node(size_t i) { return *nodes_[i]; }
  size_t size() const { return nodes_.size(); }
  const std::string& create_output() const { return create_output_; }
  std::string url() const {
    std::string u = "redis+cluster://";
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (i) u += ',';
      u += "127.0.0.1:";
      u += std::to_string(nodes_[i]->port());
    }
    return u;
  }

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::string create_output_;
  bool ok_ = false;
};

}  // namespace dsx::redis::test
