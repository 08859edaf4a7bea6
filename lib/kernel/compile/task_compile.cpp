#include "kernel/compile/task_compile.hpp"

#include <algorithm>
#include <filesystem>

namespace dsx::kernel {

Result<LaunchSpec> LaunchForFile(const TaskSpec& task, const std::string& path, std::string_view source) {
  std::error_code ec;
  auto canon = [&](const std::filesystem::path& p) { return std::filesystem::weakly_canonical(p, ec); };
  if (canon(path) == canon(task.dir / task.reference.file)) return task.reference;
  auto l = ApplyLaunchLine(task.optimized, source);
  if (!l.ok()) return l.status().Wrap("'" + path + "'");
  return l;
}

CompileOptions CompileOptionsFor(const TaskSpec& task, const LaunchSpec& launch, const std::string& arch) {
  CompileOptions o;
  o.arch = arch;
  o.extra = launch.options;
  for (DType d : task.dtypes) {
    std::string e = SubstituteEntry(launch.entry, d);
    if (e.find('<') != std::string::npos &&
        std::find(o.name_exprs.begin(), o.name_exprs.end(), e) == o.name_exprs.end())
      o.name_exprs.push_back(e);
  }
  return o;
}

}  // namespace dsx::kernel
