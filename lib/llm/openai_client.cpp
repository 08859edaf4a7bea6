// OpenAI-compatible chat completions, streamed:
//   POST {base}/v1/chat/completions {"model","messages":[...],"stream":true}
//   -> "data: {chunk}" events with choices[0].delta.content, then "data: [DONE]".
// The same wire format is served by vLLM, llama.cpp's server, SGLang and others.
#include <nlohmann/json.hpp>

#include "llm/stream_client.hpp"

namespace dsx::llm::internal {
namespace {

using nlohmann::json;

void ReadUsage(const json& j, ChatReply& reply) {
  if (!j.contains("usage") || !j["usage"].is_object()) return;
  const auto& u = j["usage"];
  if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer())
    reply.input_tokens = u["prompt_tokens"].get<int64_t>();
  if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer())
    reply.output_tokens = u["completion_tokens"].get<int64_t>();
}

Status ServerError(const json& j) {
  const auto& e = j["error"];
  std::string msg =
      e.is_object() && e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : e.dump();
  return Status::Failed("server error in stream: " + msg);
}

class OpenAIDecoder : public StreamDecoder {
 public:
  Status OnEvent(const SseEvent& ev, ChatReply& reply, const TokenCallback& on_token) override {
    if (ev.data == "[DONE]") {
      done_ = true;
      return {};
    }
    if (done_) return Status::Failed("data after [DONE]: " + Excerpt(ev.data));
    json j = json::parse(ev.data, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::Failed("malformed JSON in stream event: " + Excerpt(ev.data));
    if (j.contains("error")) return ServerError(j);
    if (j.contains("model") && j["model"].is_string()) reply.model = j["model"].get<std::string>();
    ReadUsage(j, reply);
    if (!j.contains("choices")) return {};
    if (!j["choices"].is_array()) return Status::Failed("'choices' is not an array: " + Excerpt(ev.data));
    if (j["choices"].empty()) return {};  // e.g. the usage-only final chunk
    const json& choice = j["choices"][0];
    if (!choice.is_object()) return Status::Failed("malformed choice: " + Excerpt(ev.data));
    if (choice.contains("delta") && choice["delta"].is_object()) {
      const json& delta = choice["delta"];
      if (delta.contains("content") && delta["content"].is_string()) {
        const std::string& piece = delta["content"].get_ref<const std::string&>();
        if (!piece.empty()) {
          reply.text += piece;
          on_token(piece);
        }
      } else if (delta.contains("content") && !delta["content"].is_null()) {
        return Status::Failed("'delta.content' is not a string: " + Excerpt(ev.data));
      }
    }
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
      reply.stop_reason = choice["finish_reason"].get<std::string>();
    return {};
  }

  Status OnEnd(ChatReply& reply) override {
    // [DONE] is the documented end; a server that closes after a finish_reason is accepted too.
    if (done_ || !reply.stop_reason.empty()) return {};
    return Status::Failed("stream ended before [DONE] (connection cut?)");
  }

  Status OnWholeJson(const std::string& body, ChatReply& reply, const TokenCallback& on_token) override {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::Failed("malformed JSON reply: " + Excerpt(body));
    if (j.contains("error")) return ServerError(j);
    if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() ||
        !j["choices"][0].contains("message"))
      return Status::Failed("reply has no choices[0].message: " + Excerpt(body));
    const json& msg = j["choices"][0]["message"];
    if (!msg.contains("content") || !msg["content"].is_string())
      return Status::Failed("reply has no text content: " + Excerpt(body));
    reply.text = msg["content"].get<std::string>();
    on_token(reply.text);
    if (j["choices"][0].contains("finish_reason") && j["choices"][0]["finish_reason"].is_string())
      reply.stop_reason = j["choices"][0]["finish_reason"].get<std::string>();
    if (j.contains("model") && j["model"].is_string()) reply.model = j["model"].get<std::string>();
    ReadUsage(j, reply);
    return {};
  }

 private:
  bool done_ = false;
};

class OpenAIClient : public StreamingClient {
 public:
  using StreamingClient::StreamingClient;

 protected:
  std::string Path() const override { return "/v1/chat/completions"; }
  const char* KeyVariable() const override { return "OPENAI_API_KEY"; }
  net::HeaderList Headers() const override {
    net::HeaderList h = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
    if (!config_.api_key.empty()) h.emplace_back("Authorization", "Bearer " + config_.api_key);
    return h;
  }
  std::string Body(const ChatRequest& r) const override {
    json messages = json::array();
    if (!r.system.empty()) messages.push_back({{"role", "system"}, {"content", r.system}});
    for (const auto& m : r.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    json body = {{"model", r.model}, {"messages", messages}, {"stream", true}};
    // OpenAI's own API now wants max_completion_tokens (its reasoning models reject max_tokens);
    // local OpenAI-compatible servers all understand the older max_tokens.
    const bool official = config_.base_url.find("api.openai.com") != std::string::npos;
    if (r.max_tokens > 0) body[official ? "max_completion_tokens" : "max_tokens"] = r.max_tokens;
    if (r.temperature >= 0) body["temperature"] = r.temperature;
    return body.dump();
  }
  std::unique_ptr<StreamDecoder> NewDecoder() const override { return std::make_unique<OpenAIDecoder>(); }
};

}  // namespace

std::unique_ptr<ChatClient> NewOpenAIClient(ClientConfig config) {
  return std::make_unique<OpenAIClient>(std::move(config));
}

}  // namespace dsx::llm::internal
