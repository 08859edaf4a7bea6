// Internal: the request/retry loop shared by the OpenAI and Anthropic clients. Each provider
// supplies its URL, headers, JSON body and a decoder for its SSE events.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "llm/chat.hpp"
#include "net/sse_parser.hpp"

namespace dsx::llm::internal {

using net::SseEvent;

// Decodes one streamed reply. A fresh decoder is made for every attempt.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // One SSE event. Non-OK aborts the transfer: kFailed for malformed data or a server error event,
  // kUnavailable for a transient server error (overloaded), which is retried when no text came yet.
  virtual Status OnEvent(const SseEvent& ev, ChatReply& reply, const TokenCallback& on_token) = 0;
  // The body ended: checks that the stream ended with its end marker.
  virtual Status OnEnd(ChatReply& reply) = 0;
  // A server that ignored "stream": true and sent one JSON document instead.
  virtual Status OnWholeJson(const std::string& body, ChatReply& reply, const TokenCallback& on_token) = 0;
};

class StreamingClient : public ChatClient {
 public:
  explicit StreamingClient(ClientConfig config);
  Result<ChatReply> Chat(const ChatRequest& request, const TokenCallback& on_token) override;
  const ClientConfig& config() const override { return config_; }

 protected:
  virtual std::string Path() const = 0;         // "/v1/chat/completions"
  virtual net::HeaderList Headers() const = 0;  // may hold the key: never logged
  virtual std::string Body(const ChatRequest& request) const = 0;
  virtual std::unique_ptr<StreamDecoder> NewDecoder() const = 0;
  virtual const char* KeyVariable() const = 0;  // for hints in messages

  std::string Url() const;
  // One streamed POST through the configured transport (a fresh CurlTransport when none).
  net::Exchange Post(const net::HttpRequest& request, const net::StreamHandler& handler);
  ClientConfig config_;
};

std::unique_ptr<ChatClient> NewOpenAIClient(ClientConfig config);
std::unique_ptr<ChatClient> NewAnthropicClient(ClientConfig config);

// "<what>: <first 160 bytes>" for malformed-data messages.
std::string Excerpt(const std::string& data);

}  // namespace dsx::llm::internal
