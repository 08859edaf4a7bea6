// Chat clients for code-writing models: the OpenAI-compatible chat completions API (OpenAI, and
// local servers such as vLLM or llama.cpp) and the Anthropic Messages API, both streamed over SSE.
//
// Configuration comes from the environment (flags may override the base URL and model):
//   openai:    OPENAI_API_KEY, OPENAI_BASE_URL (default https://api.openai.com)
//   anthropic: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL (default https://api.anthropic.com)
// The key is sent only in the request headers; it is never logged, printed or put in an error
// message (server messages are scrubbed of it before they are returned).
//
// Status codes (they become dsx exit codes):
//   kUsage (2)        no API key for a provider that needs one (a configuration error the user fixes
//                     by exporting the named variable), unknown provider
//   kConflict (4)     401/403: the server refused the key
//   kNotFound (3)     404: no such model or endpoint
//   kUnavailable (5)  cannot connect; 429 or 5xx still failing after the bounded retries
//   kFailed (1)       other HTTP errors (400...), malformed SSE or JSON, a stream that stops early,
//                     an error event inside the stream
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "net/transport.hpp"

namespace dsx::llm {

enum class Provider { kOpenAI, kAnthropic };
Result<Provider> ParseProvider(std::string_view name);
const char* ProviderName(Provider p);

struct Message {
  std::string role;  // "user" or "assistant"
  std::string content;
};

struct ChatRequest {
  std::string model;   // empty: the client's configured model
  std::string system;  // system prompt (OpenAI: a first "system" message)
  std::vector<Message> messages;
  int max_tokens = 8192;
  double temperature = -1;  // < 0: server default
};

struct ChatReply {
  std::string text;           // the whole streamed text
  std::string stop_reason;    // "stop", "length", "end_turn", "max_tokens", ... as the server said
  std::string model;          // as reported by the server, when it says
  int64_t input_tokens = -1;  // -1: not reported
  int64_t output_tokens = -1;
  int attempts = 1;  // HTTP requests made (retries included)
};

// Called with each piece of generated text as it streams in.
using TokenCallback = std::function<void(std::string_view)>;

// Limits of each HTTP request (0: none).
struct HttpOptions {
  long connect_timeout_s = 10;  // TCP + TLS handshake
  long idle_timeout_s = 120;    // abort when no byte arrives for this long (models think slowly)
  long total_timeout_s = 0;     // the whole exchange (a long generation is fine)
};

struct RetryPolicy {
  int max_attempts = 5;       // requests in all, first one included
  double base_delay_s = 1.0;  // backoff: base * 2^(attempt-1), +-20% jitter, capped
  double max_delay_s = 60.0;  // longest wait; a retry-after beyond it gives up at once
};

struct ClientConfig {
  Provider provider = Provider::kOpenAI;
  std::string base_url;  // without the trailing "/v1/..."; a trailing "/v1" is accepted too
  std::string api_key;   // may be empty only for a custom base URL (local servers need none)
  std::string model;
  HttpOptions http;
  RetryPolicy retry;
  // Waits between retries; tests replace it to record the waits instead of sleeping.
  std::function<void(double seconds)> sleep;
  // The HTTP client (tests inject net::testing::FakeTransport). Null: each Chat() call uses a
  // fresh net::CurlTransport, so one client may serve several threads.
  std::shared_ptr<net::Transport> transport;
};

// Reads the provider's environment variables. `model` and `base_url` override when non-empty.
// Default models: gpt-4.1 (openai), claude-sonnet-4-5 (anthropic); a local server usually wants --model.
Result<ClientConfig> ConfigFromEnv(Provider provider, const std::string& model, const std::string& base_url);

class ChatClient {
 public:
  virtual ~ChatClient() = default;
  // One streamed completion. `on_token` may be empty. Retries 429/5xx/connection failures only
  // before the first token arrived (a half-streamed reply is never silently restarted).
  virtual Result<ChatReply> Chat(const ChatRequest& request, const TokenCallback& on_token) = 0;
  virtual const ClientConfig& config() const = 0;
};

// Fails (kUsage) when the configuration cannot work, e.g. no key for the provider's public API.
Result<std::unique_ptr<ChatClient>> MakeClient(ClientConfig config);

// Helpers shared by the two clients (exposed for tests).
// Seconds from a Retry-After value (delta seconds or HTTP date); < 0 when absent or unreadable.
double ParseRetryAfter(const std::string& value);
// The human message inside an OpenAI or Anthropic JSON error body, else the body's start.
std::string ErrorMessageFromBody(const std::string& body);
// Replaces every occurrence of `secret` (and sk-... lookalikes) with "***".
std::string Scrub(std::string text, const std::string& secret);

}  // namespace dsx::llm
