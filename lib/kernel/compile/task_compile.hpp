// Glue between a task and the compiler: which name expressions and options a task's kernel needs.
#pragma once

#include <string>

#include "kernel/compile/compiler.hpp"
#include "kernel/task.hpp"

namespace dsx::kernel {

// The launch a source file uses within `task`: the reference's when `path` is the task's reference
// file, else the optimized one with the file's `// dsx-launch:` line applied.
Result<LaunchSpec> LaunchForFile(const TaskSpec& task, const std::string& path, std::string_view source);

// Name expressions for every dtype of the task (entries with '<' only) plus the launch's options.
CompileOptions CompileOptionsFor(const TaskSpec& task, const LaunchSpec& launch, const std::string& arch);

}  // namespace dsx::kernel
