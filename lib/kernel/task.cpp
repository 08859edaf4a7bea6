#include "kernel/task.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

#include <toml++/toml.h>

#include "core/fs.hpp"
#include "kernel/expr.hpp"

namespace dsx::kernel {

namespace fs = std::filesystem;

namespace {

// Thrown inside this file only; ParseTask turns it into a Status.
struct SpecError {
  std::string msg;
};

[[noreturn]] void Bad(const std::string& msg) { throw SpecError{msg}; }

std::string ReqString(const toml::table& t, const char* key, const std::string& where) {
  auto v = t[key].value<std::string>();
  if (!v) Bad(where + ": missing string '" + key + "'");
  return *v;
}

std::string OptString(const toml::table& t, const char* key, const std::string& fallback) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  if (auto s = n->value<std::string>()) return *s;
  if (auto i = n->value<int64_t>()) return std::to_string(*i);
  if (auto d = n->value<double>()) {
    std::ostringstream os;
    os << *d;
    return os.str();
  }
  Bad(std::string("'") + key + "' must be a string or a number");
}

// An array whose elements are expressions (strings) or integers.
std::vector<std::string> ExprArray(const toml::table& t, const char* key, const std::string& where, bool required) {
  const toml::node* n = t.get(key);
  std::vector<std::string> out;
  if (!n) {
    if (required) Bad(where + ": missing array '" + key + "'");
    return out;
  }
  const toml::array* arr = n->as_array();
  if (!arr) Bad(where + ": '" + key + "' must be an array");
  for (const auto& e : *arr) {
    if (auto s = e.value<std::string>()) out.push_back(*s);
    else if (auto i = e.value<int64_t>()) out.push_back(std::to_string(*i));
    else Bad(where + ": '" + key + "' elements must be strings or integers");
  }
  return out;
}

std::vector<std::string> StringArray(const toml::table& t, const char* key, const std::string& where) {
  std::vector<std::string> out;
  const toml::node* n = t.get(key);
  if (!n) return out;
  const toml::array* arr = n->as_array();
  if (!arr) Bad(where + ": '" + key + "' must be an array of strings");
  for (const auto& e : *arr) {
    auto s = e.value<std::string>();
    if (!s) Bad(where + ": '" + key + "' must be an array of strings");
    out.push_back(*s);
  }
  return out;
}

LaunchSpec ParseLaunch(const toml::table& t, const std::string& where, const LaunchSpec* base) {
  LaunchSpec l = base ? *base : LaunchSpec{};
  if (!base) {
    l.file = ReqString(t, "file", where);
    l.entry = ReqString(t, "entry", where);
  } else {
    l.file = OptString(t, "file", l.file);
    l.entry = OptString(t, "entry", l.entry);
  }
  if (t.contains("grid") || !base) l.grid = ExprArray(t, "grid", where, true);
  if (t.contains("block") || !base) l.block = ExprArray(t, "block", where, true);
  l.shared = OptString(t, "shared", l.shared);
  if (t.contains("options")) l.options = StringArray(t, "options", where);
  if (l.grid.empty() || l.grid.size() > 3) Bad(where + ": 'grid' needs 1 to 3 dimensions");
  if (l.block.empty() || l.block.size() > 3) Bad(where + ": 'block' needs 1 to 3 dimensions");
  if (l.entry.empty()) Bad(where + ": 'entry' is empty");
  return l;
}

ParamSpec ParseParam(const toml::table& t, size_t index) {
  ParamSpec p;
  std::string where = "params[" + std::to_string(index) + "]";
  p.name = ReqString(t, "name", where);
  where = "param '" + p.name + "'";
  std::string kind = ReqString(t, "kind", where);
  p.dtype = ReqString(t, "dtype", where);
  if (p.dtype != "T" && !ParseDType(p.dtype)) Bad(where + ": unknown dtype '" + p.dtype + "'");
  if (kind == "ptr") {
    p.kind = ParamKind::kPtr;
    p.shape = ExprArray(t, "shape", where, true);
    if (p.shape.empty()) Bad(where + ": 'shape' is empty");
    std::string io = ReqString(t, "io", where);
    if (io == "in") p.io = ParamIo::kIn;
    else if (io == "out") p.io = ParamIo::kOut;
    else if (io == "scratch") p.io = ParamIo::kScratch;
    else Bad(where + ": io must be in, out or scratch, not '" + io + "'");
    std::string init = OptString(t, "init", "normal");
    if (init == "normal") p.init = InitDist::kNormal;
    else if (init == "uniform") p.init = InitDist::kUniform;
    else if (init == "positive") p.init = InitDist::kPositive;
    else Bad(where + ": init must be normal, uniform or positive, not '" + init + "'");
  } else if (kind == "scalar") {
    p.kind = ParamKind::kScalar;
    if (p.dtype == "T") Bad(where + ": a scalar needs a concrete dtype (i32, i64, f32, f64)");
    p.value = OptString(t, "value", "");
    if (p.value.empty()) Bad(where + ": missing 'value'");
  } else {
    Bad(where + ": kind must be ptr or scalar, not '" + kind + "'");
  }
  return p;
}

// [allowed] VAR = [v1, v2, ...]: every preset must define VAR with one of those values.
void ParseAllowed(const toml::table& root, TaskSpec& t) {
  const toml::node* node = root.get("allowed");
  if (!node) return;
  const toml::table* at = node->as_table();
  if (!at) Bad("'allowed' must be a table: [allowed] NAME = [values]");
  for (const auto& [k, n] : *at) {
    const std::string var(k.str());
    const toml::array* arr = n.as_array();
    if (!arr || arr->empty()) Bad("allowed." + var + " must be a non-empty array of integers");
    auto& values = t.allowed[var];
    for (const auto& e : *arr) {
      auto v = e.value<int64_t>();
      if (!e.is_integer() || !v) Bad("allowed." + var + " must be a non-empty array of integers");
      values.push_back(*v);
    }
  }
  for (const auto& p : t.presets) {
    const auto& vars = t.sizes.at(p);
    for (const auto& [var, values] : t.allowed) {
      auto it = vars.find(var);
      if (it == vars.end()) Bad("sizes." + p + " has no '" + var + "' (it is listed in [allowed])");
      if (std::find(values.begin(), values.end(), it->second) != values.end()) continue;
      std::string list;
      for (int64_t v : values) list += (list.empty() ? "" : ", ") + std::to_string(v);
      Bad("sizes." + p + "." + var + " = " + std::to_string(it->second) + " is not allowed (allowed." + var +
          ": " + list + ")");
    }
  }
}

TaskSpec ParseTable(const toml::table& root, const fs::path& dir) {
  TaskSpec t;
  t.dir = dir;
  t.name = ReqString(root, "name", "task");
  t.description = OptString(root, "description", "");
  t.cpu_reference = OptString(root, "cpu_reference", "");
  for (const auto& d : StringArray(root, "dtypes", "task")) {
    auto dt = ParseDType(d);
    if (!dt) Bad("dtypes: unknown dtype '" + d + "'");
    t.dtypes.push_back(*dt);
  }
  if (t.dtypes.empty()) Bad("task: 'dtypes' must list at least one dtype");

  const toml::table* sizes = root["sizes"].as_table();
  if (!sizes) Bad("task: missing [sizes.<preset>] tables");
  for (const auto& [key, node] : *sizes) {
    const toml::table* pt = node.as_table();
    std::string preset(key.str());
    if (!pt) Bad("sizes." + preset + " must be a table");
    auto& vars = t.sizes[preset];
    for (const auto& [vk, vn] : *pt) {
      auto v = vn.value<int64_t>();
      // 0 is allowed for flags (attention's CAUSAL); a shape dimension of 0 is still an error.
      if (!vn.is_integer() || !v || *v < 0)
        Bad("sizes." + preset + "." + std::string(vk.str()) + " must be an integer >= 0");
      vars[std::string(vk.str())] = *v;
    }
    t.presets.push_back(preset);
  }
  // Presets in the canonical order first (toml++ tables iterate sorted by key).
  std::vector<std::string> ordered;
  for (const char* p : {"small", "medium", "large"}) {
    auto it = std::find(t.presets.begin(), t.presets.end(), p);
    if (it == t.presets.end()) Bad(std::string("task: missing [sizes.") + p + "]");
    ordered.push_back(p);
  }
  for (const auto& p : t.presets)
    if (std::find(ordered.begin(), ordered.end(), p) == ordered.end()) ordered.push_back(p);
  t.presets = ordered;
  ParseAllowed(root, t);

  const toml::array* params = root["params"].as_array();
  if (!params || params->empty()) Bad("task: missing [[params]]");
  for (size_t i = 0; i < params->size(); ++i) {
    const toml::table* pt = (*params)[i].as_table();
    if (!pt) Bad("params[" + std::to_string(i) + "] must be a table");
    t.params.push_back(ParseParam(*pt, i));
  }
  bool has_out = false;
  for (size_t i = 0; i < t.params.size(); ++i) {
    has_out = has_out || t.params[i].io == ParamIo::kOut;
    for (size_t j = 0; j < i; ++j)
      if (t.params[j].name == t.params[i].name) Bad("params: duplicate name '" + t.params[i].name + "'");
  }
  if (!has_out) Bad("params: at least one parameter needs io = \"out\"");

  const toml::table* cost = root["cost"].as_table();
  if (!cost) Bad("task: missing [cost]");
  t.cost_bytes = OptString(*cost, "bytes", "");
  if (t.cost_bytes.empty()) Bad("cost: missing 'bytes'");
  t.cost_flops = OptString(*cost, "flops", "0");

  const toml::table* tol = root["tolerance"].as_table();
  if (!tol) Bad("task: missing [tolerance]");
  for (const auto& [k, n] : *tol) {
    auto dt = ParseDType(k.str());
    if (!dt) Bad("tolerance: unknown dtype '" + std::string(k.str()) + "'");
    auto v = n.value<double>();
    if (!v || *v < 0) Bad("tolerance." + std::string(k.str()) + " must be a number >= 0");
    t.tolerance[*dt] = *v;
  }
  for (DType d : t.dtypes)
    if (!t.tolerance.count(d)) Bad(std::string("tolerance: missing a value for dtype '") + DTypeName(d) + "'");

  const toml::table* ref = root["impl"]["reference"].as_table();
  const toml::table* opt = root["impl"]["optimized"].as_table();
  if (!ref) Bad("task: missing [impl.reference]");
  if (!opt) Bad("task: missing [impl.optimized]");
  t.reference = ParseLaunch(*ref, "impl.reference", nullptr);
  t.optimized = ParseLaunch(*opt, "impl.optimized", nullptr);
  return t;
}

}  // namespace

Result<TaskSpec> ParseTask(std::string_view toml_text, const fs::path& dir) {
  try {
    toml::table root = toml::parse(toml_text, (dir / "task.toml").string());
    TaskSpec t = ParseTable(root, dir);
    // Every preset x dtype must resolve: catch bad expressions at load time, not mid-benchmark.
    for (DType d : t.dtypes)
      for (const auto& p : t.presets) {
        auto inst = Instantiate(t, d, p);
        if (!inst.ok()) return inst.status();
        for (const LaunchSpec* l : {&t.reference, &t.optimized}) {
          auto rl = ResolveLaunch(*l, *inst);
          if (!rl.ok()) return rl.status();
        }
      }
    return t;
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return Status::Usage("task.toml:" + std::to_string(src.begin.line) + ": " + std::string(e.description()));
  } catch (const SpecError& e) {
    return Status::Usage(e.msg);
  }
}

Result<TaskSpec> LoadTask(const fs::path& dir) {
  auto text = dsx::fs::ReadFile(dir / "task.toml");
  if (!text.ok()) return text.status();
  auto t = ParseTask(*text, dir);
  if (!t.ok()) return t.status().Wrap("invalid task '" + (dir / "task.toml").string() + "'");
  if (t->name != dir.filename().string() && dir.filename() != ".")
    return Status::Usage("invalid task '" + (dir / "task.toml").string() + "': name '" + t->name +
                         "' differs from the folder name");
  return t;
}

namespace {
fs::path ExeDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}
}  // namespace

Result<fs::path> FindTasksRoot() {
  if (const char* env = std::getenv("DSX_KERNELS_DIR"); env && *env) {
    if (fs::is_directory(env)) return fs::path(env);
    return Status::NotFound(std::string("kernels folder '") + env + "' (from DSX_KERNELS_DIR) does not exist");
  }
  std::vector<fs::path> candidates = {fs::path("kernels")};
  fs::path exe = ExeDir();
  if (!exe.empty()) {
    candidates.push_back(exe / ".." / "kernels");
    candidates.push_back(exe / ".." / ".." / "kernels");
  }
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) return fs::weakly_canonical(c, ec);
  }
  return Status::NotFound("no kernels folder (looked in ./kernels and next to the dsx binary; set DSX_KERNELS_DIR)");
}

Result<fs::path> ResolveTaskDir(const std::string& name_or_path) {
  std::error_code ec;
  if (name_or_path.find('/') != std::string::npos || fs::exists(fs::path(name_or_path) / "task.toml", ec)) {
    if (fs::exists(fs::path(name_or_path) / "task.toml", ec)) return fs::path(name_or_path);
    return Status::NotFound("no task.toml in '" + name_or_path + "'");
  }
  auto root = FindTasksRoot();
  if (!root.ok()) return root.status();
  fs::path dir = *root / name_or_path;
  if (!fs::exists(dir / "task.toml", ec))
    return Status::NotFound("unknown task '" + name_or_path + "' (see 'dsx kernel list')");
  return dir;
}

std::vector<std::string> ListTaskNames(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory() && fs::exists(e.path() / "task.toml")) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string SubstituteEntry(const std::string& entry, DType dtype) {
  std::string out = entry;
  for (size_t p; (p = out.find("{dtype}")) != std::string::npos;) out.replace(p, 7, DTypeName(dtype));
  // Replace T as a whole identifier inside the template argument list only.
  size_t lt = out.find('<');
  if (lt == std::string::npos) return out;
  std::string head = out.substr(0, lt), args = out.substr(lt), res;
  for (size_t i = 0; i < args.size(); ++i) {
    bool ident_before = i > 0 && (std::isalnum(static_cast<unsigned char>(args[i - 1])) || args[i - 1] == '_');
    bool ident_after =
        i + 1 < args.size() && (std::isalnum(static_cast<unsigned char>(args[i + 1])) || args[i + 1] == '_');
    if (args[i] == 'T' && !ident_before && !ident_after) res += DTypeCppName(dtype);
    else res += args[i];
  }
  return head + res;
}

Result<TaskInstance> Instantiate(const TaskSpec& task, DType dtype, const std::string& preset) {
  auto sit = task.sizes.find(preset);
  if (sit == task.sizes.end()) return Status::NotFound("task '" + task.name + "' has no size preset '" + preset + "'");
  if (std::find(task.dtypes.begin(), task.dtypes.end(), dtype) == task.dtypes.end())
    return Status::NotFound("task '" + task.name + "' has no dtype '" + DTypeName(dtype) + "'");
  TaskInstance inst;
  inst.dtype = dtype;
  inst.preset = preset;
  inst.sizes = sit->second;
  inst.tolerance = task.tolerance.at(dtype);
  ExprEnv env{&inst.sizes, dtype};
  const std::string where = " (" + std::string(DTypeName(dtype)) + ", " + preset + ")";
  for (const auto& p : task.params) {
    ResolvedParam rp;
    rp.spec = &p;
    rp.dtype = p.dtype == "T" ? dtype : *ParseDType(p.dtype);
    if (p.kind == ParamKind::kPtr) {
      rp.numel = 1;
      for (const auto& e : p.shape) {
        auto v = EvalInt(e, env);
        if (!v.ok()) return v.status().Wrap("param '" + p.name + "' shape" + where);
        if (*v <= 0)
          return Status::Usage("param '" + p.name + "' shape" + where + ": dimension '" + e + "' is " +
                               std::to_string(*v));
        rp.shape.push_back(*v);
        rp.numel *= *v;
      }
    } else {
      auto v = EvalExpr(p.value, env);
      if (!v.ok()) return v.status().Wrap("param '" + p.name + "' value" + where);
      rp.scalar = v->AsDouble();
    }
    inst.params.push_back(std::move(rp));
  }
  auto bytes = EvalExpr(task.cost_bytes, env);
  if (!bytes.ok()) return bytes.status().Wrap("cost.bytes" + where);
  auto flops = EvalExpr(task.cost_flops, env);
  if (!flops.ok()) return flops.status().Wrap("cost.flops" + where);
  inst.bytes = bytes->AsDouble();
  inst.flops = flops->AsDouble();
  return inst;
}

Result<ResolvedLaunch> ResolveLaunch(const LaunchSpec& launch, const TaskInstance& inst) {
  ResolvedLaunch r;
  ExprEnv env{&inst.sizes, inst.dtype};
  r.entry = SubstituteEntry(launch.entry, inst.dtype);
  auto dims = [&](const std::vector<std::string>& exprs, std::array<unsigned, 3>& out, const char* what,
                  int64_t limit) -> Status {
    for (size_t i = 0; i < exprs.size() && i < 3; ++i) {
      auto v = EvalInt(exprs[i], env);
      if (!v.ok()) return v.status().Wrap(std::string(what) + " of '" + launch.entry + "'");
      if (*v <= 0 || *v > limit)
        return Status::Usage(std::string(what) + " of '" + launch.entry + "': '" + exprs[i] + "' is " +
                             std::to_string(*v) + " (must be 1.." + std::to_string(limit) + ")");
      out[i] = static_cast<unsigned>(*v);
    }
    return Status::Ok();
  };
  DSX_RETURN_IF_ERROR(dims(launch.grid, r.grid, "grid", 2147483647));
  DSX_RETURN_IF_ERROR(dims(launch.block, r.block, "block", 1024));
  if (static_cast<int64_t>(r.block[0]) * r.block[1] * r.block[2] > 1024)
    return Status::Usage("block of '" + launch.entry + "' has more than 1024 threads");
  auto sh = EvalInt(launch.shared, env);
  if (!sh.ok()) return sh.status().Wrap("shared of '" + launch.entry + "'");
  if (*sh < 0 || *sh > (1 << 30)) return Status::Usage("shared of '" + launch.entry + "' is out of range");
  r.shared = static_cast<unsigned>(*sh);
  r.options = launch.options;
  return r;
}

Result<LaunchSpec> ApplyLaunchLine(const LaunchSpec& base, std::string_view source) {
  size_t pos = source.find("dsx-launch:");
  if (pos == std::string_view::npos) return base;
  size_t line_start = source.rfind('\n', pos);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  size_t line_no = 1 + static_cast<size_t>(std::count(source.begin(), source.begin() + pos, '\n'));
  size_t end = source.find('\n', pos);
  std::string body(source.substr(pos + 11, end == std::string_view::npos ? std::string_view::npos : end - pos - 11));
  std::string prefix(source.substr(line_start, pos - line_start));
  if (prefix.find("//") == std::string::npos) return base;  // only a // comment counts
  try {
    toml::table t = toml::parse("launch = {" + body + "}");
    const toml::table* lt = t["launch"].as_table();
    return ParseLaunch(*lt, "dsx-launch", &base);
  } catch (const toml::parse_error& e) {
    return Status::Usage("line " + std::to_string(line_no) + ": bad dsx-launch line: " + std::string(e.description()));
  } catch (const SpecError& e) {
    return Status::Usage("line " + std::to_string(line_no) + ": bad dsx-launch line: " + e.msg);
  }
}

nlohmann::json TaskToJson(const TaskSpec& t) {
  using nlohmann::json;
  json j;
  j["name"] = t.name;
  j["description"] = t.description;
  j["dir"] = t.dir.string();
  j["dtypes"] = json::array();
  for (DType d : t.dtypes) j["dtypes"].push_back(DTypeName(d));
  j["cpu_reference"] = t.cpu_reference.empty() ? json(nullptr) : json(t.cpu_reference);
  j["sizes"] = json::object();
  for (const auto& p : t.presets) j["sizes"][p] = t.sizes.at(p);
  j["presets"] = t.presets;
  j["allowed"] = t.allowed;
  j["params"] = json::array();
  for (const auto& p : t.params) {
    json pj{{"name", p.name}, {"kind", p.kind == ParamKind::kPtr ? "ptr" : "scalar"}, {"dtype", p.dtype}};
    if (p.kind == ParamKind::kPtr) {
      pj["shape"] = p.shape;
      pj["io"] = p.io == ParamIo::kIn ? "in" : p.io == ParamIo::kOut ? "out" : "scratch";
      if (p.io == ParamIo::kIn)
        pj["init"] = p.init == InitDist::kNormal ? "normal" : p.init == InitDist::kUniform ? "uniform" : "positive";
    } else {
      pj["value"] = p.value;
    }
    j["params"].push_back(pj);
  }
  j["cost"] = {{"bytes", t.cost_bytes}, {"flops", t.cost_flops}};
  j["tolerance"] = json::object();
  for (const auto& [d, v] : t.tolerance) j["tolerance"][DTypeName(d)] = v;
  auto launch = [](const LaunchSpec& l) {
    return json{{"file", l.file},   {"entry", l.entry},   {"grid", l.grid},
                {"block", l.block}, {"shared", l.shared}, {"options", l.options}};
  };
  j["impl"] = {{"reference", launch(t.reference)}, {"optimized", launch(t.optimized)}};
  return j;
}

}  // namespace dsx::kernel
