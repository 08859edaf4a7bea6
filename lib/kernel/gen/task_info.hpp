// What the generation loop needs to know about a task (kernels/<task>/): the text a model reads
// (task.toml, reference.cu, the C signature) and the entry point a candidate must define.
// Read straight from task.toml with toml++; the harness (`dsx kernel bench`) remains the judge
// of everything else, so nothing here decides correctness.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace dsx::kernel::gen {

struct TaskInfo {
  std::string arg;            // TASK as the user wrote it (passed on to `dsx kernel bench`)
  std::filesystem::path dir;  // the task folder
  std::string name;
  std::string description;
  std::vector<std::string> dtypes;
  std::string toml_text;         // task.toml verbatim
  std::string reference_source;  // reference.cu verbatim
  std::string entry;             // [impl.optimized].entry, e.g. "rmsnorm<T>"
  std::string entry_base;        // "rmsnorm": the function name a candidate must define
  std::string signature;         // "(const T* x, const T* w, T* y, int cols, float eps)"
  std::string launch;            // "grid = [...], block = [...], shared = \"0\"" of [impl.optimized]
  std::string sizes;             // "small: ROWS=64 COLS=1024; medium: ...; large: ..."
  std::string tolerance;         // "f32: 1e-05, bf16: 0.01"
};

// TASK is a folder holding task.toml, or a name looked up as <root>/<name> for each root in
// `roots` (the caller passes ./kernels, $DSX_KERNELS_DIR...). NotFound names the places tried.
Result<TaskInfo> LoadTaskInfo(const std::string& task, const std::vector<std::filesystem::path>& roots);

// "rmsnorm<T>" -> "rmsnorm"; "add_{dtype}" -> "add_" (prefix before any placeholder).
std::string EntryBaseName(const std::string& entry);

}  // namespace dsx::kernel::gen
