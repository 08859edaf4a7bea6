#include "kernel/gen/task_info.hpp"

#include <sstream>

#include <toml++/toml.h>

#include "core/fs.hpp"
#include "kernel/dtype.hpp"

namespace dsx::kernel::gen {
namespace stdfs = std::filesystem;

std::string EntryBaseName(const std::string& entry) {
  size_t end = entry.find_first_of("<{( ");
  return entry.substr(0, end);
}

namespace {

std::string ParamType(const std::string& dtype) {
  if (dtype == "T") return "T";
  auto t = ParseDType(dtype);
  return t ? DTypeCppName(*t) : dtype;
}

std::string Expr(const toml::node* n) {
  if (!n) return "";
  if (auto s = n->as_string()) return s->get();
  if (auto i = n->as_integer()) return std::to_string(i->get());
  if (auto f = n->as_floating_point()) {
    std::ostringstream o;
    o << f->get();
    return o.str();
  }
  if (auto a = n->as_array()) {
    std::string out = "[";
    for (size_t k = 0; k < a->size(); ++k) out += (k ? ", " : "") + Expr(a->get(k));
    return out + "]";
  }
  return "";
}

}  // namespace

Result<TaskInfo> LoadTaskInfo(const std::string& task, const std::vector<stdfs::path>& roots) {
  std::error_code ec;
  stdfs::path dir;
  std::string tried;
  if (stdfs::exists(stdfs::path(task) / "task.toml", ec)) {
    dir = task;
  } else {
    for (const auto& r : roots) {
      tried += (tried.empty() ? "" : ", ") + (r / task).string();
      if (stdfs::exists(r / task / "task.toml", ec)) {
        dir = r / task;
        break;
      }
    }
  }
  if (dir.empty()) return Status::NotFound("no task '" + task + "': no task.toml in " + (tried.empty() ? task : tried));

  TaskInfo info;
  info.arg = task;
  info.dir = dir;
  auto text = fs::ReadFile(dir / "task.toml");
  if (!text.ok()) return text.status();
  info.toml_text = *text;
  toml::table t;
  try {
    t = toml::parse(info.toml_text, (dir / "task.toml").string());
  } catch (const toml::parse_error& e) {
    std::ostringstream o;
    o << (dir / "task.toml").string() << ":" << e.source().begin.line << ": " << e.description();
    return Status::Failed("cannot parse task: " + o.str());
  }
  info.name = t["name"].value_or(dir.filename().string());
  info.description = t["description"].value_or(std::string());
  if (auto a = t["dtypes"].as_array())
    for (const auto& d : *a)
      if (auto s = d.as_string()) info.dtypes.push_back(s->get());

  const toml::table* impl = t["impl"]["optimized"].as_table();
  if (!impl) impl = t["impl"]["reference"].as_table();
  if (!impl) return Status::Failed("task '" + info.name + "' has no [impl.optimized] or [impl.reference]");
  info.entry = (*impl)["entry"].value_or(std::string());
  info.entry_base = EntryBaseName(info.entry);
  info.launch = "grid = " + Expr((*impl)["grid"].node()) + ", block = " + Expr((*impl)["block"].node()) +
                ", shared = \"" + (*impl)["shared"].value_or(std::string("0")) + "\"";

  std::string sig = "(";
  if (auto params = t["params"].as_array()) {
    bool first = true;
    for (const auto& p : *params) {
      const auto* pt = p.as_table();
      if (!pt) continue;
      std::string name = (*pt)["name"].value_or(std::string("?"));
      std::string kind = (*pt)["kind"].value_or(std::string("ptr"));
      std::string dtype = (*pt)["dtype"].value_or(std::string("T"));
      std::string io = (*pt)["io"].value_or(std::string("in"));
      std::string decl =
          kind == "ptr" ? (io == "in" ? "const " : "") + ParamType(dtype) + "* " + name : ParamType(dtype) + " " + name;
      sig += (first ? "" : ", ") + decl;
      first = false;
    }
  }
  info.signature = sig + ")";

  if (auto sizes = t["sizes"].as_table()) {
    for (const char* preset : {"small", "medium", "large"}) {
      const auto* st = (*sizes)[preset].as_table();
      if (!st) continue;
      if (!info.sizes.empty()) info.sizes += "; ";
      info.sizes += std::string(preset) + ":";
      for (const auto& [k, v] : *st) info.sizes += " " + std::string(k.str()) + "=" + Expr(&v);
    }
  }
  if (auto tol = t["tolerance"].as_table())
    for (const auto& [k, v] : *tol)
      info.tolerance += (info.tolerance.empty() ? "" : ", ") + std::string(k.str()) + ": " + Expr(&v);

  std::string ref_file = t["impl"]["reference"]["file"].value_or(std::string("reference.cu"));
  auto ref = fs::ReadFile(dir / ref_file);
  if (ref.ok()) info.reference_source = *ref;
  return info;
}

}  // namespace dsx::kernel::gen
