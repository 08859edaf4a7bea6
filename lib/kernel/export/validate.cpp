#include "kernel/export/validate.hpp"

#include <regex>
#include <set>

#include <toml++/toml.h>

#include "core/fs.hpp"

namespace dsx::kernel::exp {

namespace {

namespace stdfs = std::filesystem;

// Keys kernel-builder accepts per table (v5.rs; serde deny_unknown_fields).
const std::set<std::string> kTop = {"general", "torch", "kernel"};
const std::set<std::string> kGeneral = {"name",     "version", "edition",        "license", "upstream",
                                        "source",   "minver",  "backends",       "cuda",    "hub",
                                        "kernel-depends", "neuron", "python-depends", "tpu", "xpu"};
const std::set<std::string> kHub = {"repo-id", "branch"};
const std::set<std::string> kTorch = {"include", "minver", "maxver", "pyext", "src", "stable-abi", "cxx-flags"};
const std::set<std::string> kBackends = {"cann", "cpu", "cuda", "metal", "neuron", "rocm", "tpu", "xpu"};
const std::set<std::string> kCudaKernel = {"backend",   "cuda-capabilities", "cuda-flags", "cuda-minver",
                                           "cxx-flags", "depends",           "include",    "src"};

class Checker {
 public:
  explicit Checker(stdfs::path dir) : dir_(std::move(dir)) {}
  void Problem(const std::string& p) { problems_.push_back(p); }
  const std::vector<std::string>& problems() const { return problems_; }

  void Keys(const toml::table& t, const std::set<std::string>& allowed, const std::string& where) {
    for (const auto& [k, v] : t)
      if (!allowed.count(std::string(k.str()))) Problem("build.toml: unknown key '" + std::string(k.str()) + "' in " + where);
  }
  // An array of strings; `required` when absent is an error.
  std::vector<std::string> Strings(const toml::table& t, const std::string& key, const std::string& where, bool required) {
    std::vector<std::string> out;
    const toml::node* n = t.get(key);
    if (!n) {
      if (required) Problem("build.toml: " + where + " needs '" + key + "' (an array of strings)");
      return out;
    }
    const toml::array* a = n->as_array();
    if (!a) {
      Problem("build.toml: " + where + "." + key + " must be an array of strings");
      return out;
    }
    for (const auto& e : *a) {
      if (auto s = e.value<std::string>()) out.push_back(*s);
      else Problem("build.toml: " + where + "." + key + " must hold only strings");
    }
    return out;
  }
  void File(const std::string& rel, const std::string& where, LayoutReport* rep) {
    stdfs::path p(rel);
    if (p.is_absolute() || rel.find("..") != std::string::npos) {
      Problem("build.toml: " + where + " names '" + rel + "', which is not a path inside the project");
      return;
    }
    std::error_code ec;
    if (!stdfs::is_regular_file(dir_ / p, ec)) Problem("file '" + rel + "' named in " + where + " does not exist");
    rep->files.push_back(rel);
  }
  const stdfs::path& dir() const { return dir_; }

 private:
  stdfs::path dir_;
  std::vector<std::string> problems_;
};

std::vector<std::string> Matches(const std::string& text, const std::regex& re) {
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

}  // namespace

Result<LayoutReport> ValidateProject(const stdfs::path& dir) {
  LayoutReport rep;
  Checker c(dir);
  auto text = fs::ReadFile(dir / "build.toml", 1 << 20);
  if (!text.ok()) return text.status();
  toml::table root;
  try {
    root = toml::parse(*text, (dir / "build.toml").string());
  } catch (const toml::parse_error& e) {
    return Status::Failed("build.toml: " + std::string(e.description()) + " at line " +
                          std::to_string(e.source().begin.line));
  }
  c.Keys(root, kTop, "the top level");
  std::set<std::string> backends;
  const toml::table* g = root["general"].as_table();
  if (!g) {
    c.Problem("build.toml: no [general] table");
  } else {
    c.Keys(*g, kGeneral, "[general]");
    auto name = g->get("name") ? g->get("name")->value<std::string>() : std::nullopt;
    static const std::regex name_re("^[a-z][-a-z0-9]*[a-z0-9]$");
    if (!name || !std::regex_match(*name, name_re))
      c.Problem("build.toml: [general] name must be a string matching ^[a-z][-a-z0-9]*[a-z0-9]$");
    else rep.name = *name;
    const toml::node* v = g->get("version");
    if (!v || !v->is_integer() || v->value<int64_t>().value_or(-1) < 0)
      c.Problem("build.toml: [general] version must be a non-negative integer");
    const toml::node* ed = g->get("edition");
    if (!ed || !ed->is_integer() || ed->value<int64_t>().value_or(0) != 5)
      c.Problem("build.toml: [general] edition must be the integer 5");
    if (!g->get("license") || !g->get("license")->is_string())
      c.Problem("build.toml: [general] license must be a string");
    for (const auto& b : c.Strings(*g, "backends", "[general]", true)) {
      if (!kBackends.count(b)) c.Problem("build.toml: [general] backends has unknown backend '" + b + "'");
      backends.insert(b);
    }
    if (const toml::node* hub = g->get("hub")) {
      if (!hub->is_table()) c.Problem("build.toml: [general.hub] must be a table");
      else {
        c.Keys(*hub->as_table(), kHub, "[general.hub]");
        for (const auto& k : kHub)
          if (const toml::node* n = hub->as_table()->get(k); n && !n->is_string())
            c.Problem("build.toml: [general.hub] " + k + " must be a string");
      }
    }
  }
  const toml::table* torch = root["torch"].as_table();
  if (!torch) {
    c.Problem("build.toml: no [torch] table (the torch extension's sources)");
  } else {
    c.Keys(*torch, kTorch, "[torch]");
    for (const auto& f : c.Strings(*torch, "src", "[torch]", true)) c.File(f, "[torch].src", &rep);
  }
  const toml::table* kernels = root["kernel"].as_table();
  if (!kernels || kernels->empty()) {
    c.Problem("build.toml: no [kernel.<name>] table");
  } else {
    for (const auto& [k, v] : *kernels) {
      const std::string where = "[kernel." + std::string(k.str()) + "]";
      const toml::table* kt = v.as_table();
      if (!kt) {
        c.Problem("build.toml: " + where + " must be a table");
        continue;
      }
      auto backend = kt->get("backend") ? kt->get("backend")->value<std::string>() : std::nullopt;
      if (!backend) {
        c.Problem("build.toml: " + where + " needs backend = \"cuda\" (or another backend)");
        continue;
      }
      if (!backends.count(*backend))
        c.Problem("build.toml: " + where + " backend '" + *backend + "' is not in [general] backends");
      if (*backend == "cuda") c.Keys(*kt, kCudaKernel, where);
      auto deps = c.Strings(*kt, "depends", where, true);
      (void)deps;
      static const std::regex cap_re(R"(^\d+\.\d+a?$)");
      for (const auto& cap : c.Strings(*kt, "cuda-capabilities", where, false))
        if (!std::regex_match(cap, cap_re))
          c.Problem("build.toml: " + where + " cuda-capabilities entry '" + cap + "' is not like \"9.0\"");
      c.Strings(*kt, "cuda-flags", where, false);
      for (const auto& f : c.Strings(*kt, "src", where, true)) c.File(f, where + ".src", &rep);
    }
  }

  // torch-ext: the package kernels.get_kernel imports, and the ops it calls.
  if (!rep.name.empty()) {
    std::string py = rep.name;
    for (auto& ch : py)
      if (ch == '-') ch = '_';
    auto init = fs::ReadFile(dir / "torch-ext" / py / "__init__.py", 4 << 20);
    if (!init.ok()) c.Problem("torch-ext/" + py + "/__init__.py: " + init.status().message());
    auto binding = fs::ReadFile(dir / "torch-ext" / "torch_binding.cpp", 4 << 20);
    if (!binding.ok()) c.Problem("torch-ext/torch_binding.cpp: " + binding.status().message());
    if (init.ok() && binding.ok()) {
      if (init->find("from ._ops import ops") == std::string::npos)
        c.Problem("torch-ext/" + py + "/__init__.py does not import ops with 'from ._ops import ops'");
      if (binding->find("TORCH_LIBRARY_EXPAND(TORCH_EXTENSION_NAME") == std::string::npos ||
          binding->find("REGISTER_EXTENSION(TORCH_EXTENSION_NAME)") == std::string::npos)
        c.Problem("torch-ext/torch_binding.cpp must register with TORCH_LIBRARY_EXPAND(TORCH_EXTENSION_NAME, ...) "
                  "and REGISTER_EXTENSION(TORCH_EXTENSION_NAME)");
      rep.ops_def = Matches(*binding, std::regex(R"re(ops\.def\(\s*"([A-Za-z_]\w*)\()re"));
      auto impls = Matches(*binding, std::regex(R"re(ops\.impl\(\s*"([A-Za-z_]\w*)")re"));
      rep.ops_called = Matches(*init, std::regex(R"(\bops\.([A-Za-z_]\w*)\s*\()"));
      std::set<std::string> defs(rep.ops_def.begin(), rep.ops_def.end());
      std::set<std::string> impl_set(impls.begin(), impls.end());
      for (const auto& op : rep.ops_called)
        if (!defs.count(op)) c.Problem("the wrapper calls ops." + op + " but torch_binding.cpp does not ops.def it");
      for (const auto& op : rep.ops_def)
        if (!impl_set.count(op)) c.Problem("op '" + op + "' is defined but has no ops.impl for a device");
      if (rep.ops_called.empty()) c.Problem("torch-ext/" + py + "/__init__.py calls no op");
    }
  }
  std::error_code ec;
  if (!stdfs::is_regular_file(dir / "flake.nix", ec)) c.Problem("flake.nix is missing (kernel-builder builds with it)");
  if (!c.problems().empty()) {
    std::string all;
    for (const auto& p : c.problems()) all += (all.empty() ? "" : "; ") + p;
    return Status::Failed("kernel-builder layout of '" + dir.string() + "': " + all);
  }
  return rep;
}

}  // namespace dsx::kernel::exp
