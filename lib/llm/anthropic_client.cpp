// Anthropic Messages API, streamed:
//   POST {base}/v1/messages  x-api-key, anthropic-version: 2023-06-01, {"stream": true, ...}
//   -> events message_start, content_block_start, content_block_delta (delta.type "text_delta"),
//      content_block_stop, message_delta (stop_reason, usage), message_stop; "ping" and "error"
//      may appear anywhere. Unknown event types are ignored, as the API docs ask.
#include <nlohmann/json.hpp>

#include "llm/stream_client.hpp"

namespace dsx::llm::internal {
namespace {

using nlohmann::json;

Status ErrorEvent(const json& j) {
  std::string type, msg;
  if (j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    if (e.contains("type") && e["type"].is_string()) type = e["type"].get<std::string>();
    if (e.contains("message") && e["message"].is_string()) msg = e["message"].get<std::string>();
  }
  std::string text = "server error in stream: " + (type.empty() ? "error" : type) + ": " + msg;
  // Overload and internal errors are transient: retried when no text has streamed yet.
  if (type == "overloaded_error" || type == "api_error" || type == "rate_limit_error") return Status::Unavailable(text);
  return Status::Failed(text);
}

class AnthropicDecoder : public StreamDecoder {
 public:
  Status OnEvent(const SseEvent& ev, ChatReply& reply, const TokenCallback& on_token) override {
    json j = json::parse(ev.data, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::Failed("malformed JSON in '" + ev.type + "' event: " + Excerpt(ev.data));
    std::string type = j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : ev.type;
    if (type == "error") return ErrorEvent(j);
    if (stopped_) return {};
    if (type == "message_start") {
      started_ = true;
      if (j.contains("message") && j["message"].is_object()) {
        const auto& m = j["message"];
        if (m.contains("model") && m["model"].is_string()) reply.model = m["model"].get<std::string>();
        if (m.contains("usage") && m["usage"].is_object() && m["usage"].contains("input_tokens") &&
            m["usage"]["input_tokens"].is_number_integer())
          reply.input_tokens = m["usage"]["input_tokens"].get<int64_t>();
      }
    } else if (type == "content_block_delta") {
      if (!j.contains("delta") || !j["delta"].is_object())
        return Status::Failed("content_block_delta without a delta: " + Excerpt(ev.data));
      const auto& d = j["delta"];
      if (d.contains("type") && d["type"] == "text_delta") {
        if (!d.contains("text") || !d["text"].is_string())
          return Status::Failed("text_delta without text: " + Excerpt(ev.data));
        const std::string& piece = d["text"].get_ref<const std::string&>();
        reply.text += piece;
        if (!piece.empty()) on_token(piece);
      }  // thinking_delta, input_json_delta, signature_delta: not part of the answer text
    } else if (type == "message_delta") {
      if (j.contains("delta") && j["delta"].is_object() && j["delta"].contains("stop_reason") &&
          j["delta"]["stop_reason"].is_string())
        reply.stop_reason = j["delta"]["stop_reason"].get<std::string>();
      if (j.contains("usage") && j["usage"].is_object() && j["usage"].contains("output_tokens") &&
          j["usage"]["output_tokens"].is_number_integer())
        reply.output_tokens = j["usage"]["output_tokens"].get<int64_t>();
    } else if (type == "message_stop") {
      stopped_ = true;
    }
    return {};
  }

  Status OnEnd(ChatReply&) override {
    if (stopped_) return {};
    if (!started_) return Status::Failed("stream ended without a message_start event");
    return Status::Failed("stream ended before message_stop (connection cut?)");
  }

  Status OnWholeJson(const std::string& body, ChatReply& reply, const TokenCallback& on_token) override {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::Failed("malformed JSON reply: " + Excerpt(body));
    if (j.contains("type") && j["type"] == "error") return ErrorEvent(j);
    if (!j.contains("content") || !j["content"].is_array())
      return Status::Failed("reply has no content array: " + Excerpt(body));
    for (const auto& block : j["content"])
      if (block.is_object() && block.contains("type") && block["type"] == "text" && block.contains("text") &&
          block["text"].is_string())
        reply.text += block["text"].get<std::string>();
    on_token(reply.text);
    if (j.contains("stop_reason") && j["stop_reason"].is_string())
      reply.stop_reason = j["stop_reason"].get<std::string>();
    if (j.contains("model") && j["model"].is_string()) reply.model = j["model"].get<std::string>();
    return {};
  }

 private:
  bool started_ = false;
  bool stopped_ = false;
};

class AnthropicClient : public StreamingClient {
 public:
  using StreamingClient::StreamingClient;

 protected:
  std::string Path() const override { return "/v1/messages"; }
  const char* KeyVariable() const override { return "ANTHROPIC_API_KEY"; }
  net::HeaderList Headers() const override {
    net::HeaderList h = {
        {"content-type", "application/json"}, {"accept", "text/event-stream"}, {"anthropic-version", "2023-06-01"}};
    if (!config_.api_key.empty()) h.emplace_back("x-api-key", config_.api_key);
    return h;
  }
  std::string Body(const ChatRequest& r) const override {
    json messages = json::array();
    for (const auto& m : r.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    json body = {{"model", r.model},
                 {"max_tokens", r.max_tokens > 0 ? r.max_tokens : 8192},  // required by the API
                 {"messages", messages},
                 {"stream", true}};
    if (!r.system.empty()) body["system"] = r.system;
    if (r.temperature >= 0) body["temperature"] = r.temperature;
    return body.dump();
  }
  std::unique_ptr<StreamDecoder> NewDecoder() const override { return std::make_unique<AnthropicDecoder>(); }
};

}  // namespace

std::unique_ptr<ChatClient> NewAnthropicClient(ClientConfig config) {
  return std::make_unique<AnthropicClient>(std::move(config));
}

}  // namespace dsx::llm::internal
