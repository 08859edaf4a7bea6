// The chat clients against a local HTTP server speaking the documented streaming formats.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_server.hpp"
#include "llm/chat.hpp"

using namespace dsx::llm;
using dsx::testing::FakeServer;
using dsx::testing::SseReply;
using dsx::testing::StatusReply;

namespace {

const char* kKey = "sk-test-0123456789abcdef";

ClientConfig Config(Provider p, const std::string& base, std::vector<double>* waits) {
  ClientConfig c;
  c.provider = p;
  c.base_url = base;
  c.api_key = kKey;
  c.model = "test-model";
  c.http.idle_timeout_s = 10;
  c.retry.max_attempts = 3;
  c.retry.base_delay_s = 0.5;
  c.sleep = [waits](double s) {
    if (waits) waits->push_back(s);
  };
  return c;
}

ChatRequest Request() {
  ChatRequest r;
  r.system = "be brief";
  r.messages = {{"user", "say hello"}};
  r.max_tokens = 100;
  return r;
}

// OpenAI chunks, cut at awkward places: inside "data:", inside the JSON, inside a CRLF.
std::vector<std::string> OpenAiPieces() {
  return {"da",
          "ta: "
          "{\"id\":\"c1\",\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
          "\"content\":\"\"},\"finish_reason\":null}]}\r\n\r\n",
          "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel",
          "lo\"},\"finish_reason\":null}]}\r",
          "\n\r\ndata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\", "
          "w\\u00f6rld\"},\"finish_reason\":null}]}\n\n",
          ": keep-alive comment\n\n",
          "data: "
          "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_"
          "tokens\":12,\"completion_tokens\":3}}\n\n",
          "data: [DONE]\n\n"};
}

std::vector<std::string> AnthropicPieces() {
  return {
      "event: message_start\ndata: "
      "{\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
      "\"claude-test\",\"content\":[],\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n",
      "event: content_block_start\ndata: "
      "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
      "event: ping\ndata: {\"type\": \"ping\"}\n\n",
      "event: content_block_delta\ndata: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n",
      "event: content_block_delta\nda",
      "ta: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\nevent: "
      "content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_",
      "delta\",\"text\":\" there\"}}\n\n",
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
      "event: message_delta\ndata: "
      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_"
      "tokens\":15}}\n\n",
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
}

bool HasHeader(const std::string& headers, const std::string& line) {
  std::string h = headers, l = line;
  for (auto* s : {&h, &l})
    for (char& c : *s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return h.find(l) != std::string::npos;
}

}  // namespace

TEST_CASE("openai: streamed reply, tokens in order, request as documented") {
  FakeServer server;
  server.Push(SseReply(OpenAiPieces()));
  auto client = MakeClient(Config(Provider::kOpenAI, server.url() + "/v1/", nullptr));  // SDK-style base
  REQUIRE(client.ok());
  std::vector<std::string> tokens;
  auto reply = (*client)->Chat(Request(), [&](std::string_view t) { tokens.emplace_back(t); });
  REQUIRE_MESSAGE(reply.ok(), reply.status().message());
  CHECK(reply->text == "Hello, w\xc3\xb6rld");
  CHECK(tokens == std::vector<std::string>{"Hello", ", w\xc3\xb6rld"});
  CHECK(reply->stop_reason == "stop");
  CHECK(reply->input_tokens == 12);
  CHECK(reply->output_tokens == 3);
  CHECK(reply->attempts == 1);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].path == "/v1/chat/completions");
  CHECK(HasHeader(reqs[0].headers, std::string("authorization: bearer ") + kKey));
  auto body = nlohmann::json::parse(reqs[0].body);
  CHECK(body["stream"] == true);
  CHECK(body["model"] == "test-model");
  CHECK(body["messages"][0]["role"] == "system");
  CHECK(body["messages"][1]["content"] == "say hello");
  CHECK(body["max_tokens"] == 100);
}

TEST_CASE("anthropic: streamed reply with ping and non-text deltas") {
  FakeServer server;
  server.Push(SseReply(AnthropicPieces()));
  auto client = MakeClient(Config(Provider::kAnthropic, server.url(), nullptr));
  REQUIRE(client.ok());
  std::string streamed;
  auto reply = (*client)->Chat(Request(), [&](std::string_view t) { streamed += t; });
  REQUIRE_MESSAGE(reply.ok(), reply.status().message());
  CHECK(reply->text == "Hello there");
  CHECK(streamed == "Hello there");
  CHECK(reply->stop_reason == "end_turn");
  CHECK(reply->model == "claude-test");
  CHECK(reply->input_tokens == 25);
  CHECK(reply->output_tokens == 15);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].path == "/v1/messages");
  CHECK(HasHeader(reqs[0].headers, std::string("x-api-key: ") + kKey));
  CHECK(HasHeader(reqs[0].headers, "anthropic-version: 2023-06-01"));
  auto body = nlohmann::json::parse(reqs[0].body);
  CHECK(body["stream"] == true);
  CHECK(body["system"] == "be brief");
  CHECK(body["max_tokens"] == 100);
  CHECK(body["messages"].size() == 1);
}

TEST_CASE("no key: a usage error naming the variable, before any request") {
  unsetenv("OPENAI_API_KEY");
  unsetenv("OPENAI_BASE_URL");
  unsetenv("ANTHROPIC_API_KEY");
  unsetenv("ANTHROPIC_BASE_URL");
  for (Provider p : {Provider::kOpenAI, Provider::kAnthropic}) {
    auto config = ConfigFromEnv(p, "", "");
    REQUIRE(config.ok());
    auto client = MakeClient(*config);
    REQUIRE_FALSE(client.ok());
    CHECK(client.status().code() == dsx::Code::kUsage);
    CHECK(client.status().message().find(p == Provider::kOpenAI ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY") !=
          std::string::npos);
  }
  // A local server (custom base URL) needs no key: no Authorization header is sent.
  FakeServer server;
  server.Push(SseReply(OpenAiPieces()));
  auto config = ConfigFromEnv(Provider::kOpenAI, "local", server.url());
  REQUIRE(config.ok());
  auto client = MakeClient(*config);
  REQUIRE(client.ok());
  auto reply = (*client)->Chat(Request(), {});
  REQUIRE(reply.ok());
  CHECK_FALSE(HasHeader(server.requests()[0].headers, "authorization:"));
}

TEST_CASE("429 with retry-after is honoured, then the reply streams") {
  FakeServer server;
  server.Push(StatusReply(429, "Too Many Requests",
                          R"({"error":{"message":"Rate limit reached","type":"rate_limit_error"}})", "Retry-After: 2"));
  server.Push(SseReply(OpenAiPieces()));
  std::vector<double> waits;
  auto client = MakeClient(Config(Provider::kOpenAI, server.url(), &waits));
  REQUIRE(client.ok());
  auto reply = (*client)->Chat(Request(), {});
  REQUIRE_MESSAGE(reply.ok(), reply.status().message());
  CHECK(reply->attempts == 2);
  REQUIRE(waits.size() == 1);
  CHECK(waits[0] == doctest::Approx(2.0));
  CHECK(server.requests().size() == 2);
}

TEST_CASE("5xx and overload are retried with backoff; the retries are bounded") {
  FakeServer server;
  server.Push(StatusReply(503, "Service Unavailable", "{}"));
  server.Push(
      StatusReply(529, "Overloaded", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
  server.Push(StatusReply(500, "Internal Server Error", "{}"));
  std::vector<double> waits;
  auto client = MakeClient(Config(Provider::kAnthropic, server.url(), &waits));
  REQUIRE(client.ok());
  auto reply = (*client)->Chat(Request(), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == dsx::Code::kUnavailable);
  CHECK(reply.status().message().find("gave up after 3 attempts") != std::string::npos);
  REQUIRE(waits.size() == 2);
  CHECK(waits[0] > 0.3);
  CHECK(waits[1] > waits[0] * 1.2);  // exponential, jitter is +-20%
}

TEST_CASE("a retry-after beyond the longest wait gives up at once") {
  FakeServer server;
  server.Push(StatusReply(429, "Too Many Requests", "{}", "retry-after: 3600"));
  std::vector<double> waits;
  auto client = MakeClient(Config(Provider::kOpenAI, server.url(), &waits));
  auto reply = (*client)->Chat(Request(), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == dsx::Code::kUnavailable);
  CHECK(reply.status().message().find("3600") != std::string::npos);
  CHECK(waits.empty());
}

TEST_CASE("401: refused, not retried, and the key never appears in the message") {
  FakeServer server;
  server.Push(StatusReply(401, "Unauthorized",
                          std::string(R"({"error":{"message":"Incorrect API key provided: )") + kKey +
                              R"(","type":"invalid_request_error"}})"));
  auto client = MakeClient(Config(Provider::kOpenAI, server.url(), nullptr));
  auto reply = (*client)->Chat(Request(), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == dsx::Code::kConflict);
  CHECK(reply.status().message().find("HTTP 401") != std::string::npos);
  CHECK(reply.status().message().find("OPENAI_API_KEY") != std::string::npos);
  CHECK(reply.status().message().find(kKey) == std::string::npos);
  CHECK(reply.status().message().find("0123456789abcdef") == std::string::npos);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("malformed stream data is a clear error") {
  SUBCASE("openai: bad JSON in a chunk") {
    FakeServer server;
    server.Push(SseReply({"data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n", "data: {not json\n\n"}));
    auto client = MakeClient(Config(Provider::kOpenAI, server.url(), nullptr));
    auto reply = (*client)->Chat(Request(), {});
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.status().code() == dsx::Code::kFailed);
    CHECK(reply.status().message().find("malformed JSON") != std::string::npos);
  }
  SUBCASE("openai: the stream stops before [DONE]") {
    FakeServer server;
    server.Push(SseReply({"data: {\"choices\":[{\"delta\":{\"content\":\"half\"},\"finish_reason\":null}]}\n\n"}));
    auto client = MakeClient(Config(Provider::kOpenAI, server.url(), nullptr));
    auto reply = (*client)->Chat(Request(), {});
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.status().message().find("[DONE]") != std::string::npos);
  }
  SUBCASE("anthropic: error event mid-stream") {
    FakeServer server;
    server.Push(SseReply(
        {AnthropicPieces()[0],
         "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad "
         "thing\"}}\n\n"}));
    auto client = MakeClient(Config(Provider::kAnthropic, server.url(), nullptr));
    auto reply = (*client)->Chat(Request(), {});
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.status().message().find("bad thing") != std::string::npos);
  }
  SUBCASE("anthropic: 'choices' where an object was expected") {
    FakeServer server;
    server.Push(SseReply({"event: content_block_delta\ndata: [1,2]\n\n"}));
    auto client = MakeClient(Config(Provider::kAnthropic, server.url(), nullptr));
    auto reply = (*client)->Chat(Request(), {});
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.status().message().find("malformed JSON") != std::string::npos);
  }
}

TEST_CASE("anthropic: an overloaded error before any text is retried") {
  FakeServer server;
  server.Push(
      SseReply({AnthropicPieces()[0],
                "event: error\ndata: "
                "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"}));
  server.Push(SseReply(AnthropicPieces()));
  std::vector<double> waits;
  auto client = MakeClient(Config(Provider::kAnthropic, server.url(), &waits));
  auto reply = (*client)->Chat(Request(), {});
  REQUIRE_MESSAGE(reply.ok(), reply.status().message());
  CHECK(reply->text == "Hello there");
  CHECK(reply->attempts == 2);
}

TEST_CASE("a server that ignores stream:true and sends one JSON document still works") {
  FakeServer server;
  server.Push(StatusReply(
      200, "OK",
      R"({"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"whole"},"finish_reason":"stop"}]})"));
  auto client = MakeClient(Config(Provider::kOpenAI, server.url(), nullptr));
  auto reply = (*client)->Chat(Request(), {});
  REQUIRE_MESSAGE(reply.ok(), reply.status().message());
  CHECK(reply->text == "whole");
}

TEST_CASE("nothing listening: unavailable") {
  int port;
  {
    FakeServer server;  // bind a free port, then close it
    port = std::stoi(server.url().substr(server.url().rfind(':') + 1));
  }
  auto config = Config(Provider::kOpenAI, "http://127.0.0.1:" + std::to_string(port), nullptr);
  config.retry.max_attempts = 2;
  auto client = MakeClient(config);
  auto reply = (*client)->Chat(Request(), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == dsx::Code::kUnavailable);
}

TEST_CASE("helpers: retry-after forms, error bodies, scrubbing") {
  CHECK(ParseRetryAfter("7") == doctest::Approx(7));
  CHECK(ParseRetryAfter("0.5") == doctest::Approx(0.5));
  CHECK(ParseRetryAfter("") < 0);
  CHECK(ParseRetryAfter("soon") < 0);
  CHECK(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == 0);  // in the past: retry now
  CHECK(ErrorMessageFromBody(R"({"error":{"message":"m","type":"t"}})") == "t: m");
  CHECK(ErrorMessageFromBody("plain text\nerror") == "plain text error");
  CHECK(Scrub("key sk-abcdefghijkl here", "") == "key sk-ab*** here");
  CHECK(Scrub("secret-value-1 x", "secret-value-1") == "*** x");
}
