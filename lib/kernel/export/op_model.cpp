#include "kernel/export/op_model.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <set>

#include "kernel/expr.hpp"
#include "kernel/export/expr_emit.hpp"

namespace dsx::kernel::exp {

namespace {

// Words that cannot name a variable in C++ or Python (the generated wrapper and binding use
// parameter names as identifiers); a task parameter called `in` or `float` gets a '_' suffix.
const std::set<std::string>& Reserved() {
  static const std::set<std::string> k = {
      "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
      "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not",
      "or", "pass", "raise", "return", "try", "while", "with", "yield", "None", "True", "False", "auto",
      "bool", "case", "char", "const", "default", "delete", "do", "double", "enum", "explicit", "extern",
      "float", "friend", "goto", "inline", "int", "long", "namespace", "new", "operator", "private",
      "protected", "public", "register", "short", "signed", "sizeof", "static", "struct", "switch",
      "template", "this", "throw", "typedef", "typename", "union", "unsigned", "using", "virtual", "void",
      "volatile", "torch", "ops", "out", "s", "p", "T", "stream", "err", "self"};
  return k;
}

const std::regex& KernelNameRe() {
  static const std::regex re("^[a-z][-a-z0-9]*[a-z0-9]$");
  return re;
}

}  // namespace

std::string SafeIdent(const std::string& name) {
  std::string id = name;
  while (Reserved().count(id) || (!id.empty() && id[0] == '_')) id += "_";
  return id;
}

std::string FormatDouble(double v) {
  char buf[64];
  for (int prec = 6; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // stays a float in Python
  return s;
}

std::vector<std::string> SizeVariables(const TaskSpec& task) {
  std::vector<std::string> out;
  for (const auto& p : task.presets)
    for (const auto& [n, v] : task.sizes.at(p))
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  return out;
}

const OpTensor* OpModel::FindTensor(const ParamSpec* p) const {
  for (const auto* list : {&outs, &ins, &scratch})
    for (const auto& t : *list)
      if (t.param == p) return &t;
  return nullptr;
}

std::vector<std::string> OpModel::SizeArgs() const {
  std::vector<std::string> out;
  for (const auto& b : sizes)
    if (b.tensor_ident.empty()) out.push_back(b.var);
  return out;
}

Result<OpModel> BuildOpModel(const TaskSpec& task, const LaunchSpec& launch, const std::string& name) {
  if (!std::regex_match(name, KernelNameRe()))
    return Status::Usage("kernel name '" + name +
                         "' is not valid for kernel-builder: lowercase letters, digits and '-', starting with a "
                         "letter, not ending with '-' (e.g. 'rms-norm')");
  OpModel m;
  m.kernel_name = name;
  m.py_name = name;
  std::replace(m.py_name.begin(), m.py_name.end(), '-', '_');

  // The entry: "name<T>" (template over the element type) or an extern "C" name, perhaps with
  // {dtype}. Anything else (a namespace, another template argument) is not a launch we can write.
  static const std::regex tmpl(R"(^\s*([A-Za-z_]\w*)\s*<\s*T\s*>\s*$)");
  static const std::regex plain(R"(^\s*([A-Za-z_]\w*|[A-Za-z_]\w*\{dtype\}\w*)\s*$)");
  std::smatch mt;
  if (std::regex_match(launch.entry, mt, tmpl)) {
    m.entry_base = mt[1];
    m.entry_is_template = true;
  } else if (std::regex_match(launch.entry, mt, plain)) {
    m.entry_base = mt[1];
    if (m.entry_base.find("{dtype}") == std::string::npos && task.dtypes.size() > 1)
      return Status::Usage("entry '" + launch.entry + "' names one extern \"C\" kernel but the task has " +
                           std::to_string(task.dtypes.size()) + " dtypes: use 'name<T>' or 'name_{dtype}'");
  } else {
    return Status::Usage("entry '" + launch.entry + "' cannot be exported: use 'name<T>', 'name' or 'name_{dtype}'");
  }

  std::set<std::string> idents;
  auto add_ident = [&](const std::string& raw, std::string* out) -> Status {
    *out = SafeIdent(raw);
    if (!idents.insert(*out).second) return Status::Usage("parameter name '" + raw + "' collides with another one");
    return Status::Ok();
  };
  for (const auto& p : task.params) {
    if (p.kind != ParamKind::kPtr) continue;
    OpTensor t{&p, ""};
    DSX_RETURN_IF_ERROR(add_ident(p.name, &t.ident));
    (p.io == ParamIo::kOut ? m.outs : p.io == ParamIo::kIn ? m.ins : m.scratch).push_back(t);
  }
  if (m.outs.empty()) return Status::Usage("task '" + task.name + "' has no output parameter: nothing to export");

  // Sizes: bound by the first input dimension that is exactly the variable's name.
  const auto vars = SizeVariables(task);
  std::vector<std::string> used;
  auto use = [&](const std::string& text) {
    for (const auto& n : NamesIn(text))
      if (std::find(used.begin(), used.end(), n) == used.end()) used.push_back(n);
  };
  for (const auto* list : {&m.ins, &m.outs, &m.scratch})
    for (const auto& t : *list)
      for (const auto& d : t.param->shape) use(d);
  for (const auto& p : task.params)
    if (p.kind == ParamKind::kScalar) use(p.value);
  for (const auto& g : launch.grid) use(g);
  for (const auto& b : launch.block) use(b);
  use(launch.shared);
  for (const auto& n : used) {
    if (std::find(vars.begin(), vars.end(), n) == vars.end())
      return Status::Usage("task '" + task.name + "': '" + n + "' is not a size variable");
    SizeBinding b{n, "", 0};
    for (const auto& t : m.ins) {
      for (size_t d = 0; d < t.param->shape.size() && b.tensor_ident.empty(); ++d) {
        std::string bare;
        if (IsBareName(t.param->shape[d], &bare) && bare == n) {
          b.tensor_ident = t.ident;
          b.dim = d;
        }
      }
      if (!b.tensor_ident.empty()) break;
    }
    if (b.tensor_ident.empty() && !idents.insert(n).second)
      return Status::Usage("size '" + n + "' is not bound by an input and collides with a parameter name");
    m.sizes.push_back(b);
  }

  // Scalars: computed when their value names a size, else an argument defaulting to that value.
  for (const auto& p : task.params) {
    if (p.kind != ParamKind::kScalar || !NamesIn(p.value).empty()) continue;
    OpScalarArg a{&p, "", false, ""};
    DSX_RETURN_IF_ERROR(add_ident(p.name, &a.ident));
    auto dt = ParseDType(p.dtype);
    if (!dt) return Status::Usage("scalar '" + p.name + "' has dtype '" + p.dtype + "'");
    a.is_float = DTypeIsFloat(*dt);
    ExprEnv env;
    auto v = EvalExpr(p.value, env);
    if (!v.ok()) return v.status().Wrap("scalar '" + p.name + "'");
    if (a.is_float) a.default_text = FormatDouble(v->AsDouble());
    else if (v->is_int) a.default_text = std::to_string(v->i);
    else return Status::Usage("scalar '" + p.name + "' is an integer but its value '" + p.value + "' is not");
    m.scalar_args.push_back(a);
  }

  // Schema: outputs, inputs, unbound sizes, scalar arguments (types in torch's schema language).
  std::string args;
  auto add = [&](const std::string& s) { args += (args.empty() ? "" : ", ") + s; };
  for (const auto& t : m.outs) add("Tensor! " + t.ident);
  for (const auto& t : m.ins) add("Tensor " + t.ident);
  for (const auto& n : m.SizeArgs()) add("int " + n);
  for (const auto& a : m.scalar_args) add(std::string(a.is_float ? "float " : "int ") + a.ident + "=" + a.default_text);
  m.schema = m.py_name + "(" + args + ") -> ()";
  return m;
}

}  // namespace dsx::kernel::exp
