// Reading a run's plan.json back into a Plan (run_plan.hpp): the exact inverse of ToJson.
#include "autolab/run_plan.hpp"

#include <filesystem>
#include <system_error>

#include "core/fs.hpp"
#include "core/json_limits.hpp"

namespace dsx::autolab {
namespace {

using json = nlohmann::json;

// Field readers: each names the field's full path when it is missing or mistyped. A JSON exception
// from nlohmann carries the path of neither, so the checks are explicit.
class Reader {
 public:
  Status error;

  const json* Get(const json& obj, const char* key, const std::string& where) {
    if (!error.ok()) return nullptr;
    if (!obj.is_object()) return Fail(where + " is not an object");
    auto it = obj.find(key);
    if (it == obj.end()) return Fail(where + "." + key + " is missing");
    return &*it;
  }
  std::string Str(const json& obj, const char* key, const std::string& where) {
    const json* v = Get(obj, key, where);
    if (!v) return {};
    if (!v->is_string()) return Fail(where + "." + key + " is not a string"), std::string();
    return v->get<std::string>();
  }
  double Num(const json& obj, const char* key, const std::string& where) {
    const json* v = Get(obj, key, where);
    if (!v) return 0;
    if (!v->is_number()) return Fail(where + "." + key + " is not a number"), 0.0;
    return v->get<double>();
  }
  std::int64_t Int(const json& obj, const char* key, const std::string& where) {
    const json* v = Get(obj, key, where);
    if (!v) return 0;
    if (!v->is_number_integer()) return Fail(where + "." + key + " is not an integer"), std::int64_t{0};
    return v->get<std::int64_t>();
  }
  std::uint64_t Uint(const json& obj, const char* key, const std::string& where) {
    const json* v = Get(obj, key, where);
    if (!v) return 0;
    if (!v->is_number_unsigned()) return Fail(where + "." + key + " is not an unsigned integer"), std::uint64_t{0};
    return v->get<std::uint64_t>();
  }
  bool Bool(const json& obj, const char* key, const std::string& where) {
    const json* v = Get(obj, key, where);
    if (!v) return false;
    if (!v->is_boolean()) return Fail(where + "." + key + " is not a boolean"), false;
    return v->get<bool>();
  }
  const json& Obj(const json& obj, const char* key, const std::string& where) {
    static const json kEmpty = json::object();
    const json* v = Get(obj, key, where);
    if (!v) return kEmpty;
    if (!v->is_object()) return Fail(where + "." + key + " is not an object"), kEmpty;
    return *v;
  }
  const json& Arr(const json& obj, const char* key, const std::string& where) {
    static const json kEmpty = json::array();
    const json* v = Get(obj, key, where);
    if (!v) return kEmpty;
    if (!v->is_array()) return Fail(where + "." + key + " is not an array"), kEmpty;
    return *v;
  }
  std::vector<std::string> Strings(const json& obj, const char* key, const std::string& where) {
    std::vector<std::string> out;
    for (const auto& v : Arr(obj, key, where)) {
      if (!v.is_string()) return Fail(where + "." + key + " holds a non-string"), std::vector<std::string>();
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  std::map<std::string, json> Map(const json& obj, const char* key, const std::string& where) {
    std::map<std::string, json> out;
    for (const auto& [k, v] : Obj(obj, key, where).items()) out[k] = v;
    return out;
  }
  int Small(std::int64_t v, const std::string& what) {
    if (v < INT32_MIN || v > INT32_MAX) return Fail(what + " is out of range"), 0;
    return static_cast<int>(v);
  }

 private:
  std::nullptr_t Fail(const std::string& msg) {
    if (error.ok()) error = Status::Failed("plan.json: " + msg);
    return nullptr;
  }
};

Result<Param::Kind> ParamKind(const std::string& word) {
  if (word == "grid") return Param::kGrid;
  if (word == "choice") return Param::kChoice;
  if (word == "uniform") return Param::kUniform;
  if (word == "loguniform") return Param::kLogUniform;
  if (word == "int") return Param::kInt;
  return Status::Failed("plan.json: unknown parameter type '" + word + "'");
}

Result<MetricSource::Kind> SourceKind(const std::string& word) {
  if (word == "json_lines") return MetricSource::kJsonLines;
  if (word == "file") return MetricSource::kFile;
  if (word == "regex") return MetricSource::kRegex;
  return Status::Failed("plan.json: unknown metric source '" + word + "'");
}

}  // namespace

std::string RunPlanPath(const std::string& run_dir) {
  return (std::filesystem::path(run_dir) / kRunPlanFileName).string();
}

Result<Plan> PlanFromJson(const json& j) {
  Reader r;
  Plan p;
  p.name = r.Str(j, "name", "plan");

  const json& o = r.Obj(j, "objective", "plan");
  p.objective.metric = r.Str(o, "metric", "objective");
  const std::string direction = r.Str(o, "direction", "objective");
  if (r.error.ok() && direction != "minimize" && direction != "maximize")
    return Status::Failed("plan.json: objective.direction is '" + direction + "' (minimize or maximize)");
  p.objective.maximize = direction == "maximize";
  p.objective.margin = r.Num(o, "margin", "objective");
  p.objective.repeats = r.Small(r.Int(o, "repeats", "objective"), "objective.repeats");
  p.objective.confidence = r.Num(o, "confidence", "objective");

  const json& b = r.Obj(j, "budget", "plan");
  p.budget.max_experiments = r.Small(r.Int(b, "max_experiments", "budget"), "budget.max_experiments");
  p.budget.max_parallel = r.Small(r.Int(b, "max_parallel", "budget"), "budget.max_parallel");
  p.budget.wall_clock_s = r.Int(b, "wall_clock_s", "budget");
  p.budget.experiment_timeout_s = r.Int(b, "experiment_timeout_s", "budget");
  p.budget.max_cost_usd = r.Num(b, "max_cost_usd", "budget");

  const json& e = r.Obj(j, "experiment", "plan");
  p.experiment.command = r.Str(e, "command", "experiment");
  p.experiment.files = r.Strings(e, "files", "experiment");
  p.experiment.git_worktree = r.Bool(e, "git_worktree", "experiment");
  for (const auto& [k, v] : r.Map(e, "env", "experiment")) {
    if (!v.is_string()) return Status::Failed("plan.json: experiment.env." + k + " is not a string");
    p.experiment.env[k] = v.get<std::string>();
  }
  const json& m = r.Obj(e, "metric", "experiment");
  auto source = SourceKind(r.Str(m, "source", "experiment.metric"));
  if (r.error.ok() && !source.ok()) return source.status();
  if (source.ok()) p.experiment.metric.kind = *source;
  p.experiment.metric.file = r.Str(m, "file", "experiment.metric");
  p.experiment.metric.regex = r.Str(m, "regex", "experiment.metric");
  p.experiment.metric.intermediate_key = r.Str(m, "intermediate_key", "experiment.metric");
  const json& pr = r.Obj(e, "pruning", "experiment");
  p.experiment.pruning.median_stopping = r.Bool(pr, "median_stopping", "experiment.pruning");
  p.experiment.pruning.min_steps = r.Small(r.Int(pr, "min_steps", "experiment.pruning"), "min_steps");

  if (j.is_object() && j.contains("sweep")) {
    const json& s = r.Obj(j, "sweep", "plan");
    Sweep sweep;
    const std::string mode = r.Str(s, "mode", "sweep");
    if (r.error.ok() && mode != "grid" && mode != "random")
      return Status::Failed("plan.json: sweep.mode is '" + mode + "' (grid or random)");
    sweep.mode = mode == "random" ? Sweep::kRandom : Sweep::kGrid;
    for (const auto& pj : r.Arr(s, "params", "sweep")) {
      Param param;
      param.name = r.Str(pj, "name", "sweep.params[]");
      auto kind = ParamKind(r.Str(pj, "type", "sweep.params[]"));
      if (r.error.ok() && !kind.ok()) return kind.status();
      if (kind.ok()) param.kind = *kind;
      for (const auto& v : r.Arr(pj, "values", "sweep.params[]")) param.values.push_back(v);
      param.low = r.Num(pj, "low", "sweep.params[]");
      param.high = r.Num(pj, "high", "sweep.params[]");
      param.count = r.Small(r.Int(pj, "count", "sweep.params[]"), "sweep.params[].count");
      sweep.params.push_back(std::move(param));
    }
    sweep.samples = r.Small(r.Int(s, "samples", "sweep"), "sweep.samples");
    sweep.seed = r.Uint(s, "seed", "sweep");
    p.sweep = std::move(sweep);
  }
  if (j.is_object() && j.contains("evolve")) {
    const json& ev = r.Obj(j, "evolve", "plan");
    Evolve evolve;
    evolve.base = r.Map(ev, "base", "evolve");
    for (const auto& hj : r.Arr(ev, "hypotheses", "evolve")) {
      Hypothesis h;
      h.id = r.Str(hj, "id", "evolve.hypotheses[]");
      h.rationale = r.Str(hj, "rationale", "evolve.hypotheses[]");
      h.overrides = r.Map(hj, "overrides", "evolve.hypotheses[]");
      h.patch = r.Str(hj, "patch", "evolve.hypotheses[]");
      evolve.hypotheses.push_back(std::move(h));
    }
    p.evolve = std::move(evolve);
  }
  if (j.is_object() && j.contains("researcher")) {
    const json& rj = r.Obj(j, "researcher", "plan");
    Researcher res;
    res.provider = r.Str(rj, "provider", "researcher");
    res.model = r.Str(rj, "model", "researcher");
    res.goal = r.Str(rj, "goal", "researcher");
    res.notes = r.Strings(rj, "notes", "researcher");
    p.researcher = std::move(res);
  }
  p.backend = r.Str(j, "backend", "plan");
  const json& rs = r.Obj(j, "resources", "plan");
  p.resources.flavor = r.Str(rs, "flavor", "resources");
  p.resources.gpus = r.Small(r.Int(rs, "gpus", "resources"), "resources.gpus");
  p.resources.gpu_type = r.Str(rs, "gpu_type", "resources");
  p.resources.cpus = r.Small(r.Int(rs, "cpus", "resources"), "resources.cpus");
  p.resources.mem_gb = r.Small(r.Int(rs, "mem_gb", "resources"), "resources.mem_gb");
  p.resources.partition = r.Str(rs, "partition", "resources");
  p.resources.account = r.Str(rs, "account", "resources");
  p.resources.image = r.Str(rs, "image", "resources");
  p.resources.namespace_ = r.Str(rs, "namespace", "resources");
  p.session_server = r.Str(j, "session_server", "plan");
  if (!r.error.ok()) return r.error;
  return p;
}

Result<Plan> LoadRunPlan(const std::string& run_dir) {
  const std::string path = RunPlanPath(run_dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Status::NotFound("no " + std::string(kRunPlanFileName) + " in run folder " + run_dir);
  auto text = fs::ReadFile(path, kMaxPlanBytes);
  if (!text.ok()) return text.status().Wrap("cannot read " + path);
  auto j = ParseJsonBounded(*text);
  if (!j.ok()) return j.status().Wrap(path);
  auto plan = PlanFromJson(*j);
  if (!plan.ok()) return Status(plan.status().code(), path + ": " + plan.status().message());
  plan->path = path;
  plan->dir = run_dir;
  return plan;
}

}  // namespace dsx::autolab
