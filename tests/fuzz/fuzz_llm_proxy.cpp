// libFuzzer target: the LLM proxy's request parsing (lib/llm/proxy/proxy_request.cpp): request
// paths, --llm-proxy values, request bodies (JSON from any client), upstream SSE event data and
// non-streamed answers (JSON from any upstream) with their tool calls, error excerpts and frames. Any crash, sanitizer
// report or hang is a bug; bad input must only ever produce an error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/utf8.hpp"
#include "llm/proxy/proxy_request.hpp"

using namespace dsx::llm::proxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Api api = (data[0] & 1) ? Api::kAnthropicMessages : Api::kOpenAiChat;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  // Path and spec: the first line; body and event data: the rest.
  const std::size_t nl = in.find('\n');
  const std::string_view head = in.substr(0, nl);
  const std::string_view rest = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  if (auto t = ParseProxyPath(head)) {
    if (t->upstream.size() > 64 || t->upstream == "." || t->upstream == "..") __builtin_trap();
  }
  if (auto s = ParseUpstreamSpec(head); s.ok()) {
    (void)UpstreamUrl(s->base_url, api);
  }
  if (auto r = ParseProxyRequest(rest, api); r.ok()) {
    if (r->model.empty()) __builtin_trap();
  }
  if (dsx::IsValidUtf8(rest)) {  // a prompt's text comes from a parsed body: valid UTF-8
    const std::size_t limit = 2 + (head.size() % 200);
    const nlohmann::json d = StoredPromptData(std::string(rest), limit);
    const std::string t = d["text"];
    if (rest.compare(0, t.size(), t) != 0 || !dsx::IsValidUtf8(t)) __builtin_trap();  // a prefix, whole characters
    if (d.contains("truncated") ? nlohmann::json(t).dump().size() > limit : t.size() != rest.size()) __builtin_trap();
  }
  const StreamStep step = ParseStreamEvent(api, head, rest);
  if (!step.error.empty() && step.forward) __builtin_trap();  // errors are never forwarded as data
  (void)AnswerText(api, rest);
  // Tool calls from any upstream: each tool.call event fits one event (1 MiB) in valid UTF-8.
  ToolCalls calls;
  for (const ToolCallPart& p : step.tool_calls) calls.Add(p);
  for (const ToolCallPart& p : AnswerToolCalls(api, rest)) calls.Add(p);
  for (const nlohmann::json& d : calls.Data(head.size() % 2 == 1)) {
    if (d.dump().size() > (1u << 20) - 1024) __builtin_trap();  // dump() throws on invalid UTF-8
  }
  const std::string excerpt = BodyExcerpt(rest);
  for (char c : excerpt) {
    if (static_cast<unsigned char>(c) < 0x20) __builtin_trap();  // one line, printable
  }
  // The error frame's JSON must parse back (invalid UTF-8 in the message is replaced).
  const std::string frame = ErrorFrame(api, std::string(rest), "0_0");
  const std::size_t d = frame.find("data: ");
  const std::size_t e = frame.find('\n', d);
  if (d == std::string::npos || e == std::string::npos) __builtin_trap();
  if (nlohmann::json::parse(frame.substr(d + 6, e - d - 6), nullptr, false).is_discarded()) __builtin_trap();
  return 0;
}
