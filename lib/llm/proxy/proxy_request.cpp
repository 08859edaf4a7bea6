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

// A string field of an object, or "" (an upstream's answer is read, not validated).
std::string StrOr(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

long long IntOr(const json& o, const char* key, long long fallback) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<long long>() : fallback;
}

// At most `limit` bytes of valid UTF-8 `s`, cut before a character, not inside one.
std::string CutAtCharacter(const std::string& s, std::size_t limit) {
  if (s.size() <= limit) return s;
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

std::string DumpJson(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// OpenAI tool_calls[i]: {"index","id","type":"function","function":{"name","arguments"}}.
std::optional<ToolCallPart> OpenAiToolCallPart(const json& call) {
  if (!call.is_object()) return std::nullopt;
  ToolCallPart p;
  p.index = IntOr(call, "index", 0);
  p.id = StrOr(call, "id");
  auto fn = call.find("function");
  if (fn != call.end() && fn->is_object()) {
    p.name = StrOr(*fn, "name");
    p.arguments = StrOr(*fn, "arguments");
  }
  return p;
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
      auto calls = delta->find("tool_calls");
      if (calls == delta->end() || !calls->is_array()) continue;
      for (const json& call : *calls) {
        if (auto part = OpenAiToolCallPart(call)) s.tool_calls.push_back(std::move(*part));
      }
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
  if (!j.is_object()) return s;
  const long long index = IntOr(j, "index", 0);
  if (type == "content_block_delta") {
    auto delta = j.find("delta");
    if (delta == j.end() || !delta->is_object()) return s;
    const std::string kind = StrOr(*delta, "type");
    if (kind == "text_delta") {
      s.text = StrOr(*delta, "text");
    } else if (kind == "input_json_delta") {
      s.tool_calls.push_back({index, "", "", StrOr(*delta, "partial_json")});
    }
  } else if (type == "content_block_start") {
    auto block = j.find("content_block");
    if (block != j.end() && block->is_object() && StrOr(*block, "type") == "tool_use") {
      // input is {} here and streamed as input_json_delta; a non-empty one is the whole input.
      std::string input;
      if (auto in = block->find("input"); in != block->end() && in->is_object() && !in->empty()) input = DumpJson(*in);
      s.tool_calls.push_back({index, StrOr(*block, "id"), StrOr(*block, "name"), std::move(input)});
    }
  }
  return s;
}

std::vector<ToolCallPart> AnswerToolCalls(Api api, std::string_view body) {
  std::vector<ToolCallPart> out;
  const json j = ParseJsonOrDiscarded(body);
  if (!j.is_object()) return out;
  if (api == Api::kOpenAiChat) {
    auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) return out;
    const json& c = (*choices)[0];
    auto m = c.find("message");
    if (m == c.end() || !m->is_object()) return out;
    auto calls = m->find("tool_calls");
    if (calls == m->end() || !calls->is_array()) return out;
    long long i = 0;
    for (const json& call : *calls) {
      if (auto part = OpenAiToolCallPart(call)) {
        part->index = i;  // a whole answer's calls need not carry an index
        out.push_back(std::move(*part));
      }
      ++i;
    }
    return out;
  }
  auto content = j.find("content");
  if (content == j.end() || !content->is_array()) return out;
  long long i = 0;
  for (const json& b : *content) {
    if (b.is_object() && StrOr(b, "type") == "tool_use") {
      auto in = b.find("input");
      out.push_back({i, StrOr(b, "id"), StrOr(b, "name"), in != b.end() ? DumpJson(*in) : std::string("{}")});
    }
    ++i;
  }
  return out;
}

void ToolCalls::Add(const ToolCallPart& part) {
  auto it = std::find_if(calls_.begin(), calls_.end(), [&](const ToolCallPart& c) { return c.index == part.index; });
  if (it == calls_.end()) {
    if (calls_.size() >= kMaxToolCalls) {
      ++dropped_;
      return;
    }
    calls_.push_back({part.index, "", "", ""});
    it = calls_.end() - 1;
  }
  if (it->id.empty()) it->id = CutAtCharacter(part.id, 200);
  if (it->name.empty()) it->name = CutAtCharacter(part.name, 200);
  if (bytes_ + part.arguments.size() > kMaxToolArgumentBytes) {
    ++dropped_;
    return;
  }
  bytes_ += part.arguments.size();
  it->arguments += part.arguments;
}

std::vector<json> ToolCalls::Data(bool incomplete) const {
  std::vector<json> out;
  for (const ToolCallPart& c : calls_) {
    json d = StoredPromptData(c.arguments);  // {"text", ["truncated", "bytes"]}
    json data = {{"id", c.id}, {"name", c.name}, {"arguments", std::move(d["text"])}};
    if (d.contains("truncated")) {
      data["truncated"] = true;
      data["bytes"] = d["bytes"];
    }
    if (incomplete) data["incomplete"] = true;
    out.push_back(std::move(data));
  }
  return out;
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
