// A tiny threaded HTTP/1.1 server on 127.0.0.1 for client tests: each accepted connection reads
// one request, records it, and answers with the next scripted reply, written piece by piece
// (with a short pause between pieces, so the client sees the body split at awkward places),
// then closes the connection.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../net/loopback.hpp"

namespace dsx::testing {

struct RecordedRequest {
  std::string method, path, headers, body;  // headers: raw lines, as received
};

struct ScriptedReply {
  std::string head;                 // status line + headers, without the blank line
  std::vector<std::string> pieces;  // body pieces, written one at a time
};

inline ScriptedReply SseReply(std::vector<std::string> pieces) {
  return {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close",
          std::move(pieces)};
}

inline ScriptedReply StatusReply(int code, const std::string& reason, const std::string& body,
                                 const std::string& extra_headers = "") {
  std::string head = "HTTP/1.1 " + std::to_string(code) + " " + reason +
                     "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close";
  if (!extra_headers.empty()) head += "\r\n" + extra_headers;
  return {head, {body}};
}

class FakeServer {
 public:
  FakeServer() {
    fd_ = ListenLoopback(16, &port_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Push(ScriptedReply r) {
    std::lock_guard<std::mutex> l(mu_);
    replies_.push_back(std::move(r));
  }
  std::vector<RecordedRequest> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  void Loop() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      Serve(c);
      close(c);
    }
  }
  void Serve(int c) {
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string in;
    char buf[8192];
    size_t header_end = std::string::npos;
    while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, n);
    }
    RecordedRequest req;
    std::string head = in.substr(0, header_end);
    size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    req.method = head.substr(0, sp1);
    req.path = head.substr(sp1 + 1, sp2 - sp1 - 1);
    req.headers = head;
    size_t want = 0;
    std::string lower = head;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    size_t cl = lower.find("content-length:");
    if (cl != std::string::npos) want = std::stoul(head.substr(cl + 15));
    std::string body = in.substr(header_end + 4);
    while (body.size() < want) {
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      body.append(buf, n);
    }
    req.body = body;
    ScriptedReply reply;
    {
      std::lock_guard<std::mutex> l(mu_);
      requests_.push_back(req);
      if (replies_.empty()) {
        reply = StatusReply(500, "No Script", "{\"error\":{\"message\":\"no scripted reply\"}}");
      } else {
        reply = std::move(replies_.front());
        replies_.pop_front();
      }
    }
    std::string h = reply.head + "\r\n\r\n";
    send(c, h.data(), h.size(), MSG_NOSIGNAL);
    for (const auto& p : reply.pieces) {
      send(c, p.data(), p.size(), MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::deque<ScriptedReply> replies_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace dsx::testing
