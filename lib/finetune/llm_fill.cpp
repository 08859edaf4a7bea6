// The --llm fallback of the request parser (see llm_fill.hpp): prompt, schema, strict reply check.
#include "finetune/llm_fill.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/json_limits.hpp"
#include "finetune/spec_fields.hpp"

namespace dsx::finetune {

namespace {

constexpr const char* kSystemPrompt =
    "You read requests to fine-tune a language model and fill in the fields a parser could not. "
    "Reply with exactly one JSON object and nothing else: no prose, no comments. Its keys are field "
    "names from the JSON schema below, each with a value of the schema's type, or null when the "
    "request does not say it. Never invent a model, dataset or repository the request does not name; "
    "write models and datasets as Hugging Face Hub ids (owner/name) when the request makes them clear. "
    "Durations are in seconds, costs in US dollars. Leave out or set to null every field listed as "
    "already understood.\n\nJSON schema:\n";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The reply's JSON text: the whole reply, or the inside of one ``` fence that is the whole reply
// (models often fence JSON even when told not to; prose around it is still refused).
std::string_view JsonText(std::string_view reply) {
  std::string_view s = Trim(reply);
  if (s.substr(0, 3) != "```" || s.size() < 6 || s.substr(s.size() - 3) != "```") return s;
  s.remove_suffix(3);
  size_t eol = s.find('\n');
  if (eol == std::string_view::npos) return reply;
  return Trim(s.substr(eol + 1));
}

std::string Excerpt(std::string_view s) {
  s = Trim(s);
  if (s.size() <= 160) return std::string(s);
  return std::string(s.substr(0, 160)) + "...";
}

template <typename T>
bool HasType(const nlohmann::json& v) {
  // 18446744073709551615 is an integer to JSON but would wrap to -1 here.
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) return false;
  if constexpr (std::is_same_v<T, std::string>) return v.is_string();
  else if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
  else if constexpr (std::is_same_v<T, double>) return v.is_number();
  else if constexpr (std::is_same_v<T, int>) {
    if (!v.is_number_integer()) return false;
    std::int64_t n = v.get<std::int64_t>();
    return n >= std::numeric_limits<int>::min() && n <= std::numeric_limits<int>::max();
  } else {
    return v.is_number_integer();
  }
}

}  // namespace

ChatFn ChatFnFor(llm::ChatClient& client) {
  return [&client](const llm::ChatRequest& request) { return client.Chat(request, {}); };
}

bool NeedsLlm(const ParseResult& parsed) {
  return !parsed.spec.model.has() || !parsed.spec.dataset.has() || !parsed.unparsed.empty();
}

nlohmann::json SpecReplySchema() {
  nlohmann::json props = nlohmann::json::object();
  Spec empty;
  ForEachSpecField(empty, [&](const char* name, const char* description, const auto& field) {
    using T = typename std::decay_t<decltype(field.value)>::value_type;
    props[name] = {{"type", {SpecTypeName<T>(), "null"}}, {"description", description}};
  });
  return {{"type", "object"}, {"additionalProperties", false}, {"properties", props}};
}

Result<LlmFill> FillWithLlm(std::string_view instruction, const ParseResult& parsed, const ChatFn& chat,
                            const ModelResolver& resolve) {
  if (!chat) return Status::Usage("--llm: no LLM client configured");
  nlohmann::json known = nlohmann::json::object();
  ForEachSpecField(parsed.spec, [&](const char* name, const char*, const auto& field) {
    if (field.has()) known[name] = *field.value;
  });
  std::string unparsed;
  for (const std::string& w : parsed.unparsed) unparsed += (unparsed.empty() ? "" : " ") + w;

  llm::ChatRequest request;
  request.system = std::string(kSystemPrompt) + SpecReplySchema().dump(2);
  request.messages.push_back(
      {"user", "Request: " + std::string(instruction) + "\nAlready understood (do not repeat): " + known.dump() +
                   "\nWords the parser did not understand: " + (unparsed.empty() ? "(none)" : unparsed) +
                   "\nReply with the JSON object."});
  request.max_tokens = 1024;
  request.temperature = 0;
  Result<llm::ChatReply> reply = chat(request);
  if (!reply.ok()) return reply.status().Wrap("--llm");

  nlohmann::json obj = ParseJsonOrDiscarded(JsonText(reply->text));
  if (obj.is_discarded() || !obj.is_object())
    return Status::Failed("--llm: the reply is not a JSON object: '" + Excerpt(reply->text) + "'");

  // Check every key before filling anything: a bad reply changes nothing.
  const nlohmann::json schema = SpecReplySchema();
  for (const auto& item : obj.items()) {
    if (!schema["properties"].contains(item.key()))
      return Status::Failed("--llm: the reply has an unknown key '" + item.key() + "' (not a spec field)");
  }
  Status bad;
  ForEachSpecField(parsed.spec, [&](const char* name, const char*, const auto& field) {
    using T = typename std::decay_t<decltype(field.value)>::value_type;
    auto it = obj.find(name);
    if (!bad.ok() || it == obj.end() || it->is_null() || HasType<T>(*it)) return;
    bad =
        Status::Failed("--llm: the reply's '" + std::string(name) + "' is " + it->dump() + ", not " +
                       (std::is_same_v<T, int> || std::is_same_v<T, std::int64_t> ? "an " : "a ") + SpecTypeName<T>());
  });
  if (!bad.ok()) return bad;

  LlmFill out;
  out.spec = parsed.spec;
  ForEachSpecField(out.spec, [&](const char* name, const char*, auto& field) {
    using T = typename std::decay_t<decltype(field.value)>::value_type;
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return;
    if (field.has()) {
      out.ignored.push_back(name);  // the request said it: the request wins
      return;
    }
    T value = it->template get<T>();
    if constexpr (std::is_same_v<T, std::string>) {
      if (value.empty()) return;
      if (std::string_view(name) == "model" && resolve) {
        if (auto id = resolve(value)) value = *id;
      }
    }
    field.Set(std::move(value), Source::kLlm);
    out.filled.push_back(name);
  });
  return out;
}

}  // namespace dsx::finetune
