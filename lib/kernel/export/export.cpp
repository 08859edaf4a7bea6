#include "kernel/export/export.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "core/hash.hpp"
#include "core/json_limits.hpp"
#include "kernel/compile/task_compile.hpp"
#include "kernel/export/render.hpp"
#include "kernel/export/validate.hpp"
#include "kernel/scan.hpp"
#include "kernel/task.hpp"

namespace dsx::kernel::exp {

namespace {

namespace stdfs = std::filesystem;

constexpr size_t kMaxSource = 16 << 20;   // a kernel source, as `dsx kernel compile` bounds it
constexpr size_t kMaxResults = 64 << 20;  // bench JSON: a few KB per row

// The entry must be a __global__ function of the file: exporting a launch of a kernel the file
// does not define would only fail later, inside nvcc on someone else's machine.
Status CheckEntry(const std::string& source, const OpModel& m, const TaskSpec& task, const std::string& file) {
  const std::string code = StripCommentsAndStrings(source);
  std::vector<std::string> names;
  if (m.entry_base.find("{dtype}") != std::string::npos)
    for (DType t : task.dtypes) names.push_back(SubstituteEntry(m.entry_base, t));
  else names.push_back(m.entry_base);
  for (const auto& n : names) {
    const std::regex re("__global__[^;{}]*\\b" + n + "\\s*\\(");
    if (!std::regex_search(code, re))
      return Status::Usage("entry '" + n + "' is not a __global__ function in '" + file + "'");
  }
  return Status::Ok();
}

// Headers the kernel includes with "..." (NVRTC finds them beside the source), followed
// recursively: they travel with the kernel, in the same relative place. Only paths inside the
// source's folder; <...> includes are the toolkit's.
Status CollectIncludes(const stdfs::path& base, const std::string& source, const std::string& from,
                       std::map<std::string, std::string>* out, int depth) {
  static const std::regex inc(R"re(^[ \t]*#[ \t]*include[ \t]*"([^"]+)")re");
  if (depth > 16) return Status::Usage("includes nested deeper than 16 levels in '" + from + "'");
  size_t pos = 0;
  while (pos < source.size()) {  // line by line: std::regex has no portable multiline '^'
    size_t eol = source.find('\n', pos);
    if (eol == std::string::npos) eol = source.size();
    const std::string line = source.substr(pos, eol - pos);
    pos = eol + 1;
    std::smatch mt;
    if (!std::regex_search(line, mt, inc)) continue;
    // Relative to the including file's folder, as the preprocessor resolves it.
    const std::string rel = (stdfs::path(from).parent_path() / std::string(mt[1])).lexically_normal().string();
    if (out->count(rel)) continue;
    if (rel.empty() || rel[0] == '/' || rel.find("..") != std::string::npos)
      return Status::Usage("'" + from + "' includes \"" + std::string(mt[1]) + "\": only headers in the kernel's folder can be exported");
    if (out->size() >= 64) return Status::Usage("'" + from + "' includes more than 64 local headers");
    auto text = fs::ReadFile(base / rel, kMaxSource);
    if (!text.ok()) return text.status().Wrap("'" + from + "' includes \"" + rel + "\"");
    (*out)[rel] = *text;
    DSX_RETURN_IF_ERROR(CollectIncludes(base, *text, rel, out, depth + 1));
  }
  return Status::Ok();
}

Status CheckCapabilities(const std::vector<std::string>& caps) {
  static const std::regex re(R"(^\d{1,2}\.\d{1,2}a?$)");
  if (caps.size() > 32) return Status::Usage("--cuda-capabilities: at most 32 entries");
  for (const auto& c : caps)
    if (!std::regex_match(c, re))
      return Status::Usage("--cuda-capabilities: '" + c + "' is not a compute capability like 8.0 or 9.0a");
  return Status::Ok();
}

Result<BenchResults> LoadResults(const ExportOptions& o, const TaskSpec& task, const std::string& sha) {
  auto text = fs::ReadFile(o.results, kMaxResults);
  if (!text.ok()) return text.status().Wrap("--results");
  auto r = ParseBenchResults(*text, o.results);
  if (!r.ok()) return r.status();
  if (r->task != task.name)
    return Status::Conflict("results file '" + o.results + "' is for task '" + r->task + "', not '" + task.name + "'");
  if (r->status != "ok")
    return Status::Conflict("results file '" + o.results + "' has status '" + r->status +
                            "': only a kernel that verified is exported");
  if (r->impl_sha256 != sha)
    return Status::Conflict("results file '" + o.results + "' measured another kernel source (sha256 " +
                            r->impl_sha256.substr(0, 12) + "..., this file is " + sha.substr(0, 12) +
                            "...); rerun dsx kernel bench on this file");
  for (const auto& row : r->rows) {
    auto dt = ParseDType(row.dtype);
    if (!dt || std::find(task.dtypes.begin(), task.dtypes.end(), *dt) == task.dtypes.end())
      return Status::Usage("results file '" + o.results + "': dtype '" + row.dtype + "' is not one of the task's");
  }
  return r;
}

Status CheckOutDir(const stdfs::path& out, bool force) {
  std::error_code ec;
  if (!stdfs::exists(out, ec)) return Status::Ok();
  if (!stdfs::is_directory(out, ec)) return Status::Conflict("--out '" + out.string() + "' exists and is not a folder");
  if (!stdfs::is_empty(out, ec) && !force)
    return Status::Conflict("--out '" + out.string() + "' exists and is not empty (--force writes into it)");
  return Status::Ok();
}

// --force into a folder a dsx export wrote: the files its manifest lists that this export does
// not write (another task's kernel, an include no longer used) would otherwise stay and be
// built with the new project. Only listed files are removed: a user's own files stay. A
// manifest that does not read, or a path that leaves the folder, removes nothing.
void RemoveStaleExportFiles(const stdfs::path& out, const std::map<std::string, std::string>& now) {
  auto text = fs::ReadFile(out / "dsx-export.json", 4u << 20);
  if (!text.ok()) return;
  const nlohmann::json old = ParseJsonOrDiscarded(*text);  // depth-limited: the folder is anyone's
  if (!old.is_object() || !old.contains("files") || !old["files"].is_array()) return;
  for (const auto& f : old["files"]) {
    if (!f.is_string()) continue;
    const stdfs::path rel = stdfs::path(f.get<std::string>()).lexically_normal();
    if (rel.empty() || rel.is_absolute() || *rel.begin() == ".." || now.count(rel.generic_string())) continue;
    std::error_code ec;
    const stdfs::path p = out / rel;
    if (!stdfs::is_regular_file(stdfs::symlink_status(p, ec))) continue;
    stdfs::remove(p, ec);
    // Folders it leaves empty go too (up to, not including, `out`).
    for (stdfs::path d = p.parent_path(); d != out && stdfs::is_empty(d, ec) && !ec; d = d.parent_path())
      stdfs::remove(d, ec);
  }
}

}  // namespace

Result<ExportReport> ExportKernel(const ExportOptions& o) {
  if (o.out.empty()) return Status::Usage("--out DIR is required");
  auto dir = ResolveTaskDir(o.task);
  if (!dir.ok()) return dir.status();
  auto task = LoadTask(*dir);
  if (!task.ok()) return task.status();
  DSX_RETURN_IF_ERROR(CheckCapabilities(o.cuda_capabilities));
  if (!o.repo_id.empty() && !std::regex_match(o.repo_id, std::regex(R"(^[A-Za-z0-9][-\w.]{0,95}/[A-Za-z0-9][-\w.]{0,95}$)")))
    return Status::Usage("--repo-id '" + o.repo_id + "' is not like 'org/name'");
  if (o.license.empty() || o.license.size() > 100 ||
      !std::regex_match(o.license, std::regex(R"(^[A-Za-z0-9][-A-Za-z0-9.+ ()]*$)")))
    return Status::Usage("--license must be an SPDX identifier like 'apache-2.0' or 'MIT'");

  const std::string impl = o.impl.empty() ? (task->dir / task->optimized.file).string() : o.impl;
  auto src = fs::ReadFile(impl, kMaxSource);
  if (!src.ok()) return src.status().Wrap("--impl");
  const std::string sha = hash::Sha256Hex(*src);
  // As bench scans it (the headers it includes are exported with it).
  auto findings = ScanSourceAndHeaders(*src, std::filesystem::path(impl).parent_path());
  for (const auto& f : findings)
    if (f.severity == "reject")
      return Status::Conflict("'" + impl + "' is rejected by dsx's static scan (line " + std::to_string(f.line) +
                              ": " + f.rule + ": " + f.message + "); dsx would not verify it");
  auto launch = LaunchForFile(*task, impl, *src);
  if (!launch.ok()) return launch.status();

  std::string name = o.name;
  if (name.empty()) {
    name = task->name;
    std::replace(name.begin(), name.end(), '_', '-');
  }
  auto model = BuildOpModel(*task, *launch, name);
  if (!model.ok()) return model.status();
  DSX_RETURN_IF_ERROR(CheckEntry(*src, *model, *task, impl));
  std::map<std::string, std::string> includes;
  DSX_RETURN_IF_ERROR(CollectIncludes(stdfs::path(impl).parent_path(), *src, stdfs::path(impl).filename().string(),
                                      &includes, 0));
  auto flags = NvccFlagsFor(launch->options);
  if (!flags.ok()) return flags.status();

  RenderInput in;
  in.task = &*task;
  in.launch = *launch;
  in.model = *model;
  in.impl_source = *src;
  in.impl_file = impl;
  in.impl_sha256 = sha;
  in.local_includes = std::move(includes);
  in.dsx_version = o.dsx_version;
  in.license = o.license;
  in.repo_id = o.repo_id;
  in.cuda_capabilities = o.cuda_capabilities;
  in.cuda_flags = *flags;
  if (!o.results.empty()) {
    auto r = LoadResults(o, *task, sha);
    if (!r.ok()) return r.status();
    in.results = std::move(*r);
    in.results_file = o.results;
  }
  auto files = RenderProject(in);
  if (!files.ok()) return files.status();

  const stdfs::path out(o.out);
  DSX_RETURN_IF_ERROR(CheckOutDir(out, o.force));
  if (o.force) RemoveStaleExportFiles(out, *files);
  ExportReport rep;
  std::error_code ec;
  rep.out_dir = stdfs::absolute(out, ec).string();
  for (const auto& [rel, content] : *files) {
    const stdfs::path p = out / rel;
    DSX_RETURN_IF_ERROR(fs::EnsureDir(p.parent_path()));
    DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(p, content, false));
    rep.files.push_back({rel, content.size()});
  }
  // What we wrote must pass the same layout check the tests apply: a failure here is a dsx bug.
  auto layout = ValidateProject(out);
  if (!layout.ok()) return Status::Failed("the exported project does not pass its own check: " + layout.status().message());

  rep.task = task->name;
  rep.kernel_name = model->kernel_name;
  rep.op = model->py_name;
  rep.schema = model->schema;
  rep.impl = impl;
  rep.impl_sha256 = sha;
  for (DType t : task->dtypes) rep.dtypes.push_back(DTypeName(t));
  rep.measured = in.results.has_value();
  if (in.results) rep.device = in.results->device_name;
  return rep;
}

}  // namespace dsx::kernel::exp
