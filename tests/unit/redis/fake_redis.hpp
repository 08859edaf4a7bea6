// FakeRedis: a scripted RESP server on a free loopback port, for the replies a real server gives
// only in rare moments (READONLY from a demoted primary, LOADING, a connection dropped after a
// command arrived). The handler answers each command with raw RESP, or kClose to drop the
// connection without a reply. Every command received is recorded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dsx::redis::test {

class FakeRedis {
 public:
  static inline const std::string kClose = "<close>";
  using Handler = std::function<std::string(const std::vector<std::string>& command)>;

  explicit FakeRedis(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FakeRedis() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    close(listen_fd_);
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  FakeRedis(const FakeRedis&) = delete;
  FakeRedis& operator=(const FakeRedis&) = delete;

  int port() const { return port_; }
  // The commands received so far whose first word is `name` (case-sensitive, as sent).
  int Count(const std::string& name) const {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (const auto& c : received_) n += !c.empty() && c[0] == name;
    return n;
  }
  int connections() const { return connections_.load(); }
  std::vector<std::vector<std::string>> received() const {
    std::lock_guard<std::mutex> l(mu_);
    return received_;
  }

  static std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
  static std::string MasterRole() { return "*3\r\n" + Bulk("master") + ":0\r\n*0\r\n"; }
  static std::string SentinelAnswer(int port) { return "*2\r\n" + Bulk("127.0.0.1") + Bulk(std::to_string(port)); }

 private:
  void Accept() {
    while (!stop_) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      ++connections_;
      std::lock_guard<std::mutex> l(mu_);
      fds_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Reads multi-bulk commands ("*N\r\n$len\r\nDATA\r\n..."), as hiredis sends them.
  void Serve(int fd) {
    std::string buf;
    char chunk[4096];
    size_t pos = 0;
    auto line = [&](std::string* out) -> bool {
      while (true) {
        const size_t eol = buf.find("\r\n", pos);
        if (eol != std::string::npos) {
          *out = buf.substr(pos, eol - pos);
          pos = eol + 2;
          return true;
        }
        const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return false;
        buf.append(chunk, static_cast<size_t>(n));
      }
    };
    auto bytes = [&](size_t count, std::string* out) -> bool {
      while (buf.size() < pos + count + 2) {
        const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return false;
        buf.append(chunk, static_cast<size_t>(n));
      }
      *out = buf.substr(pos, count);
      pos += count + 2;
      return true;
    };
    while (!stop_) {
      std::string head;
      if (!line(&head) || head.empty() || head[0] != '*') break;
      const long n = std::strtol(head.c_str() + 1, nullptr, 10);
      std::vector<std::string> command;
      bool ok = true;
      for (long i = 0; i < n && ok; ++i) {
        std::string len_line, arg;
        ok = line(&len_line) && !len_line.empty() && len_line[0] == '$' &&
             bytes(static_cast<size_t>(std::strtol(len_line.c_str() + 1, nullptr, 10)), &arg);
        command.push_back(std::move(arg));
      }
      if (!ok) break;
      {
        std::lock_guard<std::mutex> l(mu_);
        received_.push_back(command);
      }
      const std::string reply = handler_(command);
      if (reply == kClose) break;
      if (send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) break;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto& f : fds_) {
        if (f == fd) f = -1;
      }
    }
    shutdown(fd, SHUT_RDWR);
    close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::vector<std::vector<std::string>> received_;
};

}  // namespace dsx::redis::test
