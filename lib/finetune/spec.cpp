// Spec: JSON output, --set overrides, and Complete (defaults, then the checks that turn a wrong or
// incomplete request into a usage error that says what to add or change).
#include "finetune/spec.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>

#include "core/utf8.hpp"
#include "finetune/spec_fields.hpp"

namespace dsx::finetune {

const char* SourceName(Source s) {
  switch (s) {
    case Source::kSaid: return "said";
    case Source::kDefault: return "default";
    case Source::kInferred: return "inferred";
    case Source::kLlm: return "llm";
  }
  return "default";
}

nlohmann::json ToJson(const Spec& spec) {
  nlohmann::json out = nlohmann::json::object();
  ForEachSpecField(spec, [&](const char* name, const char*, const auto& field) {
    if (field.has()) out[name] = {{"value", *field.value}, {"source", SourceName(field.source)}};
  });
  return out;
}

namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Strict conversions for --set: the whole value must be the number, nothing after it.
template <typename Int>
bool ParseInt(const std::string& v, Int* out) {
  const char* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, *out);
  return ec == std::errc() && p == end;
}

bool ParseDouble(const std::string& v, double* out) {
  if (v.empty()) return false;
  errno = 0;
  char* end = nullptr;
  *out = std::strtod(v.c_str(), &end);
  return errno == 0 && end == v.c_str() + v.size() && std::isfinite(*out);
}

bool ParseBool(const std::string& v, bool* out) {
  std::string l = Lower(v);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return *out = true, true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return *out = false, true;
  return false;
}

// "1e-4" rather than "0.000100" in messages.
std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// A Hub repository name: "owner/name", each part letters, digits, '-', '_', '.', not starting
// or ending with '-' or '.' (the Hub's own rule for repo ids).
bool IsRepoPart(std::string_view p) {
  if (p.empty() || p.size() > 96) return false;
  for (char c : p) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return p.front() != '-' && p.front() != '.' && p.back() != '-' && p.back() != '.';
}

// A datasets split slice, "train[:10%]" or "train[100:200]".
bool IsSplitSlice(std::string_view w) {
  size_t open = w.find('[');
  if (open == std::string_view::npos || w.back() != ']' || !IsRepoPart(w.substr(0, open))) return false;
  for (char c : w.substr(open + 1, w.size() - open - 2)) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != ':' && c != '%' && c != '-') return false;
  }
  return true;
}

bool IsRepoId(std::string_view id) {
  size_t slash = id.find('/');
  if (slash == std::string_view::npos || id.find('/', slash + 1) != std::string_view::npos) return false;
  return IsRepoPart(id.substr(0, slash)) && IsRepoPart(id.substr(slash + 1));
}

// Whether the user (or the --llm provider on their behalf) gave the value, as opposed to dsx.
template <typename T>
bool Given(const Field<T>& f) {
  return f.has() && (f.source == Source::kSaid || f.source == Source::kLlm);
}

template <typename T>
void Default(Field<T>& f, T v, Source s = Source::kDefault) {
  if (!f.has()) f.Set(std::move(v), s);
}

constexpr int kMaxLoraRank = 65536;

bool IsPreference(const std::string& method) { return method == "dpo" || method == "kto" || method == "reward"; }

// Learning rates when none was said. The numbers are the ones TRL's own launch scripts use
// (trl/scripts/*.py docstrings, "Full training" and "LoRA" commands), since those are what the
// TRL authors run on these trainers; for a LoRA adapter the rate is about ten times the full one
// (TRL docs, "LoRA Without Regret": LoRA wants roughly 10x the full fine-tuning rate).
double DefaultLearningRate(const std::string& method, const std::string& adapter) {
  bool peft = adapter != "full";
  if (method == "dpo") return peft ? 5e-6 : 5e-7;     // trl/scripts/dpo.py: 5.0e-6 LoRA, 5.0e-7 full
  if (method == "kto") return peft ? 5e-6 : 5e-7;     // trl/scripts/kto.py: 5e-7 full ("similar to DPO")
  if (method == "grpo") return peft ? 1e-5 : 1e-6;    // GRPOConfig.learning_rate default 1e-6
  if (method == "reward") return peft ? 1e-4 : 1e-5;  // TRL reward modeling example: 1e-5 full, 1e-4 LoRA
  return peft ? 2e-4 : 2e-5;                          // trl/scripts/sft.py: 2.0e-4 LoRA, 2.0e-5 full
}

template <typename T>
Status Positive(const char* what, const Field<T>& f, const char* example) {
  if (f.has() && !(*f.value > 0)) {
    std::ostringstream os;
    os << what << " must be above zero (got " << *f.value << "): say e.g. '" << example << "'";
    return Status::Usage(os.str());
  }
  return Status::Ok();
}

Status OneOf(const char* what, const Field<std::string>& f, std::initializer_list<const char*> allowed) {
  if (!f.has()) return Status::Ok();
  std::string list;
  for (const char* a : allowed) {
    if (*f.value == a) return Status::Ok();
    list += list.empty() ? a : std::string(", ") + a;
  }
  return Status::Usage("unknown " + std::string(what) + " '" + *f.value + "': use one of " + list);
}

Status Check(const Spec& s) {
  if (!s.model.has() || s.model.value->empty())
    return Status::Usage("no model: name one, e.g. 'fine-tune Qwen/Qwen2.5-0.5B-Instruct' (or --set model=ORG/NAME)");
  if (!s.dataset.has() || s.dataset.value->empty())
    return Status::Usage("no dataset: add one, e.g. 'on trl-lib/Capybara' (or --set dataset=ORG/NAME)");
  DSX_RETURN_IF_ERROR(OneOf("method", s.method, {"sft", "dpo", "grpo", "kto", "reward"}));
  DSX_RETURN_IF_ERROR(OneOf("adapter", s.adapter, {"full", "lora", "qlora"}));
  DSX_RETURN_IF_ERROR(OneOf("tracker", s.tracker, {"trackio", "wandb", "none"}));
  if (*s.adapter.value == "full" && (Given(s.lora_rank) || Given(s.lora_alpha))) {
    std::string what = Given(s.lora_rank) ? "a LoRA rank (r=" + std::to_string(*s.lora_rank.value) + ")"
                                          : "a LoRA alpha (" + std::to_string(*s.lora_alpha.value) + ")";
    return Status::Usage(what + " contradicts a full fine-tune: drop the rank or say 'with LoRA'");
  }
  if (s.epochs.has() && s.max_steps.has()) {
    // They could agree only for one dataset size and batch, which is not known here: refuse
    // rather than silently prefer one.
    return Status::Usage("say epochs or steps, not both (got " + Num(*s.epochs.value) + " epochs and " +
                         std::to_string(*s.max_steps.value) + " steps; --set epochs= or --set max_steps= drops one)");
  }
  DSX_RETURN_IF_ERROR(Positive("epochs", s.epochs, "2 epochs"));
  DSX_RETURN_IF_ERROR(Positive("max_steps", s.max_steps, "500 steps"));
  DSX_RETURN_IF_ERROR(Positive("learning rate", s.learning_rate, "lr 2e-5"));
  if (s.learning_rate.has() && *s.learning_rate.value >= 1)
    return Status::Usage("learning rate " + Num(*s.learning_rate.value) +
                         " is too large: a learning rate is below 1, e.g. 'lr 2e-5'");
  DSX_RETURN_IF_ERROR(Positive("batch size", s.batch_size, "batch 8"));
  DSX_RETURN_IF_ERROR(Positive("gradient accumulation", s.grad_accum, "grad accum 4"));
  DSX_RETURN_IF_ERROR(Positive("sequence length", s.seq_len, "seq len 2048"));
  DSX_RETURN_IF_ERROR(Positive("LoRA rank", s.lora_rank, "lora r=16"));
  DSX_RETURN_IF_ERROR(Positive("LoRA alpha", s.lora_alpha, "lora_alpha=32"));
  DSX_RETURN_IF_ERROR(Positive("max cost", s.max_cost_usd, "under $20"));
  DSX_RETURN_IF_ERROR(Positive("timeout", s.timeout_s, "timeout 3h"));
  DSX_RETURN_IF_ERROR(Positive("max samples", s.max_samples, "on 10k examples"));
  if (s.output_repo.has() && !IsRepoId(*s.output_repo.value))
    return Status::Usage("output repository '" + *s.output_repo.value +
                         "' is not a Hub id: write it as owner/name, e.g. 'push to my-org/qwen-capy'");
  // Names end up in a generated Python script and a job request: only the characters a Hub id, a
  // column or a split slice uses get there, whatever --set or an LLM reply said.
  if (!IsRepoId(*s.model.value) && !IsRepoPart(*s.model.value))
    return Status::Usage("model '" + *s.model.value + "' is not a Hub id: write it as owner/name");
  if (!IsRepoId(*s.dataset.value) && !IsRepoPart(*s.dataset.value))
    return Status::Usage("dataset '" + *s.dataset.value + "' is not a Hub id: write it as owner/name");
  if (!IsRepoPart(*s.split.value) && !IsSplitSlice(*s.split.value))
    return Status::Usage("split '" + *s.split.value + "' is not a split name: e.g. train, test, train[:10%]");
  for (const Field<std::string>* f :
       {&s.text_column, &s.prompt_column, &s.chosen_column, &s.rejected_column, &s.flavor, &s.gpu}) {
    if (f->has() && !IsRepoPart(*f->value))
      return Status::Usage("'" + *f->value + "' is not a column or hardware name (letters, digits, - _ . only)");
  }
  return Status::Ok();
}

}  // namespace

Status ApplySet(Spec& spec, std::string_view assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos)
    return Status::Usage("--set '" + std::string(assignment) + "': write key=value, e.g. --set learning_rate=1e-4");
  if (!IsValidUtf8(assignment)) return Status::Usage("--set: the value is not valid UTF-8 text");
  std::string key = Trim(assignment.substr(0, eq));
  std::string value = Trim(assignment.substr(eq + 1));
  Status result = Status::Usage("--set: unknown key '" + key + "'; keys are the JSON field names of the spec " +
                                "(model, dataset, method, adapter, epochs, max_steps, learning_rate, ...)");
  ForEachSpecField(spec, [&](const char* name, const char*, auto& field) {
    if (key != name) return;
    using T = typename std::decay_t<decltype(field.value)>::value_type;
    auto bad = [&] {
      result = Status::Usage("--set " + key + ": '" + value + "' is not " +
                             (std::is_same_v<T, bool>     ? "a boolean (true or false)"
                              : std::is_same_v<T, double> ? "a number"
                                                          : "an integer"));
    };
    // An empty value clears the field, whatever its type: "--set output_repo=" (do not push), or
    // "--set epochs= --set max_steps=500" to trade the request's epochs for steps. Complete() then
    // fills the default again where there is one.
    if (value.empty()) {
      field = std::decay_t<decltype(field)>{};
      result = Status::Ok();
      return;
    }
    if constexpr (std::is_same_v<T, std::string>) {
      field.Set(value, Source::kSaid);
      result = Status::Ok();
    } else if constexpr (std::is_same_v<T, bool>) {
      bool b = false;
      if (!ParseBool(value, &b)) return bad();
      field.Set(b, Source::kSaid);
      result = Status::Ok();
    } else if constexpr (std::is_same_v<T, double>) {
      double d = 0;
      if (!ParseDouble(value, &d)) return bad();
      field.Set(d, Source::kSaid);
      result = Status::Ok();
    } else {
      T n = 0;
      if (!ParseInt(value, &n)) return bad();
      field.Set(n, Source::kSaid);
      result = Status::Ok();
    }
  });
  return result;
}

Status Complete(Spec& spec) {
  // Work on a copy: a request that fails the checks leaves the caller's spec as it was.
  Spec s = spec;
  // Names from --set or an LLM reply may come capitalised ("DPO", "LoRA", "A100").
  for (Field<std::string>* f : {&s.method, &s.adapter, &s.tracker, &s.gpu, &s.flavor}) {
    if (f->has()) *f->value = Lower(*f->value);
  }
  Default(s.method, std::string("sft"));
  if (!s.adapter.has()) {
    // A LoRA rank or alpha said without an adapter means LoRA. Otherwise LoRA is the default: it
    // fits every model size on the smallest hardware, and the HF trainer skill uses it from 3B up.
    bool lora_said = Given(s.lora_rank) || Given(s.lora_alpha);
    s.adapter.Set("lora", lora_said ? Source::kInferred : Source::kDefault);
  }
  const std::string method = *s.method.value;
  const std::string adapter = *s.adapter.value;
  if (adapter != "full") {
    Default(s.lora_rank, 16);
    // A rank is at most a layer's width (largest open models: ~16k-32k); beyond that it is a typo,
    // and 2 x rank below would overflow.
    if (*s.lora_rank.value > kMaxLoraRank)
      return Status::Usage("LoRA rank " + std::to_string(*s.lora_rank.value) + " is larger than any layer (at most " +
                           std::to_string(kMaxLoraRank) + "): say e.g. 'lora r=16'");
    // alpha = 2 x rank, the common pairing (16/32) that keeps the update scale as r changes.
    Default(s.lora_alpha, 2 * *s.lora_rank.value,
            s.lora_rank.source == Source::kDefault ? Source::kDefault : Source::kInferred);
  }
  Default(s.learning_rate, DefaultLearningRate(method, adapter));
  if (!s.epochs.has() && !s.max_steps.has()) s.epochs.Set(1.0, Source::kDefault);
  Default(s.batch_size, 4);
  Default(s.grad_accum, 4);
  // Preference pairs carry two completions per example; TRL's DPO/KTO/Reward configs default
  // max_length to 1024.
  Default(s.seq_len, IsPreference(method) ? 1024 : 2048);
  Default(s.gradient_checkpointing, true);
  Default(s.split, std::string("train"));
  if (method == "sft") {
    // TRL's conversational format: a "messages" list of {role, content}.
    Default(s.text_column, std::string("messages"), Source::kInferred);
  } else {
    Default(s.prompt_column, std::string("prompt"));  // TRL's standard preference/prompt-only columns
    if (method == "dpo" || method == "reward") {
      Default(s.chosen_column, std::string("chosen"));
      Default(s.rejected_column, std::string("rejected"));
    }
  }
  Default(s.tracker, std::string("none"));
  DSX_RETURN_IF_ERROR(Check(s));
  spec = std::move(s);
  return Status::Ok();
}

}  // namespace dsx::finetune
