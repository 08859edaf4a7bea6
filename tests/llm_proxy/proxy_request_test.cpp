// The LLM proxy's pure parts: paths, upstream specs, request bodies, SSE events -> text.
#include <doctest/doctest.h>

#include "llm/proxy/proxy_request.hpp"

using namespace dsx::llm::proxy;

TEST_CASE("proxy paths name an upstream and an API") {
  auto d = ParseProxyPath("/llm/v1/chat/completions");
  REQUIRE(d);
  CHECK(d->upstream.empty());
  CHECK(d->api == Api::kOpenAiChat);
  auto n = ParseProxyPath("/llm/groq/v1/chat/completions");
  REQUIRE(n);
  CHECK(n->upstream == "groq");
  auto a = ParseProxyPath("/llm/anthropic/v1/messages");
  REQUIRE(a);
  CHECK(a->api == Api::kAnthropicMessages);
  for (const char* bad : {"/llm/", "/llm/v1/models", "/llm/a/b/v1/chat/completions", "/llm/../v1/messages",
                          "/llm/x/v1/messages/", "/llmx/v1/chat/completions", "/llm/v1/messages"}) {
    CHECK_MESSAGE(!ParseProxyPath(bad), bad);
  }
}

TEST_CASE("upstream specs") {
  auto d = ParseUpstreamSpec("https://api.openai.com/v1/");
  REQUIRE(d.ok());
  CHECK(d->name.empty());
  CHECK(d->base_url == "https://api.openai.com/v1");
  auto n = ParseUpstreamSpec("anthropic=https://api.anthropic.com");
  REQUIRE(n.ok());
  CHECK(n->name == "anthropic");
  CHECK(UpstreamUrl(n->base_url, Api::kAnthropicMessages) == "https://api.anthropic.com/v1/messages");
  CHECK(UpstreamUrl("https://x/v1", Api::kAnthropicMessages) == "https://x/v1/messages");
  CHECK(UpstreamUrl("http://h:1/v1", Api::kOpenAiChat) == "http://h:1/v1/chat/completions");
  CHECK(!ParseUpstreamSpec("ftp://x").ok());
  CHECK(!ParseUpstreamSpec("https://user:sk-secret@x/v1").ok());
  CHECK(ParseUpstreamSpec("https://user:sk-secret@x/v1").status().message().find("sk-secret") == std::string::npos);
  CHECK(!ParseUpstreamSpec("a b=https://x").ok());
  CHECK(!ParseUpstreamSpec("v1=https://x").ok());
  CHECK(!ParseUpstreamSpec("https://x/v1?key=1").ok());
}

TEST_CASE("request bodies: fields checked, errors name them") {
  auto ok = ParseProxyRequest(
      R"({"model":"m","stream":true,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},)"
      R"({"role":"user","content":[{"type":"text","text":"c"},{"type":"image_url","image_url":{}},{"type":"text","text":"d"}]}]})",
      Api::kOpenAiChat);
  REQUIRE(ok.ok());
  CHECK(ok->model == "m");
  CHECK(ok->stream);
  CHECK(ok->user_text == std::optional<std::string>("cd"));
  auto none = ParseProxyRequest(R"({"model":"m","messages":[]})", Api::kOpenAiChat);
  REQUIRE(none.ok());
  CHECK(!none->stream);
  CHECK(!none->user_text);
  struct Bad {
    const char* body;
    const char* says;
  };
  for (const Bad& b : {Bad{"", "empty"}, Bad{"[]", "object"}, Bad{"{", "invalid"}, Bad{R"({"messages":[]})", "'model'"},
                       Bad{R"({"model":"","messages":[]})", "'model'"}, Bad{R"({"model":"m"})", "'messages' is missing"},
                       Bad{R"({"model":"m","messages":{}})", "'messages' must be an array (got object)"},
                       Bad{R"({"model":"m","messages":[1]})", "'messages[0]'"},
                       Bad{R"({"model":"m","messages":[{"content":"x"}]})", "'messages[0].role' is missing"},
                       Bad{R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":1}]}]})",
                           "'messages[0].content[0].text'"},
                       Bad{R"({"model":"m","messages":[],"stream":1})", "'stream' must be a boolean (got number)"}}) {
    auto r = ParseProxyRequest(b.body, Api::kOpenAiChat);
    REQUIRE_MESSAGE(!r.ok(), b.body);
    CHECK_MESSAGE(r.status().message().find(b.says) != std::string::npos, r.status().message());
  }
  std::string deep = R"({"model":"m","messages":[)" + std::string(200, '[') + std::string(200, ']') + "]}";
  CHECK(ParseProxyRequest(deep, Api::kOpenAiChat).status().message().find("deeper") != std::string::npos);
}

TEST_CASE("OpenAI chunks -> text deltas") {
  auto s = ParseStreamEvent(Api::kOpenAiChat, "message",
                            R"({"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}]})");
  CHECK(s.text == "Hel");
  CHECK(s.forward);
  CHECK(ParseStreamEvent(Api::kOpenAiChat, "message", R"({"choices":[{"index":0,"delta":{"role":"assistant"}}]})")
            .text.empty());
  CHECK(ParseStreamEvent(Api::kOpenAiChat, "message", R"({"choices":[{"index":1,"delta":{"content":"x"}}]})")
            .text.empty());  // the session keeps choice 0
  CHECK(ParseStreamEvent(Api::kOpenAiChat, "message", R"({"choices":[],"usage":{"total_tokens":3}})").forward);
  auto done = ParseStreamEvent(Api::kOpenAiChat, "message", "[DONE]");
  CHECK(done.done);
  CHECK(!done.forward);
  auto err = ParseStreamEvent(Api::kOpenAiChat, "message", R"({"error":{"message":"overloaded"}})");
  CHECK(err.error.find("overloaded") != std::string::npos);
  CHECK(ParseStreamEvent(Api::kOpenAiChat, "message", "not json").text.empty());
}

TEST_CASE("Anthropic events -> text deltas") {
  CHECK(ParseStreamEvent(Api::kAnthropicMessages, "content_block_delta",
                         R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})")
            .text == "Hi");
  CHECK(ParseStreamEvent(Api::kAnthropicMessages, "content_block_delta",
                         R"({"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{"}})")
            .text.empty());
  CHECK(ParseStreamEvent(Api::kAnthropicMessages, "message_stop", R"({"type":"message_stop"})").done);
  CHECK(ParseStreamEvent(Api::kAnthropicMessages, "error", R"({"type":"error","error":{"message":"overloaded_error"}})")
            .error.find("overloaded_error") != std::string::npos);
}

TEST_CASE("non-streamed answers and error frames") {
  CHECK(AnswerText(Api::kOpenAiChat, R"({"choices":[{"message":{"role":"assistant","content":"x y"}}]})") ==
        std::optional<std::string>("x y"));
  CHECK(AnswerText(Api::kAnthropicMessages, R"({"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})") ==
        std::optional<std::string>("ab"));
  CHECK(!AnswerText(Api::kOpenAiChat, "<html>"));
  const std::string f = ErrorFrame(Api::kOpenAiChat, "upstream stalled 30 s", "0_9");
  CHECK(f.find("id: 0_9\ndata: {\"error\"") == 0);
  CHECK(f.find("data: [DONE]") != std::string::npos);
  CHECK(ErrorFrame(Api::kAnthropicMessages, "x", "1").find("event: error") != std::string::npos);
  CHECK(BodyExcerpt(R"({"error":{"message":"bad key"}})") == "bad key");
  CHECK(BodyExcerpt("line1\nline2") == "line1 line2");
}

TEST_CASE("a prompt too long for one event is stored cut at a character, and says so") {
  auto stored = [](const nlohmann::json& d) { return d.dump().size(); };
  CHECK(StoredPromptData("hi") == nlohmann::json{{"text", "hi"}});
  const std::string plain(5000, 'a');
  CHECK(StoredPromptData(plain, 5002) == nlohmann::json{{"text", plain}});  // fits exactly (quotes)
  nlohmann::json cut = StoredPromptData(plain, 1000);
  CHECK(cut["truncated"] == true);
  CHECK(cut["bytes"] == 5000);
  CHECK(stored(cut["text"]) <= 1000);
  CHECK(cut["text"].get<std::string>().size() > 700);  // not cut far below the limit
  // 2-, 3- and 4-byte characters: never split, always a prefix.
  for (const std::string ch : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
    std::string text;
    while (text.size() < 3000) text += ch;
    for (std::size_t limit : {100u, 101u, 102u, 103u, 500u}) {
      nlohmann::json d = StoredPromptData(text, limit);
      const std::string t = d["text"];
      CHECK(d["truncated"] == true);
      CHECK(t.size() % ch.size() == 0);
      CHECK(text.compare(0, t.size(), t) == 0);
      CHECK(stored(d["text"]) <= limit);
    }
  }
  // A limit below the smallest stored text ("") keeps nothing, and ends (it looped before).
  CHECK(StoredPromptData("abc", 1) == nlohmann::json{{"text", ""}, {"truncated", true}, {"bytes", 3}});
  // Escapes grow the stored text (a control character takes 6 bytes): still within the limit.
  const std::string ctl(4000, '\x01');
  nlohmann::json c = StoredPromptData(ctl, 1200);
  CHECK(stored(c["text"]) <= 1200);
  CHECK(c["text"].get<std::string>().size() >= 100);
}
