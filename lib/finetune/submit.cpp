// The fine-tuning pipeline as one call (submit.hpp): every step's error keeps its own code and
// message, and nothing is written or sent here (the CLI submits the Prepared request).
#include "finetune/submit.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>

#include "core/fs.hpp"
#include "finetune/catalog.hpp"
#include "finetune/spec_parser.hpp"

namespace dsx::finetune {
namespace {

namespace stdfs = std::filesystem;

std::string Join(const std::vector<std::string>& words, const char* sep) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

std::string EnvOr(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// 64-bit FNV-1a: a short, stable tag for a script's content in its file name.
std::string Hash8(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 8);
}

// "NVIDIA A10G" -> "a10g", "Tesla T4" -> "t4"; "" when not one of the classes dsx plans for.
std::string GpuClass(const std::string& name) {
  std::string n;
  for (char c : name) n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  // Longer names first: "l40s" before "l4", "a100" and "a10g" before "a10".
  for (const char* cls : {"h200", "h100", "a100", "a10g", "a10", "l40s", "l4", "t4", "v100", "p100"}) {
    auto at = n.find(cls);
    const size_t end = at + std::strlen(cls);
    if (at != std::string::npos && (end == n.size() || !std::isalnum(static_cast<unsigned char>(n[end])))) return cls;
  }
  return "";
}

}  // namespace

Result<Prepared> Prepare(const SubmitInputs& in) {
  if (in.backend != "hf" && in.backend != "slurm" && in.backend != "local")
    return Status::Usage("unknown backend '" + in.backend + "': use --backend hf, slurm or local");
  const std::string configs_dir = in.configs_dir.empty() ? DefaultConfigsDir() : in.configs_dir;
  auto catalog = Catalog::Load(configs_dir);
  if (!catalog.ok()) return catalog.status();

  ModelResolver resolve = [&](std::string_view alias) { return catalog->ResolveAlias(alias); };
  auto parsed = ParseInstruction(in.instruction, resolve);
  if (!parsed.ok()) return parsed.status();
  Prepared p;
  p.spec = parsed->spec;
  p.notes = parsed->notes;
  if (in.llm_chat && NeedsLlm(*parsed)) {
    auto filled = FillWithLlm(in.instruction, *parsed, in.llm_chat, resolve);
    if (!filled.ok()) return filled.status();
    p.spec = filled->spec;
    p.unparsed = parsed->unparsed;
    p.llm_filled = filled->filled;
    for (const auto& f : filled->ignored) p.notes.push_back("ignored the LLM's " + f + ": the request said it");
  } else if (!parsed->unparsed.empty()) {
    return Status::Usage("did not understand '" + Join(parsed->unparsed, " ") +
                         "': rephrase it, set the field with --set KEY=VALUE, or add --llm PROVIDER");
  }
  if (in.max_cost_usd) {
    if (!(*in.max_cost_usd > 0)) return Status::Usage("--max-cost must be a positive number of dollars");
    p.spec.max_cost_usd.Set(*in.max_cost_usd, Source::kSaid);
  }
  for (const auto& set : in.sets) DSX_RETURN_IF_ERROR(ApplySet(p.spec, set));
  DSX_RETURN_IF_ERROR(Complete(p.spec));

  PlanInputs plan_inputs = in.plan_inputs;
  plan_inputs.backend = in.backend;
  LocalGpus gpus;
  if (in.backend == "local" && plan_inputs.local_gpus == 0 && in.local_gpus) {
    gpus = in.local_gpus();
    if (gpus.count > 0) {
      plan_inputs.local_gpus = gpus.count;
      plan_inputs.local_gpu_mem_gb = gpus.mem_gb;
      p.notes.push_back("this machine: " + std::to_string(gpus.count) + " x " + gpus.name);
    }
  }
  // The Hub, when reachable: a model the catalog lacks, the dataset's columns and split size.
  std::vector<std::string> hub_notes;
  if (in.transport) {
    HubOptions hub = HubOptionsFromEnv();
    hub.transport = in.transport;
    hub.offline = hub.offline || in.offline;
    if (hub.offline) hub_notes.push_back("offline: no Hub lookups (parameters from configs/models.toml)");
    if (!plan_inputs.model_override && !catalog->Model(*p.spec.model.value)) {
      auto model = LookupModel(*p.spec.model.value, hub);
      if (!model.ok()) return model.status();
      if (model->model) plan_inputs.model_override = std::move(model->model);
      if (!model->note.empty()) hub_notes.push_back(model->note);
    }
    auto dataset = LookupDataset(p.spec, hub);
    if (!dataset.ok()) return dataset.status();
    if (dataset->rows > 0 && plan_inputs.dataset_rows <= 0) plan_inputs.dataset_rows = dataset->rows;
    if (!dataset->note.empty()) hub_notes.push_back(dataset->note);
  }
  auto plan = MakePlan(p.spec, *catalog, plan_inputs);
  if (!plan.ok()) return plan.status();
  p.plan = *plan;
  p.plan.notes.insert(p.plan.notes.begin(), hub_notes.begin(), hub_notes.end());
  p.backend = in.backend;
  // The GPU class this machine really has decides the script's precision (no bf16 on T4/V100).
  if (std::string cls = GpuClass(gpus.name); !cls.empty()) p.plan.gpu = cls;

  const std::string templates = in.templates_dir.empty() ? DefaultTemplatesDir() : in.templates_dir;
  auto script = RenderScript(p.spec, p.plan, templates);
  if (!script.ok()) return script.status();
  p.script = *script;
  // A script that names an argument TRL lacks would fail minutes into a paid job: refuse here.
  auto trl_args = LoadTrlArgs((stdfs::path(configs_dir) / "trl_args.toml").string());
  if (!trl_args.ok()) return trl_args.status();
  auto problems = CheckConfigKeywords(p.script, *trl_args);
  if (!problems.empty())
    return Status::Failed("the generated script uses arguments TRL " + trl_args->trl_version +
                          " does not have (a template bug): " + Join(problems, "; "));

  RequestOptions ro = in.request;
  ro.backend = in.backend;
  ro.hf_token_in_env = !EnvOr("HF_TOKEN").empty();
  auto request = BuildRequest(p.spec, p.plan, p.script, ro);
  if (!request.ok()) return request.status();
  p.request = *request;
  if (in.render) {
    auto rendered = in.render(p.request);
    if (!rendered.ok()) return rendered.status();
    p.rendered = *rendered;
  }
  return p;
}

nlohmann::json ToJson(const Prepared& p, const std::string& script_path, const nlohmann::json& job) {
  nlohmann::json req = jobs::ToJson(p.request);
  // The script is "script" once; the request names its files only.
  if (req.contains("files") && req["files"].is_object()) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [name, _] : req["files"].items()) names.push_back(name);
    req["files"] = names;
  }
  return {{"spec", ToJson(p.spec)},
          {"plan", ToJson(p.plan)},
          {"backend", p.backend},
          {"script_path", script_path},
          {"script", p.script},
          {"request", p.rendered},
          {"job_request", req},
          {"notes", p.notes},
          {"unparsed", p.unparsed},
          {"llm_filled", p.llm_filled},
          {"job", job}};
}

Result<LocalGpus> ParseNvidiaSmi(std::string_view text) {
  LocalGpus out;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    size_t comma = line.rfind(',');
    char* end = nullptr;
    const std::string mib_text = comma == std::string::npos ? "" : line.substr(comma + 1);
    const double mib = std::strtod(mib_text.c_str(), &end);
    if (comma == std::string::npos || end == mib_text.c_str() || *end != '\0' || !(mib > 0))
      return Status::Failed("nvidia-smi line " + std::to_string(line_no) + " is not 'NAME, MiB': '" + line + "'");
    const double gb = mib * 1048576.0 / 1e9;
    if (out.count == 0 || gb < out.mem_gb) out.mem_gb = gb;
    if (out.count == 0) {
      out.name = line.substr(0, comma);
      while (!out.name.empty() && out.name.back() == ' ') out.name.pop_back();
    }
    ++out.count;
  }
  return out;
}

LocalGpus DetectLocalGpus() {
  // A fixed command line; stderr dropped: no driver is an answer (no GPUs), not an error.
  FILE* f = ::popen("nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits 2>/dev/null", "r");
  if (!f) return {};
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  if (::pclose(f) != 0) return {};
  auto parsed = ParseNvidiaSmi(text);
  return parsed.ok() ? *parsed : LocalGpus{};
}

std::string DefaultScriptDir() {
  if (auto d = EnvOr("DSX_FINETUNE_DIR"); !d.empty()) return d;
  if (auto x = EnvOr("XDG_CACHE_HOME"); !x.empty()) return x + "/dsx/finetune";
  if (auto h = EnvOr("HOME"); !h.empty()) return h + "/.cache/dsx/finetune";
  auto t = EnvOr("TMPDIR");
  return (t.empty() ? std::string("/tmp") : t) + "/dsx-finetune";
}

Result<std::string> SaveScript(const Prepared& p, const std::string& dir) {
  DSX_RETURN_IF_ERROR(fs::EnsureDir(dir));
  const std::string path = (stdfs::path(dir) / (p.request.name + "-" + Hash8(p.script) + ".py")).string();
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(path, p.script));
  return path;
}

}  // namespace dsx::finetune
