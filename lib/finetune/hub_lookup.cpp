// Hub lookups for the planner (hub_lookup.hpp): the model API + config.json -> ModelInfo, the dataset
// viewer's /info -> columns and rows. Only definite answers become errors; anything that says "the
// server is not there" (no answer, a 5xx) becomes a note so an offline laptop still plans.
#include "finetune/hub_lookup.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/json_limits.hpp"
#include "net/curl_transport.hpp"

namespace dsx::finetune {
namespace {

using nlohmann::json;

const char* Env(const GetEnv& getenv, const char* name) {
  const char* v = getenv ? getenv(name) : std::getenv(name);
  return v && *v ? v : nullptr;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string DropSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// huggingface_hub's _is_true: "1", "ON", "YES", "TRUE" in any case.
bool IsTrue(const char* v) {
  if (!v) return false;
  std::string s;
  for (const char* c = v; *c; ++c) s.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(*c))));
  return s == "1" || s == "ON" || s == "YES" || s == "TRUE";
}

// Query-string encoding: everything but RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// One GET with the lookup's limits; the token only in a header.
net::Exchange Get(net::Transport& t, const std::string& url, const std::string& token) {
  net::HttpRequest r;
  r.url = url;
  r.connect_timeout_ms = kHubConnectTimeoutMs;
  r.timeout_ms = kHubTotalTimeoutMs;
  r.headers.push_back({"Accept", "application/json"});
  if (!token.empty()) r.headers.push_back({"Authorization", "Bearer " + token});
  return t.Send(r);
}

std::unique_ptr<net::Transport> MakeTransport(const HubOptions& o) {
  if (o.transport) return o.transport();
  return std::make_unique<net::CurlTransport>();
}

// No answer at all, or the server says it is not working: the "not reachable" cases.
bool Unreachable(const net::Exchange& e) { return !e.ok() || e.response.status >= 500; }

std::string WhyUnreachable(const net::Exchange& e, const std::string& server) {
  if (!e.ok()) return e.error.message() + ", " + server;
  return "HTTP " + std::to_string(e.response.status) + " from " + server;
}

// The server's own words ("error" or "message" of a JSON body, X-Error-Message), short.
std::string ServerSays(const net::HttpResponse& r) {
  std::string msg = r.Header("X-Error-Message");
  if (msg.empty()) {
    auto j = ParseJsonOrDiscarded(r.body);
    if (j.is_object()) {
      for (const char* k : {"error", "message"})
        if (j.contains(k) && j[k].is_string()) msg = j[k].get<std::string>();
    }
  }
  if (msg.size() > 200) msg = msg.substr(0, 200) + "...";
  return msg;
}

// A positive integer field, or 0 when absent; kFailed when present and not one.
Result<std::int64_t> IntField(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return std::int64_t{0};
  const json& v = j[key];
  if (v.is_number_integer() || v.is_number_unsigned()) {
    auto n = v.get<std::int64_t>();
    if (n >= 0 && n < (std::int64_t{1} << 40)) return n;
  }
  return Status::Failed(where + ": '" + key + "' is not a non-negative integer");
}

Result<int> SmallInt(const json& j, const char* key, const std::string& where) {
  auto n = IntField(j, key, where);
  if (!n.ok()) return n.status();
  if (*n > 100000000) return Status::Failed(where + ": '" + key + "' is out of range");
  return static_cast<int>(*n);
}

const char* kModelNotReachable = "parameters from configs/models.toml";

}  // namespace

bool LooksLikeHubId(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  int slashes = 0;
  for (char c : id) {
    if (c == '/') {
      ++slashes;
    } else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  if (slashes > 1 || id.front() == '/' || id.back() == '/' || id.front() == '.') return false;
  return id.find("..") == std::string_view::npos;
}

std::string HubToken(const GetEnv& getenv) {
  if (const char* t = Env(getenv, "HF_TOKEN")) return Trim(t);
  std::vector<std::string> files;
  if (const char* p = Env(getenv, "HF_TOKEN_PATH")) files.push_back(p);
  if (const char* h = Env(getenv, "HF_HOME")) {
    files.push_back(std::string(h) + "/token");
  } else if (const char* home = Env(getenv, "HOME")) {
    files.push_back(std::string(home) + "/.cache/huggingface/token");
  }
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) continue;
    std::stringstream ss;
    ss << in.rdbuf();
    std::string t = Trim(ss.str());
    if (!t.empty()) return t;
  }
  return "";
}

HubOptions HubOptionsFromEnv(const GetEnv& getenv) {
  HubOptions o;
  if (const char* e = Env(getenv, "HF_ENDPOINT")) o.endpoint = DropSlash(e);
  if (const char* d = Env(getenv, "DSX_HF_DATASETS_SERVER")) o.datasets_server = DropSlash(d);
  o.offline = IsTrue(Env(getenv, "HF_HUB_OFFLINE"));
  o.token = HubToken(getenv);
  return o;
}

Result<ModelInfo> ModelInfoFromHub(const std::string& id, std::string_view api_json, std::string_view config_json) {
  auto api = ParseJsonOrDiscarded(api_json);
  if (!api.is_object()) return Status::Failed("the Hub's model API answered for " + id + " with something not JSON");
  auto config = ParseJsonOrDiscarded(config_json);
  if (!config.is_object()) return Status::Failed("config.json of " + id + " is not a JSON object");
  // Multimodal models (Gemma 3, Llava, Qwen2-VL) keep the language model's numbers in text_config.
  json c = config;
  if (!c.contains("hidden_size") && c.contains("text_config") && c["text_config"].is_object()) c = c["text_config"];
  const std::string where = "config.json of " + id;

  ModelInfo m;
  m.id = id;
  auto get = [&](const char* key, int& out) -> Status {
    auto v = SmallInt(c, key, where);
    if (!v.ok()) return v.status();
    out = *v;
    return Status::Ok();
  };
  DSX_RETURN_IF_ERROR(get("hidden_size", m.hidden));
  DSX_RETURN_IF_ERROR(get("num_hidden_layers", m.layers));
  DSX_RETURN_IF_ERROR(get("num_attention_heads", m.heads));
  DSX_RETURN_IF_ERROR(get("num_key_value_heads", m.kv_heads));
  DSX_RETURN_IF_ERROR(get("vocab_size", m.vocab));
  DSX_RETURN_IF_ERROR(get("intermediate_size", m.intermediate));
  DSX_RETURN_IF_ERROR(get("max_position_embeddings", m.max_context));
  DSX_RETURN_IF_ERROR(get("head_dim", m.head_dim));
  for (auto [key, v] : {std::pair<const char*, int>{"hidden_size", m.hidden},
                        {"num_hidden_layers", m.layers},
                        {"num_attention_heads", m.heads},
                        {"vocab_size", m.vocab}}) {
    if (v <= 0) return Status::Failed(where + " has no '" + key + "': the planner needs it to size memory");
  }
  if (m.kv_heads <= 0) m.kv_heads = m.heads;  // no GQA field: multi-head attention
  if (m.head_dim <= 0) m.head_dim = m.hidden / m.heads;
  if (m.intermediate <= 0) m.intermediate = 4 * m.hidden;  // the classic MLP ratio
  // transformers' PretrainedConfig ties embeddings unless the config says otherwise.
  m.tied_embeddings = true;
  for (const json* src : {&config, &c})
    if (src->contains("tie_word_embeddings") && (*src)["tie_word_embeddings"].is_boolean())
      m.tied_embeddings = (*src)["tie_word_embeddings"].get<bool>();
  if (c.contains("model_type") && c["model_type"].is_string()) m.family = c["model_type"].get<std::string>();
  m.qkv_bias = (c.contains("attention_bias") && c["attention_bias"].is_boolean() && c["attention_bias"].get<bool>()) ||
               m.family == "qwen2";

  // gated: false, or "auto"/"manual" (the kind of approval).
  if (api.contains("gated"))
    m.gated = !(api["gated"].is_boolean() && !api["gated"].get<bool>()) && !api["gated"].is_null();
  if (api.contains("cardData") && api["cardData"].is_object() && api["cardData"].contains("license") &&
      api["cardData"]["license"].is_string())
    m.license = api["cardData"]["license"].get<std::string>();
  std::int64_t total = 0;
  if (api.contains("safetensors") && api["safetensors"].is_object()) {
    auto t = IntField(api["safetensors"], "total", "the model API's safetensors of " + id);
    if (!t.ok()) return t.status();
    total = *t;
  }
  // No safetensors metadata (older .bin repositories): count from the architecture.
  m.params_b = total > 0 ? static_cast<double>(total) / 1e9 : ArchitectureParamsB(m);
  if (!(m.params_b > 0)) return Status::Failed(where + ": no parameter count (safetensors.total) and none computable");
  return m;
}

Result<std::vector<DatasetConfigInfo>> ParseDatasetInfo(std::string_view body) {
  auto doc = ParseJsonOrDiscarded(body);
  if (!doc.is_object() || !doc.contains("dataset_info") || !doc["dataset_info"].is_object())
    return Status::Failed("the dataset viewer's /info answer has no dataset_info object");
  const json& di = doc["dataset_info"];
  auto one = [](const std::string& name, const json& info) -> Result<DatasetConfigInfo> {
    DatasetConfigInfo out;
    out.config = name;
    if (info.contains("config_name") && info["config_name"].is_string())
      out.config = info["config_name"].get<std::string>();
    if (!info.contains("features") || !info["features"].is_object())
      return Status::Failed("the dataset viewer's /info answer for subset '" + name + "' has no features object");
    for (const auto& [col, _] : info["features"].items()) out.columns.push_back(col);
    if (info.contains("splits") && info["splits"].is_object()) {
      for (const auto& [split, s] : info["splits"].items()) {
        std::int64_t n = -1;
        if (s.is_object()) {
          auto v = IntField(s, "num_examples", "/info split " + split);
          if (v.ok() && s.contains("num_examples")) n = *v;
        }
        out.splits[split] = n;
      }
    }
    return out;
  };
  std::vector<DatasetConfigInfo> configs;
  if (di.contains("features")) {  // one subset (the request named a config)
    auto c = one("default", di);
    if (!c.ok()) return c.status();
    configs.push_back(std::move(*c));
    return configs;
  }
  for (const auto& [name, info] : di.items()) {
    if (!info.is_object())
      return Status::Failed("the dataset viewer's /info answer for '" + name + "' is not an object");
    auto c = one(name, info);
    if (!c.ok()) return c.status();
    configs.push_back(std::move(*c));
  }
  if (configs.empty()) return Status::Failed("the dataset viewer's /info answer lists no subsets");
  return configs;
}

Status CheckColumns(const Spec& spec, const DatasetConfigInfo& info) {
  const std::set<std::string> have(info.columns.begin(), info.columns.end());
  const std::string method = spec.method.value.value_or("sft");
  const std::string dataset = spec.dataset.value.value_or("?");
  auto has = [&](const std::string& c) { return have.count(c) > 0; };
  auto missing = [&](const std::string& what, const std::string& hint) {
    return Status::Usage("dataset '" + dataset + "' (subset " + info.config + ") has no " + what + " for " + method +
                         "; its columns: " + Join(info.columns) + ". " + hint);
  };
  // A column the user named must exist whatever the method.
  struct Named {
    const Field<std::string>* field;
    const char* key;
  };
  for (Named n : {Named{&spec.text_column, "text_column"}, Named{&spec.prompt_column, "prompt_column"},
                  Named{&spec.chosen_column, "chosen_column"}, Named{&spec.rejected_column, "rejected_column"}}) {
    if (n.field->has() && n.field->source != Source::kDefault && n.field->source != Source::kInferred &&
        !has(*n.field->value))
      return missing("column '" + *n.field->value + "'",
                     std::string("Name one of its columns with --set ") + n.key + "=COLUMN.");
  }
  auto col = [](const Field<std::string>& f, const char* fallback) { return f.value.value_or(fallback); };
  if (method == "sft") {
    // TRL's SFT formats: conversational "messages", language modeling "text", or prompt + completion.
    if (spec.text_column.has() && spec.text_column.source != Source::kInferred &&
        spec.text_column.source != Source::kDefault)
      return Status::Ok();  // checked above
    if (has("messages") || has("text") || (has("prompt") && has("completion"))) return Status::Ok();
    return missing("'messages', 'text' or 'prompt' + 'completion' column",
                   "Name the text or conversation column with --set text_column=COLUMN.");
  }
  const std::string prompt = col(spec.prompt_column, "prompt");
  const std::string chosen = col(spec.chosen_column, "chosen");
  const std::string rejected = col(spec.rejected_column, "rejected");
  if (method == "grpo") {
    if (has(prompt)) return Status::Ok();
    return missing("column '" + prompt + "'", "Name the prompt column with --set prompt_column=COLUMN.");
  }
  if (method == "kto") {
    // Unpaired (prompt, completion, label) or paired preferences, which the trainer unpairs.
    if (has(prompt) && has("completion") && has("label")) return Status::Ok();
    if (has(chosen) && has(rejected)) return Status::Ok();
    return missing("'" + prompt + "', 'completion', 'label' (or '" + chosen + "', '" + rejected + "') columns",
                   "Name them with --set prompt_column=, chosen_column=, rejected_column=.");
  }
  // dpo, reward: chosen and rejected; the prompt may be implicit (inside the conversations).
  for (auto [c, key] : {std::pair<std::string, const char*>{chosen, "chosen_column"}, {rejected, "rejected_column"}}) {
    if (!has(c)) return missing("column '" + c + "'", std::string("Name it with --set ") + key + "=COLUMN.");
  }
  return Status::Ok();
}

Result<ModelLookup> LookupModel(const std::string& id, const HubOptions& o) {
  ModelLookup out;
  if (o.offline || !LooksLikeHubId(id)) return out;
  auto t = MakeTransport(o);
  const std::string api_url = o.endpoint + "/api/models/" + id;
  auto api = Get(*t, api_url, o.token);
  if (Unreachable(api)) {
    out.note = "Hub not reachable (" + WhyUnreachable(api, o.endpoint) + "): " + kModelNotReachable;
    return out;
  }
  // huggingface_hub's reading: X-Error-Code RepoNotFound (a 401 for anonymous callers, so that
  // private repositories stay secret) or 404 is "no such repository".
  const std::string code = api.response.Header("X-Error-Code");
  const int s = api.response.status;
  if (code == "RepoNotFound" || s == 404 || (s == 401 && o.token.empty() && code != "GatedRepo"))
    return Status::Usage("no model '" + id + "' on the Hub (check the name, or --set model=...)" +
                         (s == 401 ? "; a private model needs a token: export HF_TOKEN" : ""));
  if (s == 401 || s == 403)
    return Status::Conflict("model '" + id + "' is private or gated: it needs a Hugging Face token with access (" +
                            (o.token.empty() ? "export HF_TOKEN" : "the token given has none") + ")");
  if (s != 200) return Status::Failed("the Hub's model API answered HTTP " + std::to_string(s) + " for " + id);

  auto cfg = Get(*t, o.endpoint + "/" + id + "/resolve/main/config.json", o.token);
  if (Unreachable(cfg)) {
    out.note = "Hub not reachable (" + WhyUnreachable(cfg, o.endpoint) + "): " + kModelNotReachable;
    return out;
  }
  const int cs = cfg.response.status;
  const std::string ccode = cfg.response.Header("X-Error-Code");
  if (ccode == "GatedRepo" || cs == 401 || cs == 403)
    return Status::Conflict("model '" + id + "' is gated: it needs a Hugging Face token with access (accept its " +
                            "license on the Hub, then " +
                            (o.token.empty() ? "export HF_TOKEN" : "check the token's permissions") + ")");
  if (cs == 404)
    return Status::Usage("model '" + id + "' has no config.json on the Hub: not a transformers model dsx can plan");
  if (cs != 200) return Status::Failed("the Hub answered HTTP " + std::to_string(cs) + " for config.json of " + id);
  auto m = ModelInfoFromHub(id, api.response.body, cfg.response.body);
  if (!m.ok()) return m.status();
  out.model = std::move(*m);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", out.model->params_b);
  out.note = "model " + id + " from the Hub: " + buf + "B parameters, " + std::to_string(out.model->layers) +
             " layers, hidden " + std::to_string(out.model->hidden);
  return out;
}

Result<DatasetLookup> LookupDataset(const Spec& spec, const HubOptions& o) {
  DatasetLookup out;
  if (o.offline || !spec.dataset.has()) return out;
  const std::string id = *spec.dataset.value;
  if (!LooksLikeHubId(id)) {
    out.note = "dataset '" + id + "' is not a Hub id: columns not checked";
    return out;
  }
  auto t = MakeTransport(o);
  auto info = Get(*t, o.datasets_server + "/info?dataset=" + UrlEncode(id), o.token);
  if (Unreachable(info)) {
    out.note = "Hub not reachable (" + WhyUnreachable(info, o.datasets_server) +
               "): dataset columns not checked, dataset size assumed";
    return out;
  }
  const int s = info.response.status;
  if (s != 200) {
    // The viewer says 404 both for a dataset that does not exist and for one it has no data for
    // (viewer disabled, gated without a token): the Hub's own API tells the two apart.
    if (s == 401 || s == 403 || s == 404) {
      auto repo = Get(*t, o.endpoint + "/api/datasets/" + id, o.token);
      const std::string code = repo.response.Header("X-Error-Code");
      const int rs = repo.response.status;
      if (!Unreachable(repo) && (code == "RepoNotFound" || rs == 404 || (rs == 401 && o.token.empty())))
        return Status::Usage("no dataset '" + id + "' on the Hub (check the name, or --set dataset=...)" +
                             (rs == 401 ? "; a private dataset needs a token: export HF_TOKEN" : ""));
    }
    std::string why = ServerSays(info.response);
    out.note = "the dataset viewer has no information on " + id + " (HTTP " + std::to_string(s) +
               (why.empty() ? "" : ": " + why) + "): columns not checked, dataset size assumed";
    return out;
  }
  auto configs = ParseDatasetInfo(info.response.body);
  if (!configs.ok()) return configs.status();
  // The subset load_dataset(id) reads: "default" when there is one, else the only/first one.
  const DatasetConfigInfo* pick = &configs->front();
  for (const auto& c : *configs)
    if (c.config == "default") pick = &c;
  out.config = pick->config;
  DSX_RETURN_IF_ERROR(CheckColumns(spec, *pick));

  std::string split = spec.split.value.value_or("train");
  const size_t bracket = split.find('[');
  const bool sliced = bracket != std::string::npos;
  split = split.substr(0, bracket);
  auto it = pick->splits.find(split);
  if (it == pick->splits.end()) {
    if (pick->splits.empty()) {
      out.note = "the dataset viewer lists no splits for " + id + ": dataset size assumed";
      return out;
    }
    std::vector<std::string> names;
    for (const auto& [n, _] : pick->splits) names.push_back(n);
    return Status::Usage("dataset '" + id + "' (subset " + pick->config + ") has no split '" + split +
                         "'; its splits: " + Join(names) + ". Choose one with --set split=NAME.");
  }
  std::string what = "dataset " + id + " (subset " + pick->config + ") has columns " + Join(pick->columns);
  if (it->second > 0 && !sliced) {
    out.rows = it->second;
    what += "; split " + split + ": " + std::to_string(it->second) + " rows";
  } else if (sliced) {
    what += "; split slice: size assumed";
  }
  if (configs->size() > 1)
    what += " (" + std::to_string(configs->size()) + " subsets: the checked one is what load_dataset reads)";
  out.note = what;
  return out;
}

}  // namespace dsx::finetune
