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

TEST_CASE("tool calls: OpenAI streamed fragments are put together by index") {
  ToolCalls calls;
  auto feed = [&](const char* chunk) {
    auto s = ParseStreamEvent(Api::kOpenAiChat, "message", chunk);
    CHECK(s.forward);  // the client gets the frame as the upstream sent it
    for (const auto& p : s.tool_calls) calls.Add(p);
  };
  feed(
      R"({"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}}]})");
  feed(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]})");
  feed(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"get_time","arguments":"{}"}}]}}]})");
  feed(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]})");
  feed(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":"x"},7,{"function":[]}]}}]})");  // odd shapes: no crash
  feed(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})");
  auto data = calls.Data(false);
  REQUIRE(data.size() == 2);
  CHECK(data[0] == nlohmann::json{{"id", "call_a"}, {"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}});
  CHECK(data[1] == nlohmann::json{{"id", "call_b"}, {"name", "get_time"}, {"arguments", "{}"}});
  CHECK(calls.Data(true)[0]["incomplete"] == true);
}

TEST_CASE("tool calls: Anthropic tool_use blocks and input_json_delta") {
  ToolCalls calls;
  auto feed = [&](const char* type, const char* data) {
    for (const auto& p : ParseStreamEvent(Api::kAnthropicMessages, type, data).tool_calls) calls.Add(p);
  };
  feed("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  feed("content_block_delta",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check."}})");
  feed(
      "content_block_start",
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}})");
  feed("content_block_delta",
       R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}})");
  feed("content_block_delta",
       R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}})");
  auto data = calls.Data(false);
  REQUIRE(data.size() == 1);
  CHECK(data[0] == nlohmann::json{{"id", "toolu_1"}, {"name", "get_weather"}, {"arguments", R"({"city": "Paris"})"}});
}

TEST_CASE("tool calls of non-streamed answers") {
  auto openai = AnswerToolCalls(
      Api::kOpenAiChat,
      R"({"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}}]})");
  REQUIRE(openai.size() == 1);
  CHECK(openai[0].id == "call_a");
  CHECK(openai[0].arguments == R"({"x":1})");
  auto anth = AnswerToolCalls(
      Api::kAnthropicMessages,
      R"({"content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t1","name":"g","input":{"y":[1,2]}}]})");
  REQUIRE(anth.size() == 1);
  CHECK(anth[0].name == "g");
  CHECK(anth[0].arguments == R"({"y":[1,2]})");
  CHECK(AnswerToolCalls(Api::kOpenAiChat, R"({"choices":[{"message":{"content":"hi"}}]})").empty());
  CHECK(AnswerToolCalls(Api::kOpenAiChat, "not json").empty());
  CHECK(AnswerToolCalls(Api::kAnthropicMessages, R"({"content":"x"})").empty());
}

TEST_CASE("tool calls are bounded: count, argument bytes, one event's size") {
  ToolCalls many;
  for (long long i = 0; i < 200; ++i) many.Add({i, "c" + std::to_string(i), "f", "{}"});
  CHECK(many.Data(false).size() == ToolCalls::kMaxToolCalls);
  CHECK(many.dropped() == 200 - ToolCalls::kMaxToolCalls);

  ToolCalls big;
  const std::string mib(1u << 20, 'a');
  for (int i = 0; i < 10; ++i) big.Add({0, "c", "f", mib});  // 10 MiB into one call: 8 kept
  CHECK(big.dropped() == 2);
  auto data = big.Data(false);
  REQUIRE(data.size() == 1);
  CHECK(data[0]["truncated"] == true);
  CHECK(data[0]["bytes"] == 8u << 20);
  CHECK(data[0].dump().size() < (1u << 20));  // fits one event
  ToolCalls names;
  names.Add({0, std::string(5000, 'i'), std::string(5000, 'n'), ""});
  CHECK(names.Data(false)[0]["id"].get<std::string>().size() == 200);
}

TEST_CASE("a tool call's long id or name is cut before a character, not inside one") {
  ToolCalls calls;
  std::string id(199, 'i');
  id += "\xc3\xa9";  // é across the 200-byte limit
  calls.Add({0, id, "n", ""});
  CHECK(calls.Data(false)[0]["id"] == std::string(199, 'i'));
  CHECK_NOTHROW((void)calls.Data(false)[0].dump());
}
