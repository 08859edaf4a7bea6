#include "llm/proxy/proxy_request.hpp"

#include <algorithm>

#include "core/json_limits.hpp"

namespace dsx::llm::proxy {
namespace {

using nlohmann::json;

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!NameChar(c)) return false;
  }
  return true;
}

const char* TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::discarded: return "invalid";
    default: return "number";
  }
}

Status WrongType(const std::string& field, const char* want, const json& got) {
  return Status::Failed("field '" + field + "' must be " + want + " (got " + TypeName(got) + ")");
}

// The text of a message's content: a string, or an array of parts whose text parts are joined.
Result<std::string> ContentText(const json& content, const std::string& field) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) return WrongType(field, "a string or an array", content);
  std::string out;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string pf = field + "[" + std::to_string(i) + "]";
    if (part.is_string()) {
      out += part.get<std::string>();
      continue;
    }
    if (!part.is_object()) return WrongType(pf, "an object", part);
    auto t = part.find("type");
    if (t == part.end() || !t->is_string()) continue;  // other part kinds pass through unchecked
    if (*t == "text") {
      auto tx = part.find("text");
      if (tx == part.end() || !tx->is_string()) return WrongType(pf + ".text", "a string", tx == part.end() ? json() : *tx);
      out += tx->get<std::string>();
    }
  }
  return out;
}

std::string OneLine(std::string_view s, std::size_t limit) {
  std::string out;
  for (char c : s) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::optional<ProxyTarget> ParseProxyPath(std::string_view path) {
  constexpr std::string_view kPrefix = "/llm/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  std::string_view rest = path.substr(kPrefix.size());
  ProxyTarget t;
  if (rest == "v1/chat/completions") return t;
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view name = rest.substr(0, slash);
  const std::string_view tail = rest.substr(slash + 1);
  if (!ValidName(name)) return std::nullopt;
  t.upstream = std::string(name);
  if (tail == "v1/chat/completions") return t;
  if (tail == "v1/messages") {
    t.api = Api::kAnthropicMessages;
    return t;
  }
  return std::nullopt;
}

Result<UpstreamSpec> ParseUpstreamSpec(std::string_view value) {
  UpstreamSpec s;
  std::string_view url = value;
  const auto scheme = value.find("://");
  const auto eq = value.find('=');
  if (eq != std::string_view::npos && (scheme == std::string_view::npos || eq < scheme)) {
    s.name = std::string(value.substr(0, eq));
    url = value.substr(eq + 1);
    if (!ValidName(s.name)) {
      return Status::Usage("invalid --llm-proxy name '" + OneLine(s.name, 64) +
                           "': want 1..64 of letters, digits, '.', '_' and '-'");
    }
    if (s.name == "v1") return Status::Usage("invalid --llm-proxy name 'v1': it is the default upstream's path");
  }
  const bool http = url.starts_with("http://"), https = url.starts_with("https://");
  if (!http && !https) return Status::Usage("invalid --llm-proxy URL: want http:// or https://");
  const std::string_view after = url.substr(http ? 7 : 8);
  const std::string_view authority = after.substr(0, after.find('/'));
  if (authority.empty()) return Status::Usage("invalid --llm-proxy URL: no host");
  if (authority.find('@') != std::string_view::npos) {
    return Status::Usage("invalid --llm-proxy URL: no user or password in it (keys pass through from the client)");
  }
  if (url.find_first_of("?# \t\r\n") != std::string_view::npos) {
    return Status::Usage("invalid --llm-proxy URL for host '" + OneLine(authority, 100) +
                         "': no query, fragment or whitespace");
  }
  s.base_url = std::string(url);
  while (s.base_url.size() > (http ? 7u : 8u) + authority.size() && s.base_url.back() == '/') s.base_url.pop_back();
  return s;
}

std::string UpstreamUrl(const std::string& base, Api api) {
  if (api == Api::kOpenAiChat) return base + "/chat/completions";
  if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0) return base + "/messages";
  return base + "/v1/messages";
}

Result<ProxyRequest> ParseProxyRequest(std::string_view body, Api api) {
  (void)api;  // both APIs share the fields the proxy reads
  if (body.empty()) return Status::Failed("empty request body: want a JSON object");
  auto parsed = ParseJsonBounded(body);
  if (!parsed.ok()) return Status::Failed("invalid request body: " + parsed.status().message());
  const json& j = *parsed;
  if (!j.is_object()) return Status::Failed(std::string("request body must be a JSON object (got ") + TypeName(j) + ")");
  ProxyRequest r;
  auto model = j.find("model");
  if (model == j.end()) return Status::Failed("field 'model' is missing");
  if (!model->is_string()) return WrongType("model", "a string", *model);
  r.model = model->get<std::string>();
  if (r.model.empty() || r.model.size() > 200) return Status::Failed("field 'model' must be 1..200 bytes");
  if (auto s = j.find("stream"); s != j.end()) {
    if (!s->is_boolean()) return WrongType("stream", "a boolean", *s);
    r.stream = s->get<bool>();
  }
  auto messages = j.find("messages");
  if (messages == j.end()) return Status::Failed("field 'messages' is missing");
  if (!messages->is_array()) return WrongType("messages", "an array", *messages);
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string f = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return WrongType(f, "an object", m);
    auto role = m.find("role");
    if (role == m.end()) return Status::Failed("field '" + f + ".role' is missing");
    if (!role->is_string()) return WrongType(f + ".role", "a string", *role);
    auto content = m.find("content");
    std::string text;
    if (content != m.end()) {
      auto t = ContentText(*content, f + ".content");
      if (!t.ok()) return t.status();
      text = std::move(t).value();
    }
    if (*role == "user") r.user_text = std::move(text);
  }
  return r;
}

StreamStep ParseStreamEvent(Api api, std::string_view type, std::string_view data) {
  StreamStep s;
  if (api == Api::kOpenAiChat) {
    std::string_view d = data;
    while (!d.empty() && (d.back() == ' ' || d.back() == '\n' || d.back() == '\r')) d.remove_suffix(1);
    if (d == "[DONE]") {
      s.done = true;
      s.forward = false;  // the proxy sends its own [DONE] after the run is stored
      return s;
    }
    const json j = ParseJsonOrDiscarded(data);
    if (!j.is_object()) return s;  // forwarded as is; nothing to store
    if (auto e = j.find("error"); e != j.end() && !e->is_null()) {
      const json* msg = e->is_object() && e->contains("message") ? &(*e)["message"] : nullptr;
      s.error = "upstream sent an error in the stream: " +
                BodyExcerpt(msg && msg->is_string() ? msg->get<std::string>() : e->dump(-1, ' ', false, json::error_handler_t::replace));
      s.forward = false;
      return s;
    }
    auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array()) return s;
    for (const json& c : *choices) {
      if (!c.is_object()) continue;
      if (auto idx = c.find("index"); idx != c.end() && idx->is_number_integer() && idx->get<long long>() != 0) continue;
      auto delta = c.find("delta");
      if (delta == c.end() || !delta->is_object()) continue;
      auto content = delta->find("content");
      if (content != delta->end() && content->is_string()) s.text += content->get<std::string>();
    }
    return s;
  }
  // Anthropic Messages streaming events.
  if (type == "message_stop") {
    s.done = true;
    return s;
  }
  const json j = ParseJsonOrDiscarded(data);
  if (type == "error" || (j.is_object() && j.value("type", "") == "error")) {
    std::string why;
    if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string()) {
      why = j["error"]["message"].get<std::string>();
    } else {
      why = std::string(data);
    }
    s.error = "upstream sent an error in the stream: " + BodyExcerpt(why);
    s.forward = false;
    return s;
  }
  if (type == "content_block_delta" && j.is_object()) {
    auto delta = j.find("delta");
    if (delta != j.end() && delta->is_object() && delta->value("type", "") == "text_delta") {
      auto t = delta->find("text");
      if (t != delta->end() && t->is_string()) s.text = t->get<std::string>();
    }
  }
  return s;
}

std::optional<std::string> AnswerText(Api api, std::string_view body) {
  const json j = ParseJsonOrDiscarded(body);
  if (!j.is_object()) return std::nullopt;
  if (api == Api::kOpenAiChat) {
    auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array()) return std::nullopt;
    if (choices->empty()) return std::string();
    const json& c = (*choices)[0];
    if (!c.is_object() || !c.contains("message") || !c["message"].is_object()) return std::nullopt;
    const json& m = c["message"];
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) return std::string();
    if (!content->is_string()) return std::nullopt;
    return content->get<std::string>();
  }
  auto content = j.find("content");
  if (content == j.end() || !content->is_array()) return std::nullopt;
  std::string out;
  for (const json& b : *content) {
    if (b.is_object() && b.value("type", "") == "text" && b.contains("text") && b["text"].is_string()) {
      out += b["text"].get<std::string>();
    }
  }
  return out;
}

std::string ErrorFrame(Api api, const std::string& message, const std::string& id) {
  if (api == Api::kOpenAiChat) {
    const json e = {{"error", {{"message", message}, {"type", "upstream_error"}}}};
    return "id: " + id + "\ndata: " + e.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\nid: " + id +
           "\ndata: [DONE]\n\n";
  }
  const json e = {{"type", "error"}, {"error", {{"type", "api_error"}, {"message", message}}}};
  return "id: " + id + "\nevent: error\ndata: " + e.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

std::string BodyExcerpt(std::string_view body, std::size_t limit) {
  const json j = ParseJsonOrDiscarded(body);
  if (j.is_object()) {
    auto e = j.find("error");
    if (e != j.end()) {
      if (e->is_string()) return OneLine(e->get<std::string>(), limit);
      if (e->is_object() && e->contains("message") && (*e)["message"].is_string()) {
        return OneLine((*e)["message"].get<std::string>(), limit);
      }
    }
  }
  return OneLine(body, limit);
}

nlohmann::json StoredPromptData(const std::string& text, std::size_t max_json) {
  auto stored_size = [](std::string_view t) {
    return nlohmann::json(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
  };
  // A JSON string is at most 6 bytes per input byte (\u00XX) plus its quotes.
  if (text.size() * 6 + 2 <= max_json || stored_size(text) <= max_json) return {{"text", text}};
  std::size_t cut = std::min(text.size(), max_json);
  while (true) {
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    if (cut == 0 || stored_size(std::string_view(text).substr(0, cut)) <= max_json) break;  // "" at worst
    cut = cut * 3 / 4;  // escapes made it longer (quotes, control characters)
  }
  return {{"text", text.substr(0, cut)}, {"truncated", true}, {"bytes", text.size()}};
}

}  // namespace dsx::llm::proxy
