// CurlMultiLoop against real sockets on 127.0.0.1: many transfers at once on one thread, each
// Outcome, cancellation (flag + Wake, Cancel(id)), limits, connection reuse, and destruction
// with transfers in flight. Limits are small (150 ms) and only the outcome kind is asserted;
// the waits for a done are bounded (20 s) so a broken loop fails instead of hanging, and no test
// sleeps: each waits for the event it needs.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "net/curl_multi_loop.hpp"

using namespace dsx::net;

namespace {

constexpr const char* kSecret = "tok-77c1b0e9a4d2-secret";
constexpr auto kLimit = std::chrono::seconds(20);

// Listens on 127.0.0.1:0; each accepted connection is handed to `serve` on the server thread,
// then held open until the server is destroyed (a stall stays a stall).
class LocalServer {
 public:
  using Serve = std::function<void(int fd)>;
  explicit LocalServer(Serve serve, int backlog = 128) : serve_(std::move(serve)) {
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
  int accepted() const { return accepted_.load(); }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      conns_.push_back(c);
      ++accepted_;
      serve_(c);
    }
  }
  Serve serve_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<int> conns_;
};

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

// A streamed response: no length, ends when the server closes (shutdown) the connection.
constexpr const char* kStreamHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
constexpr const char* kOkHead = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";

HttpRequest Post(const std::string& url) {
  HttpRequest r;
  r.method = "POST";
  r.url = url;
  r.body = "{}";
  r.headers = {{"Authorization", std::string("Bearer ") + kSecret}, {"Content-Type", "application/json"}};
  return r;
}

// What the done callbacks delivered, for the test thread to wait on.
struct Results {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Exchange> got;
  std::set<std::thread::id> threads;

  CurlMultiLoop::Done Add() {
    return [this](Exchange e) {
      std::lock_guard<std::mutex> lock(mu);
      got.push_back(std::move(e));
      threads.insert(std::this_thread::get_id());
      cv.notify_all();
    };
  }
  bool WaitFor(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kLimit, [&] { return got.size() >= n; });
  }
};

// A one-shot signal from a callback to the test thread.
struct Signal {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;
  void Raise() {
    std::lock_guard<std::mutex> lock(mu);
    ++count;
    cv.notify_all();
  }
  bool WaitFor(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kLimit, [&] { return count >= n; });
  }
};

void CheckNoSecret(const Exchange& ex) {
  CHECK(ex.error.message().find(kSecret) == std::string::npos);
  CHECK(ex.error.message().find("Bearer") == std::string::npos);
}

}  // namespace

TEST_CASE("curl multi loop: a streamed response, its head and chunks, callbacks on the loop thread") {
  LocalServer server([](int fd) {
    ReadHead(fd);
    Write(fd, std::string(kStreamHead) + "data: a\n\n");
    Write(fd, "data: b\n\n");
    shutdown(fd, SHUT_WR);
  });
  Results results;  // before the loop: a transfer still in flight at its end reports here
  std::string body;
  int status = 0;
  std::thread::id callback_thread;
  CurlMultiLoop loop;
  StreamHandler h;
  h.on_headers = [&](const HttpResponse& head) {
    status = head.status;
    callback_thread = std::this_thread::get_id();
    return true;
  };
  h.on_body = [&](std::string_view chunk) {
    body.append(chunk);
    return true;
  };
  loop.Start(Post(server.url()), h, results.Add());
  REQUIRE(results.WaitFor(1));
  const Exchange& ex = results.got[0];
  CHECK(ex.ok());
  CHECK(ex.outcome == Outcome::kComplete);
  CHECK(ex.response.status == 200);
  CHECK(ex.response.Header("content-type") == "text/event-stream");
  CHECK(ex.first_byte_ms > 0);
  CHECK(status == 200);
  CHECK(body == "data: a\n\ndata: b\n\n");
  CHECK(callback_thread != std::this_thread::get_id());
  CHECK(*results.threads.begin() == callback_thread);
  CHECK(loop.in_flight() == 0);
}

TEST_CASE("curl multi loop: many streams in flight at once on the one thread") {
  // Every stream gets its first bytes, then the rest only once all of them are connected: a
  // loop that ran transfers one after another would never see the second connection.
  constexpr int kStreams = 64;
  std::vector<int> held;
  LocalServer server([&](int fd) {
    ReadHead(fd);
    Write(fd, std::string(kStreamHead) + "first;");
    held.push_back(fd);
    if (static_cast<int>(held.size()) < kStreams) return;
    for (int c : held) {
      Write(c, "second");
      shutdown(c, SHUT_WR);
    }
  });
  Results results;  // before the loop: a transfer still in flight at its end reports here
  std::vector<std::string> bodies(kStreams);
  CurlMultiLoop loop;
  for (int i = 0; i < kStreams; ++i) {
    StreamHandler h;
    h.on_body = [&bodies, i](std::string_view chunk) {
      bodies[i].append(chunk);  // the loop thread only: no lock needed
      return true;
    };
    loop.Start(Post(server.url()), h, results.Add());
  }
  REQUIRE(results.WaitFor(kStreams));
  for (const Exchange& ex : results.got) CHECK(ex.outcome == Outcome::kComplete);
  for (const std::string& b : bodies) CHECK(b == "first;second");
  CHECK(results.threads.size() == 1);
  CHECK(loop.in_flight() == 0);
}

TEST_CASE("curl multi loop: a cancel flag stored mid-stream ends the call at Wake()") {
  LocalServer server([](int fd) {
    ReadHead(fd);
    Write(fd, std::string(kStreamHead) + "partial");  // then nothing: only the cancel ends it
  });
  CurlMultiLoop::Options o;
  o.max_wait_ms = 600000;  // the loop would not look at the flag by itself for 10 minutes
  Results results;
  Signal got_body;
  std::atomic<bool> cancel{false};
  CurlMultiLoop loop(o);
  HttpRequest r = Post(server.url());
  r.cancel = &cancel;
  StreamHandler h;
  h.on_body = [&](std::string_view) {
    got_body.Raise();
    return true;
  };
  loop.Start(std::move(r), h, results.Add());
  REQUIRE(got_body.WaitFor(1));
  cancel = true;
  loop.Wake();
  REQUIRE(results.WaitFor(1));
  const Exchange& ex = results.got[0];
  CHECK(ex.outcome == Outcome::kCancelled);
  CHECK(ex.error.code() == dsx::Code::kInterrupted);
  CHECK(ex.response.status == 200);
  CHECK(ex.maybe_delivered);
}

TEST_CASE("curl multi loop: Cancel(id) ends that transfer only") {
  LocalServer server([](int fd) {
    ReadHead(fd);
    Write(fd, std::string(kStreamHead) + "partial");
  });
  Results results;  // before the loop: a transfer still in flight at its end reports here
  Signal heads;
  CurlMultiLoop loop;
  StreamHandler h;
  h.on_headers = [&](const HttpResponse&) {
    heads.Raise();
    return true;
  };
  HttpRequest other = Post(server.url());
  other.idle_timeout_ms = 100000;
  const CurlMultiLoop::Id a = loop.Start(Post(server.url()), h, results.Add());
  loop.Start(std::move(other), h, results.Add());
  REQUIRE(heads.WaitFor(2));
  loop.Cancel(a);
  REQUIRE(results.WaitFor(1));
  CHECK(results.got[0].outcome == Outcome::kCancelled);
  CHECK(loop.in_flight() == 1);  // the other one streams on
}

TEST_CASE("curl multi loop: a cancel flag set before Start never connects") {
  LocalServer server([](int fd) { ReadHead(fd); });
  Results results;  // before the loop: a transfer still in flight at its end reports here
  std::atomic<bool> cancel{true};
  CurlMultiLoop loop;
  HttpRequest r = Post(server.url());
  r.cancel = &cancel;
  loop.Start(std::move(r), StreamHandler{}, results.Add());
  REQUIRE(results.WaitFor(1));
  CHECK(results.got[0].outcome == Outcome::kCancelled);
  CHECK_FALSE(results.got[0].maybe_delivered);
}

TEST_CASE("curl multi loop: limits to the millisecond") {
  // Accepted; head then silence, or nothing at all.
  LocalServer stalls_after_head([](int fd) {
    ReadHead(fd);
    Write(fd, std::string(kStreamHead) + "x");
  });
  LocalServer never_answers([](int fd) { ReadHead(fd); });
  Results results;  // before the loop: a transfer still in flight at its end reports here
  CurlMultiLoop loop;

  SUBCASE("idle: kTimeoutIdle after the head") {
    HttpRequest r = Post(stalls_after_head.url());
    r.idle_timeout_ms = 150;
    loop.Start(std::move(r), StreamHandler{}, results.Add());
    REQUIRE(results.WaitFor(1));
    const Exchange& ex = results.got[0];
    CHECK(ex.outcome == Outcome::kTimeoutIdle);
    CHECK(ex.error.message() == "response stalled: no data for 150 ms");
    CHECK(ex.response.status == 200);
    CheckNoSecret(ex);
  }
  SUBCASE("first byte: kTimeoutFirstByte when no status line comes") {
    HttpRequest r = Post(never_answers.url());
    r.first_byte_timeout_ms = 150;
    loop.Start(std::move(r), StreamHandler{}, results.Add());
    REQUIRE(results.WaitFor(1));
    const Exchange& ex = results.got[0];
    CHECK(ex.outcome == Outcome::kTimeoutFirstByte);
    CHECK(ex.error.message() == "no response within 150 ms");
    CHECK(ex.maybe_delivered);
  }
  SUBCASE("idle before the status line is a first-byte timeout too") {
    HttpRequest r = Post(never_answers.url());
    r.idle_timeout_ms = 150;
    loop.Start(std::move(r), StreamHandler{}, results.Add());
    REQUIRE(results.WaitFor(1));
    CHECK(results.got[0].outcome == Outcome::kTimeoutFirstByte);
  }
  SUBCASE("total: kTimeoutTotal while the stream is silent but within its idle limit") {
    HttpRequest r = Post(stalls_after_head.url());
    r.idle_timeout_ms = 100000;
    r.timeout_ms = 150;
    loop.Start(std::move(r), StreamHandler{}, results.Add());
    REQUIRE(results.WaitFor(1));
    CHECK(results.got[0].outcome == Outcome::kTimeoutTotal);
    CHECK(results.got[0].error.message() == "no complete response within 150 ms");
  }
  SUBCASE("limits are per transfer: a short one ends while a long one goes on") {
    HttpRequest quick = Post(stalls_after_head.url());
    quick.idle_timeout_ms = 150;
    HttpRequest slow = Post(stalls_after_head.url());
    slow.idle_timeout_ms = 100000;
    loop.Start(std::move(slow), StreamHandler{}, results.Add());
    loop.Start(std::move(quick), StreamHandler{}, results.Add());
    REQUIRE(results.WaitFor(1));
    CHECK(results.got[0].outcome == Outcome::kTimeoutIdle);
    CHECK(loop.in_flight() == 1);
  }
}

TEST_CASE("curl multi loop: a refused connection is kConnectFailed, never delivered, no secret") {
  int port;
  {
    LocalServer closed(nullptr);
    port = closed.port();
  }
  Results results;  // before the loop: a transfer still in flight at its end reports here
  CurlMultiLoop loop;
  loop.Start(Post("http://127.0.0.1:" + std::to_string(port) + "/x"), StreamHandler{}, results.Add());
  REQUIRE(results.WaitFor(1));
  const Exchange& ex = results.got[0];
  CHECK(ex.outcome == Outcome::kConnectFailed);
  CHECK(ex.error.code() == dsx::Code::kUnavailable);
  CHECK_FALSE(ex.maybe_delivered);
  CheckNoSecret(ex);
}

TEST_CASE("curl multi loop: a handler's false return aborts its own transfer only") {
  LocalServer server([](int fd) {
    ReadHead(fd);
    Write(fd, std::string(kStreamHead) + "body");
    shutdown(fd, SHUT_WR);
  });
  Results results;  // before the loop: a transfer still in flight at its end reports here
  CurlMultiLoop loop;
  SUBCASE("on_headers") {
    StreamHandler no;
    no.on_headers = [](const HttpResponse&) { return false; };
    loop.Start(Post(server.url()), no, results.Add());
    REQUIRE(results.WaitFor(1));
    CHECK(results.got[0].outcome == Outcome::kAborted);
    CHECK(results.got[0].ok());
  }
  SUBCASE("on_body, next to a transfer that completes") {
    StreamHandler no;
    no.on_body = [](std::string_view) { return false; };
    std::string body;
    StreamHandler yes;
    yes.on_body = [&](std::string_view chunk) {
      body.append(chunk);
      return true;
    };
    loop.Start(Post(server.url()), no, results.Add());
    loop.Start(Post(server.url()), yes, results.Add());
    REQUIRE(results.WaitFor(2));
    int aborted = 0, complete = 0;
    for (const Exchange& ex : results.got) {
      aborted += ex.outcome == Outcome::kAborted;
      complete += ex.outcome == Outcome::kComplete;
    }
    CHECK(aborted == 1);
    CHECK(complete == 1);
    CHECK(body == "body");
  }
}

TEST_CASE("curl multi loop: a finished transfer's connection is reused by the next") {
  LocalServer server([](int fd) {
    for (int i = 0; i < 3; ++i) {
      ReadHead(fd);
      Write(fd, std::string(kOkHead) + "hello");
    }
  });
  Results results;  // before the loop: a transfer still in flight at its end reports here
  CurlMultiLoop loop;
  for (std::size_t i = 1; i <= 3; ++i) {
    loop.Start(Post(server.url()), StreamHandler{}, results.Add());
    REQUIRE(results.WaitFor(i));
    CHECK(results.got[i - 1].outcome == Outcome::kComplete);
  }
  CHECK(server.accepted() == 1);
}

TEST_CASE("curl multi loop: destruction ends the transfers in flight, each done once") {
  LocalServer server([](int fd) {
    ReadHead(fd);
    Write(fd, std::string(kStreamHead) + "partial");
  });
  Results results;
  Signal heads;
  {
    CurlMultiLoop loop;
    StreamHandler h;
    h.on_headers = [&](const HttpResponse&) {
      heads.Raise();
      return true;
    };
    for (int i = 0; i < 3; ++i) loop.Start(Post(server.url()), h, results.Add());
    REQUIRE(heads.WaitFor(3));
  }
  // Every done ran before the destructor returned.
  std::lock_guard<std::mutex> lock(results.mu);
  REQUIRE(results.got.size() == 3);
  for (const Exchange& ex : results.got) {
    CHECK(ex.outcome == Outcome::kCancelled);
    CHECK(ex.error.message() == "transport shut down");
  }
}

TEST_CASE("curl multi loop: a done may start the next transfer (a re-call from the loop thread)") {
  LocalServer server([](int fd) {
    for (int i = 0; i < 2; ++i) {
      ReadHead(fd);
      Write(fd, std::string(kOkHead) + "hello");
    }
  });
  Results results;  // before the loop: a transfer still in flight at its end reports here
  CurlMultiLoop loop;
  CurlMultiLoop::Done second = results.Add();
  loop.Start(Post(server.url()), StreamHandler{}, [&](Exchange first) {
    CHECK(first.outcome == Outcome::kComplete);
    loop.Start(Post(server.url()), StreamHandler{}, second);
  });
  REQUIRE(results.WaitFor(1));
  CHECK(results.got[0].outcome == Outcome::kComplete);
}
