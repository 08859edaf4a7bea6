// The mock LLM on loopback, driven by the probe's own HTTP client: streaming, non-streaming,
// the log over HTTP, and a client cancel being logged.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "audit/probe/fetch.hpp"
#include "audit/probe/fingerprint.hpp"
#include "audit/probe/mock_llm.hpp"
#include "audit/probe/mock_log.hpp"

using namespace dsx::audit::probe;

namespace {

struct Running {
  explicit Running(int tokens, int interval_ms, bool keep_alive = false)
      : server(MockLlmOptions{"127.0.0.1", 0, tokens, interval_ms, "", keep_alive}) {
    REQUIRE(server.Listen().ok());
    thread = std::thread([this] { server.Run(); });
    base = "http://127.0.0.1:" + std::to_string(server.port());
  }
  ~Running() {
    server.Stop();
    thread.join();
  }
  MockLlmServer server;
  std::thread thread;
  std::string base;
};

RequestSpec Chat(const std::string& base, bool stream) {
  return RequestSpec{"POST",
                     base + "/v1/chat/completions",
                     {{"Content-Type", "application/json"}},
                     std::string(R"({"model":"m","stream":)") + (stream ? "true" : "false") +
                         R"(,"messages":[{"role":"user","content":"hi dsx-probe-t1"}]})"};
}

HttpLimits Limits() {
  HttpLimits l;
  l.connect_s = 2;
  l.first_byte_s = 5;
  l.idle_s = 5;
  l.total_s = 20;
  return l;
}

}  // namespace

TEST_CASE("mock-llm: streams numbered tokens as chat.completion.chunk SSE and logs them") {
  Running m(5, 5);
  HttpResponse r = Fetch(Chat(m.base, true), Limits());
  CHECK(r.outcome == HttpOutcome::kComplete);
  CHECK(r.status == 200);
  CHECK(r.Header("content-type") == "text/event-stream");
  CHECK(ExtractTokens(r.body) == std::vector<int>{1, 2, 3, 4, 5});
  CHECK(r.body.find("data: [DONE]") != std::string::npos);
  auto fp = FingerprintResponse(m.base + "/v1/chat/completions", r.status, r.headers, r.body);
  CHECK(fp.protocol == Protocol::kOpenAiChat);

  auto log = MockLog::Load(m.base + "/log");
  REQUIRE(log.ok());
  auto reqs = log->Requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].marker == "dsx-probe-t1");
  CHECK(reqs[0].done);
  CHECK(reqs[0].tokens_sent == 5);
}

TEST_CASE("mock-llm: non-streaming answer and max_tokens lowering the count") {
  Running m(6, 1);
  RequestSpec req = Chat(m.base, false);
  req.body = R"({"max_tokens":3,"messages":[]})";
  HttpResponse r = Fetch(req, Limits());
  CHECK(r.status == 200);
  CHECK(r.body.find("\"object\":\"chat.completion\"") != std::string::npos);
  CHECK(ExtractTokens(r.body) == std::vector<int>{1, 2, 3});
}

TEST_CASE("mock-llm: a client that drops mid-stream is logged as a cancel") {
  Running m(200, 20);
  int64_t t0 = 0;
  HttpResponse r = Fetch(Chat(m.base, true), Limits(), [&](std::string_view, const HttpResponse& so_far) {
    return ExtractTokens(so_far.body).size() < 3;
  });
  CHECK(r.outcome == HttpOutcome::kAborted);
  (void)t0;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto log = MockLog::Load(m.base + "/log");
  REQUIRE(log.ok());
  auto reqs = log->Requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].cancelled);
  CHECK(!reqs[0].done);
  CHECK(reqs[0].tokens_sent < 10);
}

TEST_CASE("mock-llm: bad requests and unknown routes get JSON errors") {
  Running m(2, 1);
  RequestSpec bad{"POST", m.base + "/v1/chat/completions", {}, "not json"};
  CHECK(Fetch(bad, Limits()).status == 400);
  RequestSpec nope{"GET", m.base + "/nope", {}, ""};
  HttpResponse r = Fetch(nope, Limits());
  CHECK(r.status == 404);
  CHECK(r.body.find("no route") != std::string::npos);
}

TEST_CASE("http client: a server that never answers times out as a hang") {
  // A listening socket nobody accepts from: connect succeeds (backlog), no bytes ever come.
  MockLlmServer idle(MockLlmOptions{"127.0.0.1", 0, 1, 1, ""});
  REQUIRE(idle.Listen().ok());  // listening, but Run() is never called
  RequestSpec get{"GET", "http://127.0.0.1:" + std::to_string(idle.port()) + "/log", {}, ""};
  HttpLimits l;
  l.connect_s = 1;
  l.first_byte_s = 1;
  l.idle_s = 1;
  l.total_s = 5;
  HttpResponse r = Fetch(get, l);
  CHECK(!r.Answered());
  CHECK((r.outcome == HttpOutcome::kTimeoutFirstByte || r.outcome == HttpOutcome::kTimeoutIdle));
}

TEST_CASE("mock-llm: a taken port is a conflict") {
  MockLlmServer a(MockLlmOptions{"127.0.0.1", 0, 1, 1, ""});
  REQUIRE(a.Listen().ok());
  MockLlmServer b(MockLlmOptions{"127.0.0.1", a.port(), 1, 1, ""});
  auto s = b.Listen();
  CHECK(s.code() == dsx::Code::kConflict);
}

namespace {

// One raw TCP connection, so a test can send two requests on it (the probe's client never reuses).
struct Conn {
  explicit Conn(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Conn() {
    if (fd >= 0) ::close(fd);
  }
  void Send(const std::string& body) {
    std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  }
  // Reads until the chunked answer's last chunk ("0\r\n\r\n"); "" on a close or timeout.
  std::string ReadAnswer() {
    std::string got;
    char buf[4096];
    while (got.find("\r\n0\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return "";
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
  int fd = -1;
};

}  // namespace

TEST_CASE("mock-llm --keep-alive: two streamed answers on one connection; a drop is still a cancel") {
  Running m(3, 1, /*keep_alive=*/true);
  {
    Conn c(m.server.port());
    c.Send(R"({"model":"m","stream":true,"messages":[]})");
    std::string a = c.ReadAnswer();
    CHECK(a.find("Connection: keep-alive") != std::string::npos);
    CHECK(ExtractTokens(a) == std::vector<int>{1, 2, 3});
    c.Send(R"({"model":"m","stream":true,"max_tokens":2,"messages":[]})");
    std::string b = c.ReadAnswer();
    CHECK(ExtractTokens(b) == std::vector<int>{1, 2});
  }
  auto log = MockLog::Load(m.base + "/log");
  REQUIRE(log.ok());
  auto reqs = log->Requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].done);
  CHECK(reqs[1].done);
  CHECK(!reqs[0].cancelled);

  Running slow(200, 20, /*keep_alive=*/true);
  HttpResponse r = Fetch(Chat(slow.base, true), Limits(), [&](std::string_view, const HttpResponse& so_far) {
    return ExtractTokens(so_far.body).size() < 3;
  });
  CHECK(r.outcome == HttpOutcome::kAborted);
  bool cancelled = false;
  for (int i = 0; i < 200 && !cancelled; ++i) {  // the mock notices the close on its next read
    auto l = MockLog::Load(slow.base + "/log");
    cancelled = l.ok() && !l->Requests().empty() && l->Requests()[0].cancelled;
    if (!cancelled) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(cancelled);
}
