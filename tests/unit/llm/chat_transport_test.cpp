// The chat clients over a scripted net::testing::FakeTransport: what goes over the wire, SSE
// split at odd places, HTTP status mapping, retries, and transport failures, with no sockets.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/chat.hpp"
#include "net/fake_transport.hpp"

using namespace dsx::llm;
using dsx::Code;
using dsx::net::Outcome;
using dsx::net::testing::FakeTransport;
using dsx::net::testing::NetError;
using dsx::net::testing::Reply;
using dsx::net::testing::Scripted;
using dsx::net::testing::SseReply;
using dsx::net::testing::TimedOut;

namespace {

const char* kKey = "sk-fake-0123456789abcdef";

struct Fixture {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::vector<double> waits;

  std::unique_ptr<ChatClient> Client(Provider p) {
    ClientConfig c;
    c.provider = p;
    c.base_url = "http://llm.test";
    c.api_key = kKey;
    c.model = "m";
    c.retry.max_attempts = 3;
    c.retry.base_delay_s = 0.5;
    c.sleep = [this](double s) { waits.push_back(s); };
    c.transport = transport;
    auto client = MakeClient(std::move(c));
    REQUIRE(client.ok());
    return std::move(*client);
  }
};

ChatRequest Hello() {
  ChatRequest r;
  r.messages = {{"user", "hi"}};
  return r;
}

// An error reply whose JSON body arrives as a streamed chunk (as CurlTransport delivers it).
Scripted ErrorReply(int status, const std::string& body, dsx::net::HeaderList headers = {}) {
  Scripted s = Reply(status, std::move(headers));
  s.chunks = {body};
  return s;
}

const dsx::net::HeaderList kSse = {{"Content-Type", "text/event-stream"}};

}  // namespace

TEST_CASE("chat over a transport: the request, and SSE split inside fields, JSON and CRLF") {
  Fixture f;
  f.transport->script.push_back(
      SseReply(kSse, {"da", "ta: {\"choices\":[{\"delta\":{\"content\":\"He\"}}]}\r", "\n\r\nd",
                      "ata: {\"choices\":[{\"delta\":{\"con", "tent\":\"llo\"},\"finish_reason\":\"stop\"}]}\n", "\n",
                      "data: [DO", "NE]\n\n"}));
  auto client = f.Client(Provider::kOpenAI);
  std::string streamed;
  auto reply = client->Chat(Hello(), [&](std::string_view t) { streamed.append(t); });
  REQUIRE_MESSAGE(reply.ok(), reply.status().message());
  CHECK(reply->text == "Hello");
  CHECK(streamed == "Hello");
  CHECK(reply->stop_reason == "stop");

  REQUIRE(f.transport->requests.size() == 1);
  const auto& req = f.transport->requests[0];
  CHECK(req.method == "POST");
  CHECK(req.url == "http://llm.test/v1/chat/completions");
  CHECK(f.transport->Header(0, "authorization") == std::string("Bearer ") + kKey);
  CHECK(f.transport->Header(0, "accept") == "text/event-stream");
  CHECK(nlohmann::json::parse(req.body)["stream"] == true);
  // The documented limits: connect 10 s, a silent model 120 s, no total limit.
  CHECK(req.connect_timeout_ms == 10000);
  CHECK(req.idle_timeout_ms == 120000);
  CHECK(req.first_byte_timeout_ms == 120000);
  CHECK(req.timeout_ms < 0);
}

TEST_CASE("chat over a transport: anthropic events one byte at a time") {
  Fixture f;
  std::string stream =
      "event: message_start\ndata: "
      "{\"type\":\"message_start\",\"message\":{\"model\":\"c\",\"usage\":{\"input_tokens\":3}}}\n\n"
      "event: content_block_delta\ndata: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
      "event: message_delta\ndata: "
      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  f.transport->script.push_back(SseReply(kSse, bytes));
  auto reply = f.Client(Provider::kAnthropic)->Chat(Hello(), nullptr);
  REQUIRE_MESSAGE(reply.ok(), reply.status().message());
  CHECK(reply->text == "Hi");
  CHECK(reply->stop_reason == "end_turn");
  CHECK(f.transport->Header(0, "x-api-key") == kKey);
  CHECK(f.transport->requests[0].url == "http://llm.test/v1/messages");
}

TEST_CASE("chat over a transport: 429 waits as told, then succeeds") {
  Fixture f;
  f.transport->script.push_back(ErrorReply(429, R"({"error":{"message":"slow down"}})", {{"Retry-After", "7"}}));
  f.transport->script.push_back(
      SseReply(kSse, {"data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n", "data: [DONE]\n\n"}));
  auto reply = f.Client(Provider::kOpenAI)->Chat(Hello(), nullptr);
  REQUIRE_MESSAGE(reply.ok(), reply.status().message());
  CHECK(reply->attempts == 2);
  REQUIRE(f.waits.size() == 1);
  CHECK(f.waits[0] == doctest::Approx(7.0));
}

TEST_CASE("chat over a transport: 500 is retried a bounded number of times, then unavailable") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.transport->script.push_back(ErrorReply(500, R"({"error":{"message":"boom"}})"));
  auto reply = f.Client(Provider::kOpenAI)->Chat(Hello(), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::kUnavailable);
  CHECK(reply.status().message().find("HTTP 500") != std::string::npos);
  CHECK(reply.status().message().find("boom") != std::string::npos);
  CHECK(reply.status().message().find("gave up after 3 attempts") != std::string::npos);
  CHECK(f.transport->requests.size() == 3);
  CHECK(f.waits.size() == 2);
}

TEST_CASE("chat over a transport: 401 and 404 are not retried; the key never shows") {
  Fixture f;
  f.transport->script.push_back(ErrorReply(401, std::string(R"({"error":{"message":"bad key )") + kKey + "\"}}"));
  auto reply = f.Client(Provider::kOpenAI)->Chat(Hello(), nullptr);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == Code::kConflict);
  CHECK(reply.status().message().find(kKey) == std::string::npos);
  CHECK(reply.status().message().find("OPENAI_API_KEY") != std::string::npos);

  f.transport->script.push_back(ErrorReply(404, R"({"error":{"message":"no model"}})"));
  reply = f.Client(Provider::kOpenAI)->Chat(Hello(), nullptr);
  CHECK(reply.status().code() == Code::kNotFound);
  CHECK(f.transport->requests.size() == 2);
}

TEST_CASE("chat over a transport: transport failures") {
  Fixture f;
  SUBCASE("refused, then up: retried") {
    f.transport->script.push_back(NetError(false, "cannot connect to server"));
    f.transport->script.push_back(
        SseReply(kSse, {"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n"}));
    auto reply = f.Client(Provider::kOpenAI)->Chat(Hello(), nullptr);
    REQUIRE_MESSAGE(reply.ok(), reply.status().message());
    CHECK(reply->attempts == 2);
  }
  SUBCASE("never reachable: unavailable, naming the URL and the reason") {
    for (int i = 0; i < 3; ++i) f.transport->script.push_back(NetError(false, "cannot connect to server"));
    auto reply = f.Client(Provider::kOpenAI)->Chat(Hello(), nullptr);
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.status().code() == Code::kUnavailable);
    CHECK(reply.status().message().find("http://llm.test") != std::string::npos);
    CHECK(reply.status().message().find("cannot connect to server") != std::string::npos);
  }
  SUBCASE("a stall after text came is not restarted") {
    f.transport->script.push_back(
        TimedOut(Outcome::kTimeoutIdle, 200, {"data: {\"choices\":[{\"delta\":{\"content\":\"half\"}}]}\n\n"}));
    f.transport->script.push_back(SseReply(kSse, {"data: [DONE]\n\n"}));  // must not be used
    std::string streamed;
    auto reply = f.Client(Provider::kOpenAI)->Chat(Hello(), [&](std::string_view t) { streamed.append(t); });
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.status().code() == Code::kUnavailable);
    CHECK(streamed == "half");
    CHECK(f.transport->requests.size() == 1);
  }
  SUBCASE("a stall before any text is retried") {
    f.transport->script.push_back(TimedOut(Outcome::kTimeoutFirstByte));
    f.transport->script.push_back(
        SseReply(kSse, {"data: {\"choices\":[{\"delta\":{\"content\":\"y\"}}]}\n\ndata: [DONE]\n\n"}));
    auto reply = f.Client(Provider::kOpenAI)->Chat(Hello(), nullptr);
    REQUIRE_MESSAGE(reply.ok(), reply.status().message());
    CHECK(reply->text == "y");
  }
}

// Regression: an endless SSE line was buffered whole (memory grew with whatever the server sent).
TEST_CASE("chat over a transport: an endless SSE event is abandoned with an error, not buffered") {
  Fixture f;
  std::vector<std::string> chunks = {"data: {\"choices\":[{\"delta\":{\"content\":\""};
  const std::string mib(1 << 20, 'a');
  for (int i = 0; i < 18; ++i) chunks.push_back(mib);  // 18 MiB, never a newline
  f.transport->script.push_back(SseReply(kSse, std::move(chunks)));
  auto client = f.Client(Provider::kOpenAI);
  auto reply = client->Chat(Hello(), nullptr);
  REQUIRE(!reply.ok());
  CHECK(reply.status().code() == Code::kFailed);
  CHECK(reply.status().message().find("larger than 16 MiB") != std::string::npos);
  CHECK(f.transport->requests.size() == 1);  // a protocol error is not retried
}
