// CurlTransport against real sockets on 127.0.0.1: each Outcome, cancellation from another
// thread, limits, CA settings from the environment, and no header value in any error text.
// Limits are small (100-300 ms) and only the outcome kind is asserted, never a duration, so a
// loaded machine can make a test slower but not wrong.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "net/curl_transport.hpp"

using namespace dsx::net;

namespace {

constexpr const char* kSecret = "tok-3f9a8c71e2d4-secret";

// Listens on 127.0.0.1:0; each accepted connection is handed to `serve` on the server thread,
// then held open (so a stall stays a stall) until the server is destroyed.
class LocalServer {
 public:
  using Serve = std::function<void(int fd)>;
  explicit LocalServer(Serve serve, int backlog = 16) : serve_(std::move(serve)) {
    fd_ = dsx::testing::ListenLoopback(backlog, &port_);
    REQUIRE(fd_ >= 0);
    if (serve_) thread_ = std::thread([this] { Loop(); });
  }
  ~LocalServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int c : conns_) close(c);
    close(fd_);
  }
  std::string url(const std::string& path = "/x") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }
  int fd() const { return fd_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      conns_.push_back(c);
      serve_(c);
    }
  }
  Serve serve_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<int> conns_;
};

// Reads until the end of the request head (bodies here are small and sent with it).
std::string ReadHead(int fd) {
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

void Write(int fd, const std::string& s) { (void)!send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

HttpRequest Get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.headers = {{"Authorization", std::string("Bearer ") + kSecret}, {"X-Api-Key", kSecret}};
  return r;
}

void CheckNoSecret(const Exchange& ex) {
  CHECK(ex.error.message().find(kSecret) == std::string::npos);
  CHECK(ex.error.message().find("Bearer") == std::string::npos);
}

const char* kOkHead = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";

}  // namespace

TEST_CASE("curl transport: a complete response, status, headers and timings") {
  std::atomic<int> requests{0};
  LocalServer server([&](int fd) {
    ReadHead(fd);
    ++requests;
    Write(fd, std::string(kOkHead) + "hello");
  });
  CurlTransport t;
  Exchange ex = t.Send(Get(server.url()));
  REQUIRE(ex.ok());
  CHECK(ex.outcome == Outcome::kComplete);
  CHECK(ex.response.status == 200);
  CHECK(ex.response.Header("content-type") == "text/plain");
  CHECK(ex.response.body == "hello");
  CHECK(ex.first_byte_ms > 0);
  CHECK(ex.elapsed_ms >= ex.first_byte_ms);
  CHECK(ex.maybe_delivered);
}

TEST_CASE("curl transport: refused connection is kConnectFailed, never delivered") {
  int port;
  {
    LocalServer closed(nullptr);
    port = closed.port();
  }
  CurlTransport t;
  Exchange ex = t.Send(Get("http://127.0.0.1:" + std::to_string(port) + "/x"));
  CHECK(ex.outcome == Outcome::kConnectFailed);
  CHECK(ex.error.code() == dsx::Code::kUnavailable);
  CHECK_FALSE(ex.maybe_delivered);
  CheckNoSecret(ex);
}

TEST_CASE("curl transport: a full accept queue times out the connect") {
  // Backlog 0 and no accept(): once the queue holds a connection, the kernel drops new SYNs,
  // so the handshake never completes.
  LocalServer server(nullptr, 0);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(server.port()));
    (void)connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(c);
  }
  pollfd first{fillers[0], POLLOUT, 0};
  REQUIRE(poll(&first, 1, 2000) == 1);  // the first filler is in the queue: it is now full
  CurlTransport t;
  HttpRequest r = Get(server.url());
  r.connect_timeout_ms = 200;
  Exchange ex = t.Send(r);
  for (int c : fillers) close(c);
  CHECK(ex.outcome == Outcome::kTimeoutConnect);
  CHECK(ex.error.code() == dsx::Code::kUnavailable);
  CHECK(ex.timed_out());
  CheckNoSecret(ex);
}

TEST_CASE("curl transport: accepted but never answered is kTimeoutFirstByte") {
  LocalServer server([](int fd) { ReadHead(fd); });
  CurlTransport t;
  SUBCASE("first-byte limit") {
    HttpRequest r = Get(server.url());
    r.first_byte_timeout_ms = 150;
    Exchange ex = t.Send(r);
    CHECK(ex.outcome == Outcome::kTimeoutFirstByte);
    CHECK(ex.response.status == 0);
    CHECK(ex.maybe_delivered);
    CheckNoSecret(ex);
  }
  SUBCASE("an idle limit before the status line counts as no response") {
    HttpRequest r = Get(server.url());
    r.idle_timeout_ms = 150;
    Exchange ex = t.Send(r);
    CHECK(ex.outcome == Outcome::kTimeoutFirstByte);
  }
  SUBCASE("total limit") {
    HttpRequest r = Get(server.url());
    r.timeout_ms = 150;
    Exchange ex = t.Send(r);
    CHECK(ex.outcome == Outcome::kTimeoutTotal);
    CheckNoSecret(ex);
  }
}

TEST_CASE("curl transport: headers then a stall is kTimeoutIdle; the body so far is kept") {
  LocalServer server([](int fd) {
    ReadHead(fd);
    Write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: one\n\n");
  });
  CurlTransport t;
  SUBCASE("Send keeps the partial body") {
    HttpRequest r = Get(server.url());
    r.idle_timeout_ms = 200;
    Exchange ex = t.Send(r);
    CHECK(ex.outcome == Outcome::kTimeoutIdle);
    CHECK(ex.response.status == 200);
    CHECK(ex.response.body == "data: one\n\n");
    CHECK(ex.first_byte_ms > 0);
    CheckNoSecret(ex);
  }
  SUBCASE("Stream: the handler saw the chunks, the head comes back") {
    HttpRequest r = Get(server.url());
    r.idle_timeout_ms = 200;
    std::string seen;
    StreamHandler h;
    h.on_body = [&](std::string_view c) {
      seen.append(c);
      return true;
    };
    Exchange ex = t.Stream(r, h);
    CHECK(ex.outcome == Outcome::kTimeoutIdle);
    CHECK(ex.response.status == 200);
    CHECK(seen == "data: one\n\n");
  }
  SUBCASE("the transport's stream idle default applies when the request sets none") {
    CurlTransport::Options o;
    o.stream_idle_timeout_s = 0;
    o.idle_timeout_ms = 200;
    CurlTransport short_idle(o);
    StreamHandler h;
    h.on_body = [](std::string_view) { return true; };
    Exchange ex = short_idle.Stream(Get(server.url()), h);
    CHECK(ex.outcome == Outcome::kTimeoutIdle);
  }
}

TEST_CASE("curl transport: a handler's false return is kAborted, an OK exchange") {
  LocalServer server([](int fd) {
    ReadHead(fd);
    Write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: one\n\n");
  });
  CurlTransport t;
  StreamHandler h;
  SUBCASE("on_body") {
    h.on_body = [](std::string_view) { return false; };
  }
  SUBCASE("on_headers") {
    h.on_headers = [](const HttpResponse& head) { return head.status != 200; };
  }
  Exchange ex = t.Stream(Get(server.url()), h);
  CHECK(ex.ok());
  CHECK(ex.outcome == Outcome::kAborted);
  CHECK(ex.response.status == 200);
}

TEST_CASE("curl transport: cancellation from another thread") {
  LocalServer server([](int fd) {
    ReadHead(fd);
    Write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: one\n\n");
  });
  CurlTransport t;
  std::atomic<bool> cancel{false};
  HttpRequest r = Get(server.url());
  r.cancel = &cancel;
  std::atomic<bool> got_chunk{false};
  StreamHandler h;
  h.on_body = [&](std::string_view) {
    got_chunk = true;
    return true;
  };
  std::thread canceller([&] {
    while (!got_chunk) std::this_thread::yield();
    cancel = true;
  });
  Exchange ex = t.Stream(r, h);  // no limit at all: only the cancel can end it
  canceller.join();
  CHECK(ex.outcome == Outcome::kCancelled);
  CHECK(ex.error.code() == dsx::Code::kInterrupted);
  CHECK(ex.maybe_delivered);
  CHECK(ex.response.status == 200);
  CheckNoSecret(ex);

  SUBCASE("a flag already set sends nothing") {
    Exchange again = t.Send(r);
    CHECK(again.outcome == Outcome::kCancelled);
    CHECK_FALSE(again.maybe_delivered);
  }
}

TEST_CASE("curl transport: the connection is reused after a complete exchange") {
  std::atomic<int> accepted{0};
  LocalServer server([&](int fd) {
    ++accepted;
    for (int i = 0; i < 2; ++i) {
      ReadHead(fd);
      Write(fd, std::string(kOkHead) + "hello");
    }
  });
  CurlTransport t;
  CHECK(t.Send(Get(server.url())).response.body == "hello");
  CHECK(t.Send(Get(server.url())).response.body == "hello");
  CHECK(accepted == 1);
}

TEST_CASE("curl transport: a reset mid-body is kError with the body so far") {
  LocalServer server([](int fd) {
    ReadHead(fd);
    Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    shutdown(fd, SHUT_RDWR);
  });
  CurlTransport t;
  Exchange ex = t.Send(Get(server.url()));
  CHECK(ex.outcome == Outcome::kError);
  CHECK(ex.error.code() == dsx::Code::kUnavailable);
  CHECK(ex.response.body == "partial");
  CheckNoSecret(ex);
}

TEST_CASE("CA settings from the environment") {
  std::map<std::string, std::string> env;
  auto get = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  CHECK(CaLocationsFromEnv(get).file.empty());
  CHECK(CaLocationsFromEnv(get).dir.empty());
  env["SSL_CERT_FILE"] = "/etc/b.pem";
  env["SSL_CERT_DIR"] = "/etc/certs";
  CHECK(CaLocationsFromEnv(get).file == "/etc/b.pem");
  CHECK(CaLocationsFromEnv(get).dir == "/etc/certs");
  env["CURL_CA_BUNDLE"] = "/etc/a.pem";  // curl's own variable wins
  CHECK(CaLocationsFromEnv(get).file == "/etc/a.pem");
}

TEST_CASE("outcome names") {
  CHECK(std::string(OutcomeName(Outcome::kComplete)) == "complete");
  CHECK(std::string(OutcomeName(Outcome::kCancelled)) == "cancelled");
  CHECK(std::string(OutcomeName(Outcome::kTimeoutIdle)) == "response stalled");
}
