// The durable LLM proxy's pure parts (no sockets, no session): which upstream and API a
// request path names, what a request body must hold, and what each upstream SSE event or JSON
// answer contributes to the session (the text deltas and tool calls). Fuzzed by tests/fuzz/fuzz_llm_proxy.cpp,
// unit-tested by tests/llm_proxy/proxy_request_test.cpp. docs/llm-proxy.md is the user's view.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::llm::proxy {

enum class Api { kOpenAiChat, kAnthropicMessages };

// The route a path under /llm/ names.
struct ProxyTarget {
  std::string upstream;  // "" for the default upstream
  Api api = Api::kOpenAiChat;
};
// "/llm/v1/chat/completions" -> default, OpenAI; "/llm/NAME/v1/chat/completions" -> NAME,
// OpenAI; "/llm/NAME/v1/messages" -> NAME, Anthropic. Anything else: nullopt (404). The query
// string must already be cut off. NAME: 1..64 of [A-Za-z0-9._-].
std::optional<ProxyTarget> ParseProxyPath(std::string_view path);

// One --llm-proxy value: "URL" (the default upstream) or "NAME=URL". URL: http:// or https://,
// no user:password part, no query or fragment; a trailing '/' is dropped. Usage errors name the
// problem (never echo more than the scheme and host of a URL that may hold a secret).
struct UpstreamSpec {
  std::string name;  // "" = default
  std::string base_url;
};
Result<UpstreamSpec> ParseUpstreamSpec(std::string_view value);

// The URL the proxy calls for `api` on an upstream whose base URL is `base`:
// OpenAI: base + "/chat/completions" (base is ".../v1"); Anthropic: base + "/v1/messages", or
// base + "/messages" when base already ends in "/v1".
std::string UpstreamUrl(const std::string& base, Api api);

// What the proxy needs from a request body (the body itself goes upstream byte for byte).
struct ProxyRequest {
  std::string model;
  bool stream = false;
  std::optional<std::string> user_text;  // the last user message's text, when there is one
};
// Validates the body: a JSON object (depth <= 64) with `model` a non-empty string, `messages`
// an array of objects whose `role` is a string and `content` a string, an array (text parts are
// joined) or null; `stream` a boolean when present. Errors (HTTP 400) name the field and the
// type it needs: "field 'messages' must be an array (got string)".
Result<ProxyRequest> ParseProxyRequest(std::string_view body, Api api);

// user.message's data for a prompt: {"text": text}, or, when the text as stored JSON would be
// longer than `max_json` bytes (an event holds at most 1 MiB; a long-context request may carry
// megabytes), its start cut at a character boundary with "truncated": true and the whole
// text's size in "bytes". `text` is valid UTF-8 (it comes from a parsed body). Refusing the run
// instead would refuse a request the upstream takes; the upstream gets the whole request.
inline constexpr std::size_t kMaxStoredPromptJson = 900u << 10;
nlohmann::json StoredPromptData(const std::string& text, std::size_t max_json = kMaxStoredPromptJson);

// One fragment of a tool call the model makes: OpenAI `delta.tool_calls[i]` (streamed) or
// `message.tool_calls[i]`; Anthropic `tool_use` content blocks, their input streamed as
// `input_json_delta`s. Fragments of one call share `index`; the first carries id and name.
struct ToolCallPart {
  long long index = 0;
  std::string id;
  std::string name;
  std::string arguments;  // a piece of the arguments' JSON text
};

// The tool calls of one reply, put together from their fragments (in the order calls began).
// Bounded: at most kMaxToolCalls calls and kMaxToolArgumentBytes of arguments in all; what is
// past that is dropped and counted in dropped().
class ToolCalls {
 public:
  static constexpr std::size_t kMaxToolCalls = 128;
  static constexpr std::size_t kMaxToolArgumentBytes = 8u << 20;
  void Add(const ToolCallPart& part);
  bool empty() const { return calls_.empty(); }
  std::size_t dropped() const { return dropped_; }
  // data of one `tool.call` event per call: {"id","name","arguments"}; arguments is the JSON
  // text as the model wrote it (not parsed: it may be cut or invalid), cut like a prompt
  // past ~900 KiB ("truncated": true, "bytes": its size). `incomplete`: the reply did not end
  // well, so the last call's arguments may be cut (adds "incomplete": true to each).
  std::vector<nlohmann::json> Data(bool incomplete) const;

 private:
  std::vector<ToolCallPart> calls_;
  std::size_t bytes_ = 0;
  std::size_t dropped_ = 0;
};

// What one upstream SSE event means for the run.
struct StreamStep {
  std::string text;   // content delta ("" for none)
  std::vector<ToolCallPart> tool_calls;  // tool call fragments
  bool done = false;  // the upstream's end marker: OpenAI `[DONE]`, Anthropic `message_stop`
  std::string error;  // non-empty: the upstream reported an error in the stream
  bool forward = true;  // pass the event on to the client
};
// `type`: the SSE event type ("message" when none); `data`: its data.
StreamStep ParseStreamEvent(Api api, std::string_view type, std::string_view data);

// The assistant text of a non-streamed answer (OpenAI choices[0].message.content, Anthropic's
// text content blocks joined). nullopt when the body is not such an answer.
std::optional<std::string> AnswerText(Api api, std::string_view body);
// The tool calls of a non-streamed answer (none when it has none or is not an answer).
std::vector<ToolCallPart> AnswerToolCalls(Api api, std::string_view body);

// The final frame the client gets when the run ends in an error (the text of data.error):
// OpenAI `data: {"error":{"message":…,"type":"upstream_error"}}` then `data: [DONE]`,
// Anthropic `event: error` with {"type":"error","error":{"type":"api_error","message":…}}.
// `id` is the session offset after run.end.
std::string ErrorFrame(Api api, const std::string& message, const std::string& id);

// A short, single-line, printable excerpt of an upstream's error body for data.error (at most
// `limit` bytes; the JSON error message when the body is the usual {"error":{"message":…}}).
std::string BodyExcerpt(std::string_view body, std::size_t limit = 300);

}  // namespace dsx::llm::proxy
