// Template rendering, the job request for a fine-tune, and the check of a script's config keywords
// against configs/trl_args.toml. See script.hpp for the template syntax and the request's shape.
#include "finetune/script.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include <toml++/toml.h>

#include "core/fs.hpp"

namespace dsx::finetune {
namespace {

namespace stdfs = std::filesystem;

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

bool IsIdent(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return !std::isdigit(static_cast<unsigned char>(s[0]));
}

// "{{#name}}" -> ('#', "name"); "{{/name}}" -> ('/', "name"); "{{>name}}" -> ('>', "name");
// otherwise ('\0', "").
std::pair<char, std::string> SectionMark(std::string_view line) {
  std::string t = Trim(line);
  if (t.size() < 6 || t.compare(0, 2, "{{") != 0 || t.compare(t.size() - 2, 2, "}}") != 0) return {'\0', ""};
  char kind = t[2];
  if (kind != '#' && kind != '/' && kind != '>') return {'\0', ""};
  std::string name = t.substr(3, t.size() - 5);
  if (!IsIdent(name)) return {'\0', ""};
  return {kind, name};
}

// "{{! what this partial is }}" alone on its line: a note for the template's reader, not rendered
// (a Python comment would land in every script).
bool IsTemplateNote(std::string_view line) {
  std::string t = Trim(line);
  return t.size() >= 5 && t.compare(0, 3, "{{!") == 0 && t.compare(t.size() - 2, 2, "}}") == 0;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The last path component of a Hub id, lower-cased and reduced to [a-z0-9.-].
std::string Slug(std::string_view id) {
  auto slash = id.rfind('/');
  std::string s = Lower(std::string(slash == std::string_view::npos ? id : id.substr(slash + 1)));
  std::string out;
  for (char c : s) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    if (!ok) c = '-';
    if (c == '-' && (out.empty() || out.back() == '-')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// GPU classes without bf16 arithmetic: the script trains in fp16 there.
bool GpuLacksBf16(const std::string& gpu) {
  std::string g = Lower(gpu);
  for (const char* name : {"t4", "v100", "p100", "k80", "p4"})
    if (g == name) return true;
  return false;
}

std::string PyOptString(const Field<std::string>& f) { return f.has() ? PyString(*f.value) : "None"; }

}  // namespace

std::string PyString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));  // UTF-8 passes through: Python 3 source is UTF-8
        }
    }
  }
  return out + "\"";
}

std::string PyFloat(double v) {
  if (!std::isfinite(v)) return "float(\"nan\")";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string PyBool(bool b) { return b ? "True" : "False"; }

namespace {

// Deep enough for a partial that includes a partial that includes one more; a deeper chain is
// almost surely a cycle through names the stack check does not see (it sees them all, but this
// bounds the work a bad template can cause).
constexpr int kMaxPartialDepth = 8;

// `stack` holds the partials being rendered, outermost first, to refuse a cycle.
Result<std::string> RenderLines(std::string_view text, const TemplateValues& tv, const std::string& where,
                                const PartialLoader& partials, std::vector<std::string>& stack) {
  std::string out;
  std::vector<std::pair<std::string, int>> open;  // section name, line it opened on
  int depth_off = 0;                              // open sections whose flag is off
  int line_no = 0;
  size_t pos = 0;
  auto at = [&](int line) { return where + ":" + std::to_string(line) + ": "; };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (IsTemplateNote(line)) continue;
    auto [kind, name] = SectionMark(line);
    if (kind == '>') {
      // Rendered even inside a section that is off: a hole in a partial is an error wherever it is.
      if (std::find(stack.begin(), stack.end(), name) != stack.end()) {
        std::string chain;
        for (const auto& s : stack) chain += s + " -> ";
        return Status::Usage(at(line_no) + "partial '" + name + "' includes itself (" + chain + name + ")");
      }
      if (static_cast<int>(stack.size()) >= kMaxPartialDepth)
        return Status::Usage(at(line_no) + "partials nested deeper than " + std::to_string(kMaxPartialDepth) + " at '" +
                             name + "'");
      if (!partials) return Status::Usage(at(line_no) + "partial '" + name + "' but no partials folder here");
      auto partial = partials(name);
      if (!partial.ok()) return Status::Usage(at(line_no) + partial.status().message());
      stack.push_back(name);
      auto body = RenderLines(partial->text, tv, partial->where, partials, stack);
      stack.pop_back();
      if (!body.ok())
        return Status::Usage(body.status().message() + " (included from " + where + ":" + std::to_string(line_no) +
                             ")");
      if (depth_off == 0) {
        out += *body;
        if (!body->empty() && body->back() != '\n' && nl != std::string_view::npos) out.push_back('\n');
      }
      continue;
    }
    if (kind == '#') {
      auto f = tv.flags.find(name);
      if (f == tv.flags.end()) return Status::Usage(at(line_no) + "unknown section '" + name + "'");
      open.emplace_back(name, line_no);
      if (!f->second) ++depth_off;
      continue;
    }
    if (kind == '/') {
      if (open.empty() || open.back().first != name)
        return Status::Usage(at(line_no) + "'{{/" + name + "}}' closes " +
                             (open.empty() ? std::string("no open section") : "'" + open.back().first + "'"));
      if (!tv.flags.at(name)) --depth_off;
      open.pop_back();
      continue;
    }
    // Placeholders: checked on every line (a typo in a branch that is off is still a typo).
    std::string rendered;
    size_t i = 0;
    while (i < line.size()) {
      size_t b = line.find("{{", i);
      if (b == std::string_view::npos) {
        rendered.append(line.substr(i));
        break;
      }
      size_t e = line.find("}}", b + 2);
      std::string name2 = e == std::string_view::npos ? "" : std::string(line.substr(b + 2, e - b - 2));
      if (!IsIdent(name2)) return Status::Usage(at(line_no) + "stray '{{' (placeholders are {{name}})");
      auto v = tv.values.find(name2);
      if (v == tv.values.end()) return Status::Usage(at(line_no) + "unknown placeholder '{{" + name2 + "}}'");
      rendered.append(line.substr(i, b - i));
      rendered.append(v->second);
      i = e + 2;
    }
    if (depth_off == 0) {
      out += rendered;
      if (nl != std::string_view::npos) out.push_back('\n');
    }
  }
  if (!open.empty())
    return Status::Usage(at(open.back().second) + "section '" + open.back().first + "' is never closed");
  return out;
}

}  // namespace

Result<std::string> RenderTemplate(std::string_view text, const TemplateValues& tv, const std::string& where,
                                   const PartialLoader& partials) {
  std::vector<std::string> stack;
  return RenderLines(text, tv, where, partials, stack);
}

PartialLoader PartialsIn(const std::string& templates_dir) {
  return [templates_dir](const std::string& name) -> Result<Partial> {
    stdfs::path path = stdfs::path(templates_dir) / ("_" + name + ".py");
    auto text = fs::ReadFile(path);
    if (!text.ok()) return Status::NotFound("no partial '" + name + "' (" + path.string() + ")");
    return Partial{*text, path.string()};
  };
}

std::string DefaultTemplatesDir() {
  std::error_code ec;
  if (const char* env = std::getenv("DSX_SKILLS_DIR"); env && *env)
    return (stdfs::path(env) / "finetune/templates").string();
  if (stdfs::is_directory("skills/finetune/templates", ec)) return "skills/finetune/templates";
  auto exe = stdfs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const char* rel : {"../skills", "../../skills", "../share/dsx/skills"}) {
      stdfs::path p = (exe.parent_path() / rel / "finetune/templates").lexically_normal();
      if (stdfs::is_directory(p, ec)) return p.string();
    }
  }
  return "skills/finetune/templates";
}

std::string JobName(const Spec& spec) {
  std::string name = spec.method.value.value_or("sft");
  if (spec.model.has()) name += "-" + Slug(*spec.model.value);
  if (spec.dataset.has()) name += "-" + Slug(*spec.dataset.value);
  if (name.size() > 64) name.resize(64);
  while (!name.empty() && (name.back() == '-' || name.back() == '.')) name.pop_back();
  return name;
}

TemplateValues ScriptValues(const Spec& spec, const Plan& plan) {
  TemplateValues tv;
  auto& v = tv.values;
  const std::string method = spec.method.value.value_or("sft");
  const std::string adapter = spec.adapter.value.value_or("lora");
  const int batch = spec.batch_size.value.value_or(kPlanDefaultBatch);
  const int accum = spec.grad_accum.value.value_or(kPlanDefaultGradAccum);
  const int seq = spec.seq_len.value.value_or(kPlanDefaultSeqLen);
  const int gpus = std::max(1, plan.gpus);
  const int rank = spec.lora_rank.value.value_or(kPlanDefaultLoraRank);
  const bool fp16 = GpuLacksBf16(plan.gpu);

  v["model"] = PyString(spec.model.value.value_or(""));
  v["dataset"] = PyString(spec.dataset.value.value_or(""));
  v["split"] = PyString(spec.split.value.value_or("train"));
  v["max_samples"] = spec.max_samples.has() ? std::to_string(*spec.max_samples.value) : "None";
  v["text_column"] = PyOptString(spec.text_column);
  v["prompt_column"] = PyOptString(spec.prompt_column);
  v["chosen_column"] = PyOptString(spec.chosen_column);
  v["rejected_column"] = PyOptString(spec.rejected_column);
  v["output_repo"] = PyOptString(spec.output_repo);
  v["push_to_hub"] = PyBool(spec.output_repo.has());
  v["output_dir"] = PyString("outputs/" + JobName(spec));
  v["run_name"] = PyString(JobName(spec));
  // max_steps overrides epochs in TrainingArguments; -1 means "run the epochs".
  v["num_train_epochs"] = PyFloat(spec.epochs.value.value_or(kPlanDefaultEpochs));
  v["max_steps"] = spec.max_steps.has() ? std::to_string(*spec.max_steps.value) : "-1";
  v["learning_rate"] = PyFloat(spec.learning_rate.value.value_or(method == "sft" ? 2e-5 : 1e-6));
  v["per_device_train_batch_size"] = std::to_string(batch);
  v["gradient_accumulation_steps"] = std::to_string(accum);
  v["max_length"] = std::to_string(seq);
  v["gradient_checkpointing"] = PyBool(spec.gradient_checkpointing.value.value_or(true));
  // T4/V100 have no bf16 arithmetic: fp16 mixed precision there, bf16 everywhere else.
  v["bf16"] = PyBool(!fp16);
  v["fp16"] = PyBool(fp16);
  // Full fine-tuning loads the weights in float32 and trains in bf16/fp16 autocast (mixed
  // precision): fp32 master weights and AdamW states keep the small updates of fine-tuning
  // learning rates that pure bf16 weights round away, and it is the 16 bytes/parameter the
  // planner's memory model assumes (docs/finetune-memory.md). LoRA/QLoRA keep the frozen base
  // in the half type (only the adapters train).
  v["dtype"] = PyString(adapter == "full" ? "float32" : fp16 ? "float16" : "bfloat16");
  v["dtype_name"] = fp16 ? "float16" : "bfloat16";
  // Checkpoints reach the Hub (hub_strategy="checkpoint") about ten times per run, so a job cut
  // short loses at most a tenth of its work; never more often than every 10 steps.
  const std::int64_t steps = plan.steps > 0 ? plan.steps : spec.max_steps.value.value_or(0);
  v["save_steps"] = std::to_string(steps > 0 ? std::clamp<std::int64_t>(steps / 10, 10, 500) : 200);
  // Warm-up over ~3% of the steps, as a whole number of steps (warmup_ratio is deprecated in
  // transformers v5, and a whole number reads the same in every version).
  v["warmup_steps"] = std::to_string(steps > 0 ? std::max<std::int64_t>(1, (steps * 3 + 99) / 100) : 10);
  const std::string tracker = spec.tracker.value.value_or("none");
  v["report_to"] = PyString(tracker == "trackio" || tracker == "wandb" ? tracker : "none");
  v["lora_r"] = std::to_string(rank);
  v["lora_alpha"] = std::to_string(spec.lora_alpha.value.value_or(2 * rank));
  // A reward model is a sequence classifier (a scalar head); every other method trains a causal LM.
  v["lora_task_type"] = PyString(method == "reward" ? "SEQ_CLS" : "CAUSAL_LM");
  v["num_gpus"] = std::to_string(gpus);
  // Full fine-tuning on several GPUs shards weights, gradients and optimizer state (FSDP), which
  // is what the planner's memory estimate assumed; adapters replicate (DDP).
  v["fsdp"] = PyString(adapter == "full" && gpus > 1 ? "full_shard auto_wrap" : "");
  // GRPO: completions get half the sequence budget; the group size must divide the generation
  // batch (per-device batch x GPUs x accumulation steps), so take the largest of 8, 4, 2 that does,
  // and double an odd generation batch to make room for a group of 2.
  v["max_completion_length"] = std::to_string(std::max(64, seq / 2));
  std::int64_t gen_batch = static_cast<std::int64_t>(batch) * gpus * accum;
  int groups = 0;
  for (int g : {8, 4, 2})
    if (gen_batch % g == 0) {
      groups = g;
      break;
    }
  if (groups == 0) {
    gen_batch *= 2;
    groups = 2;
  }
  v["num_generations"] = std::to_string(groups);
  v["generation_batch_size"] = std::to_string(gen_batch);

  tv.flags["lora"] = adapter == "lora" || adapter == "qlora";
  tv.flags["qlora"] = adapter == "qlora";
  tv.flags["trackio"] = tracker == "trackio";
  tv.flags["wandb"] = tracker == "wandb";
  tv.flags["push"] = spec.output_repo.has();
  tv.flags["multi_gpu"] = gpus > 1;
  return tv;
}

Result<std::string> RenderScript(const Spec& spec, const Plan& plan, const std::string& templates_dir) {
  const std::string method = spec.method.value.value_or("sft");
  static const char* kMethods[] = {"sft", "dpo", "grpo", "kto", "reward"};
  if (std::find(std::begin(kMethods), std::end(kMethods), method) == std::end(kMethods))
    return Status::Usage("no script template for method '" + method + "' (sft, dpo, grpo, kto, reward)");
  stdfs::path path = stdfs::path(templates_dir) / (method + ".py");
  auto text = fs::ReadFile(path);
  if (!text.ok())
    return Status::NotFound("no template '" + path.string() +
                            "' (the finetune skill's templates; set DSX_SKILLS_DIR to the skills folder)");
  return RenderTemplate(*text, ScriptValues(spec, plan), path.string(), PartialsIn(templates_dir));
}

std::int64_t JobTimeoutSeconds(const Spec& spec, const Plan& plan) {
  if (spec.timeout_s.has() && *spec.timeout_s.value > 0) return *spec.timeout_s.value;
  // The estimate is rough (throughput varies by a factor ~2 with kernels and data): half again on
  // top, plus 20 minutes for image pull, uv install and the model download.
  const double s = plan.hours * 3600.0 * 1.5 + 20 * 60;
  return std::max<std::int64_t>(30 * 60, static_cast<std::int64_t>(std::ceil(s)));
}

Result<jobs::JobRequest> BuildRequest(const Spec& spec, const Plan& plan, const std::string& script,
                                      const RequestOptions& options) {
  const std::string& backend = options.backend;
  if (backend != "local" && backend != "slurm" && backend != "hf")
    return Status::Usage("unknown backend '" + backend + "' (hf, slurm or local)");
  jobs::JobRequest r;
  r.name = options.name.empty() ? JobName(spec) : options.name;
  r.kind = "finetune";
  r.backend = backend;
  r.files["train.py"] = script;
  // uv reads the script's PEP 723 header, builds the environment and runs it; on HF Jobs the
  // backend inlines the job files and the default image has uv.
  r.command = {"uv", "run", "{jobdir}/train.py"};
  r.timeout_s = JobTimeoutSeconds(spec, plan);
  r.env["PYTHONUNBUFFERED"] = "1";  // log lines as they happen, not at exit
  if (backend == "hf") {
    r.resources.flavor = plan.flavor;
  } else if (backend == "slurm") {
    r.resources.gpus = std::max(1, plan.gpus);
    r.resources.gpu_type = plan.gpu;
    // 8 CPUs per GPU for data loading and tokenisation; host memory to load the weights and hold
    // the dataset: 32 GB per GPU, at least 32.
    r.resources.cpus = 8 * r.resources.gpus;
    r.resources.mem_gb = std::max(32, 32 * r.resources.gpus);
  }
  // The token pulls gated models and private datasets and pushes the result. On HF Jobs it is
  // always at hand (submitting needs it, from HF_TOKEN or the login). Elsewhere the job runs as
  // this user: it is passed when the run pushes and HF_TOKEN is set; a login's token file is read
  // by the job itself (the jobs layer could not pass it: it only forwards set variables).
  if (backend == "hf" || (spec.output_repo.has() && options.hf_token_in_env)) r.secret_env.push_back("HF_TOKEN");
  const std::string tracker = spec.tracker.value.value_or("none");
  if (tracker == "trackio") {
    // The script passes these to TrainingArguments (project, trackio_space_id).
    if (!options.trackio_space.empty()) r.env["TRACKIO_SPACE_ID"] = options.trackio_space;
    r.env["TRACKIO_PROJECT"] = options.trackio_project.empty() ? r.name : options.trackio_project;
  } else if (tracker == "wandb") {
    r.secret_env.push_back("WANDB_API_KEY");
    r.env["WANDB_PROJECT"] = r.name;
  }
  r.labels["dsx-kind"] = "finetune";
  r.labels["dsx-method"] = spec.method.value.value_or("sft");
  r.meta = {{"spec", ToJson(spec)}, {"plan", ToJson(plan)}};
  return r;
}

std::vector<ConfigKeyword> ConfigKeywords(std::string_view s) {
  std::vector<ConfigKeyword> out;
  int line = 1;
  size_t i = 0;
  // Skips a string literal starting at s[i] (any prefix already consumed), counting newlines.
  auto skip_string = [&](size_t& k) {
    char q = s[k];
    bool triple = k + 2 < s.size() && s[k + 1] == q && s[k + 2] == q;
    k += triple ? 3 : 1;
    while (k < s.size()) {
      if (s[k] == '\\') {
        if (k + 1 < s.size() && s[k + 1] == '\n') ++line;
        k += 2;
        continue;
      }
      if (s[k] == '\n') ++line;
      if (s[k] == q) {
        if (!triple) return void(++k);
        if (k + 2 < s.size() && s[k + 1] == q && s[k + 2] == q) return void(k += 3);
      }
      ++k;
    }
  };
  auto ident_at = [&](size_t k) {
    size_t e = k;
    while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
    return e;
  };
  std::string prev_word;
  while (i < s.size()) {
    char c = s[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      skip_string(i);
      continue;
    }
    if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_')) {
      ++i;
      continue;
    }
    size_t e = ident_at(i);
    std::string word(s.substr(i, e - i));
    i = e;
    bool is_call = word.size() > 6 && word.compare(word.size() - 6, 6, "Config") == 0 && i < s.size() && s[i] == '(';
    if (!is_call || prev_word == "class" || prev_word == "def") {
      prev_word = word;
      continue;
    }
    prev_word.clear();
    // Inside the call: keywords at depth 1 only.
    int depth = 1;
    ++i;
    bool arg_start = true;
    while (i < s.size() && depth > 0) {
      char d = s[i];
      if (d == '\n') {
        ++line;
        ++i;
        continue;
      }
      if (d == ' ' || d == '\t' || d == '\r' || d == '\\') {
        ++i;
        continue;
      }
      if (d == '#') {
        while (i < s.size() && s[i] != '\n') ++i;
        continue;
      }
      if (d == '"' || d == '\'') {
        skip_string(i);
        arg_start = false;
        continue;
      }
      if (d == '(' || d == '[' || d == '{') {
        ++depth;
        ++i;
        arg_start = false;
        continue;
      }
      if (d == ')' || d == ']' || d == '}') {
        --depth;
        ++i;
        arg_start = false;
        continue;
      }
      if (d == ',') {
        if (depth == 1) arg_start = true;
        ++i;
        continue;
      }
      if (arg_start && depth == 1 && (std::isalpha(static_cast<unsigned char>(d)) || d == '_')) {
        size_t ke = ident_at(i);
        size_t k = ke;
        while (k < s.size() && (s[k] == ' ' || s[k] == '\t')) ++k;
        if (k < s.size() && s[k] == '=' && (k + 1 >= s.size() || s[k + 1] != '='))
          out.push_back({word, std::string(s.substr(i, ke - i)), line});
        i = ke;
        arg_start = false;
        continue;
      }
      arg_start = false;
      ++i;
    }
  }
  return out;
}

Result<TrlArgs> ParseTrlArgs(std::string_view text, const std::string& where) {
  toml::table root;
  try {
    root = toml::parse(text, where);
  } catch (const toml::parse_error& e) {
    return Status::Usage(where + ": not valid TOML: " + std::string(e.description()));
  }
  TrlArgs out;
  auto version = root["trl_version"].value<std::string>();
  if (!version) return Status::Usage(where + ": 'trl_version' (a string) is missing");
  out.trl_version = *version;
  out.source = root["source"].value_or(std::string());
  if (auto* renamed = root["renamed"].as_table()) {
    for (const auto& [k, val] : *renamed) {
      auto s = val.value<std::string>();
      if (!s) return Status::Usage(where + ": renamed." + std::string(k.str()) + " must be a string");
      out.renamed[std::string(k.str())] = *s;
    }
  }
  auto* classes = root["classes"].as_table();
  if (!classes || classes->empty()) return Status::Usage(where + ": no [classes.<Name>] tables");
  std::map<std::string, std::set<std::string>> own;
  std::map<std::string, std::vector<std::string>> inherits;
  for (const auto& [k, node] : *classes) {
    const std::string name(k.str());
    auto* t = node.as_table();
    auto* args = t ? (*t)["args"].as_array() : nullptr;
    if (!args) return Status::Usage(where + ": classes." + name + ".args must be a list of names");
    own[name];  // a class may add no names of its own
    for (const auto& a : *args) {
      auto s = a.value<std::string>();
      if (!s || !IsIdent(*s)) return Status::Usage(where + ": classes." + name + ".args holds a non-name");
      own[name].insert(*s);
    }
    if (auto* inh = (*t)["inherits"].as_array()) {
      for (const auto& a : *inh) {
        auto s = a.value<std::string>();
        if (!s) return Status::Usage(where + ": classes." + name + ".inherits must be a list of class names");
        inherits[name].push_back(*s);
      }
    }
  }
  // Flatten inheritance; a cycle or an unknown parent is an error in the data file.
  std::function<Status(const std::string&, std::set<std::string>&, int)> collect =
      [&](const std::string& name, std::set<std::string>& acc, int depth) -> Status {
    if (depth > 16) return Status::Usage(where + ": classes inherit in a cycle through '" + name + "'");
    auto it = own.find(name);
    if (it == own.end()) return Status::Usage(where + ": inherits unknown class '" + name + "'");
    acc.insert(it->second.begin(), it->second.end());
    for (const auto& parent : inherits[name]) DSX_RETURN_IF_ERROR(collect(parent, acc, depth + 1));
    return Status::Ok();
  };
  for (const auto& [name, _] : own) DSX_RETURN_IF_ERROR(collect(name, out.classes[name], 0));
  return out;
}

Result<TrlArgs> LoadTrlArgs(const std::string& path) {
  auto text = fs::ReadFile(path);
  if (!text.ok()) return Status::NotFound("no TRL argument list '" + path + "'");
  return ParseTrlArgs(*text, path);
}

std::vector<std::string> CheckConfigKeywords(std::string_view script, const TrlArgs& args) {
  std::vector<std::string> problems;
  for (const auto& kw : ConfigKeywords(script)) {
    auto cls = args.classes.find(kw.config);
    std::string at = "line " + std::to_string(kw.line) + ": ";
    if (cls == args.classes.end()) {
      problems.push_back(at + "unknown config class '" + kw.config + "' (not in trl_args.toml)");
      continue;
    }
    if (cls->second.count(kw.keyword)) continue;
    std::string msg = at + kw.config + " has no argument '" + kw.keyword + "' (trl " + args.trl_version + ")";
    if (auto r = args.renamed.find(kw.keyword); r != args.renamed.end()) msg += ": use " + r->second;
    problems.push_back(msg);
  }
  return problems;
}

}  // namespace dsx::finetune
