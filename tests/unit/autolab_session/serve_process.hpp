// A real `dsx session serve` for the autolab_session tests: the dsx binary built beside this
// test (build/bin/dsx, or $DSX_BIN), started on loopback as the tests/live harness starts it
// (tests/live/harness.py: --listen, --data or --memory, --threads 2), its port read from its
// "listening on" line, ready once GET /health answers. kill -9 and a restart on the same port
// (and the same data folder) stand for a server that dies and comes back.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/process_group.hpp"
#include "net/curl_transport.hpp"

namespace dsx::autolab::testing {

namespace fs = std::filesystem;

// Polls `done` every 20 ms for up to `timeout_ms` (generous: a loaded 2-core machine); the
// sleep paces the polling, it is never what a test asserts on.
inline bool WaitUntil(const std::function<bool()>& done, int timeout_ms = 30000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

inline std::string DsxBinary() {
  if (const char* env = std::getenv("DSX_BIN"); env && *env) return env;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "dsx").string();
}

// A port nothing listens on now (bound, then closed: as the harness's free_port()).
inline int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t n = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Starts `argv` with stdout and stderr to `fd`, retrying while the binary is being relinked by
// a parallel build (EACCES, ETXTBSY): a moment's state of the build folder is not a failure.
inline Result<std::unique_ptr<proc::ProcessGroup>> SpawnDsx(const std::vector<std::string>& argv, int out_fd,
                                                            int err_fd) {
  auto g = proc::ProcessGroup::Spawn(argv, proc::SpawnIo{-1, out_fd, err_fd});
  for (int i = 0; !g.ok() && i < 150; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    g = proc::ProcessGroup::Spawn(argv, proc::SpawnIo{-1, out_fd, err_fd});
  }
  return g;
}

// Runs `dsx ARGS...` to completion with its stdout in `out`; its exit code.
inline int RunDsx(const std::vector<std::string>& args, const std::string& out) {
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  std::vector<std::string> argv = {DsxBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto g = SpawnDsx(argv, fd, -1);
  ::close(fd);
  REQUIRE_MESSAGE(g.ok(), g.status().message());
  return (*g)->Wait().code;
}

class TempDir {
 public:
  TempDir() {
    static int n = 0;
    path_ =
        fs::temp_directory_path() / ("dsx-autolab-session-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct ServeOptions {
  bool memory = true;         // else a file store in the temp folder (survives a restart)
  int port = 0;               // 0: a free one
  std::string auth_key_file;  // --auth-key-file
};

class ServeProcess {
 public:
  using Options = ServeOptions;

  ServeProcess() : ServeProcess(ServeOptions{}) {}
  explicit ServeProcess(ServeOptions o) : o_(std::move(o)) {
    port_ = o_.port != 0 ? o_.port : FreePort();
    Start();
  }
  ~ServeProcess() { Kill(); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const fs::path& dir() const { return dir_.path(); }

  void Start() {
    REQUIRE_MESSAGE(fs::exists(DsxBinary()), "these tests run a real `dsx session serve`: build the dsx target (",
                    DsxBinary(), " is missing; or set DSX_BIN)");
    const std::string log = (dir_.path() / ("serve-" + std::to_string(starts_++) + ".log")).string();
    std::vector<std::string> argv = {DsxBinary(), "session", "serve", "--listen", "127.0.0.1:" + std::to_string(port_),
                                     "--threads", "2"};
    if (o_.memory) {
      argv.push_back("--memory");
    } else {
      argv.insert(argv.end(), {"--data", (dir_.path() / "store").string()});
    }
    if (!o_.auth_key_file.empty()) argv.insert(argv.end(), {"--auth-key-file", o_.auth_key_file});
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    auto g = SpawnDsx(argv, fd, fd);
    ::close(fd);
    REQUIRE_MESSAGE(g.ok(), g.status().message());
    group_ = std::move(*g);
    net::CurlTransport t;
    const bool up = WaitUntil(
        [&] {
          net::HttpRequest r;
          r.url = url() + "/health";
          r.timeout_ms = 1000;
          auto ex = t.Send(r);
          return (ex.ok() && ex.response.status == 200) || group_->PollExit();
        },
        20000);
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    REQUIRE_MESSAGE((up && !group_->exited()), "dsx session serve did not start: ", text.str());
  }

  // kill -9 of the server and its group; returns when it is gone.
  void Kill() {
    if (!group_) return;
    group_->Kill();
    (void)group_->Wait();
    group_.reset();
  }

 private:
  Options o_;
  TempDir dir_;
  int port_ = 0;
  int starts_ = 0;
  std::unique_ptr<proc::ProcessGroup> group_;
};

}  // namespace dsx::autolab::testing
