#include "llm/chat.hpp"

#include <cstdlib>
#include <regex>

#include <nlohmann/json.hpp>

#include "llm/stream_client.hpp"
#include "net/http_date.hpp"

namespace dsx::llm {

Result<Provider> ParseProvider(std::string_view name) {
  if (name == "openai") return Provider::kOpenAI;
  if (name == "anthropic") return Provider::kAnthropic;
  return Status::Usage("unknown provider '" + std::string(name) + "': use openai or anthropic");
}

const char* ProviderName(Provider p) { return p == Provider::kOpenAI ? "openai" : "anthropic"; }

namespace {
std::string GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
}  // namespace

Result<ClientConfig> ConfigFromEnv(Provider provider, const std::string& model, const std::string& base_url) {
  ClientConfig c;
  c.provider = provider;
  const bool openai = provider == Provider::kOpenAI;
  c.api_key = GetEnv(openai ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY");
  c.base_url = !base_url.empty() ? base_url : GetEnv(openai ? "OPENAI_BASE_URL" : "ANTHROPIC_BASE_URL");
  c.model = !model.empty() ? model : (openai ? "gpt-4.1" : "claude-sonnet-4-5");
  return c;
}

Result<std::unique_ptr<ChatClient>> MakeClient(ClientConfig config) {
  const bool openai = config.provider == Provider::kOpenAI;
  const char* key_var = openai ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY";
  const char* base_var = openai ? "OPENAI_BASE_URL" : "ANTHROPIC_BASE_URL";
  if (config.base_url.empty()) {
    // The public APIs always need a key; a custom base URL (vLLM, llama.cpp) may not.
    if (config.api_key.empty())
      return Status::Usage(std::string("no API key for ") + ProviderName(config.provider) + ": set " + key_var +
                           " (or " + base_var + " for a local server that needs none)");
    config.base_url = openai ? "https://api.openai.com" : "https://api.anthropic.com";
  }
  if (config.model.empty()) return Status::Usage("no model given: use --model");
  if (config.retry.max_attempts < 1) config.retry.max_attempts = 1;
  if (openai) return internal::NewOpenAIClient(std::move(config));
  return internal::NewAnthropicClient(std::move(config));
}

double ParseRetryAfter(const std::string& value) {
  if (value.empty()) return -1;
  char* end = nullptr;
  double s = std::strtod(value.c_str(), &end);
  if (end != value.c_str() && *end == '\0' && s >= 0) return s;
  time_t when = net::ParseHttpDate(value);  // HTTP-date form
  if (when < 0) return -1;
  double delta = std::difftime(when, std::time(nullptr));
  return delta < 0 ? 0 : delta;
}

std::string ErrorMessageFromBody(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    // OpenAI {"error":{"message":..}}, Anthropic {"type":"error","error":{"type":..,"message":..}}
    if (j.contains("error")) {
      const auto& e = j["error"];
      if (e.is_object() && e.contains("message") && e["message"].is_string()) {
        std::string msg = e["message"].get<std::string>();
        if (e.contains("type") && e["type"].is_string()) msg = e["type"].get<std::string>() + ": " + msg;
        return msg;
      }
      if (e.is_string()) return e.get<std::string>();
    }
    if (j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  }
  std::string s = body.substr(0, 200);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s.empty() ? "(empty body)" : s;
}

std::string Scrub(std::string text, const std::string& secret) {
  if (secret.size() >= 4) {
    for (size_t pos; (pos = text.find(secret)) != std::string::npos;) text.replace(pos, secret.size(), "***");
  }
  static const std::regex kKeyLike(R"((sk-[A-Za-z0-9_\-]{2})[A-Za-z0-9_\-*]{6,})");
  return std::regex_replace(text, kKeyLike, "$1***");
}

}  // namespace dsx::llm
