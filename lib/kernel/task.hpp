// Kernel tasks: the task.toml model, its parser, and the resolution of one (dtype, preset) variant
// into concrete shapes, scalars and launch dimensions. Format: docs/formats/kernel-task.md.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "kernel/dtype.hpp"

namespace dsx::kernel {

enum class ParamKind { kPtr, kScalar };
enum class ParamIo { kIn, kOut, kScratch, kNone };  // kNone: scalars
enum class InitDist { kNormal = 0, kUniform = 1, kPositive = 2 };

struct ParamSpec {
  std::string name;
  ParamKind kind = ParamKind::kPtr;
  std::string dtype;               // "T" or a dtype name
  std::vector<std::string> shape;  // ptr: expressions
  ParamIo io = ParamIo::kNone;
  InitDist init = InitDist::kNormal;
  std::string value;  // scalar: expression
};

struct LaunchSpec {
  std::string file;                // relative to the task folder (or absolute for candidates)
  std::string entry;               // "rmsnorm<T>", "add_{dtype}" or an extern "C" name
  std::vector<std::string> grid;   // 1..3 expressions
  std::vector<std::string> block;  // 1..3 expressions
  std::string shared = "0";
  std::vector<std::string> options;  // extra NVRTC options
};

struct TaskSpec {
  std::string name;
  std::string description;
  std::filesystem::path dir;
  std::vector<DType> dtypes;
  std::string cpu_reference;                                    // "" when none
  std::vector<std::string> presets;                             // in file order
  std::map<std::string, std::map<std::string, int64_t>> sizes;  // preset -> variables
  // [allowed]: size variable -> the only values it may take in any preset (a kernel specialised
  // for a few head dims, a 0/1 flag). Checked at load time so a bad preset is a named error.
  std::map<std::string, std::vector<int64_t>> allowed;
  std::vector<ParamSpec> params;
  std::string cost_bytes;
  std::string cost_flops = "0";
  std::map<DType, double> tolerance;
  LaunchSpec reference;
  LaunchSpec optimized;
};

Result<TaskSpec> ParseTask(std::string_view toml_text, const std::filesystem::path& dir);
Result<TaskSpec> LoadTask(const std::filesystem::path& dir);  // reads dir/task.toml

// Where tasks live: $DSX_KERNELS_DIR, else ./kernels, else <exe>/../kernels, else <exe>/../../kernels.
Result<std::filesystem::path> FindTasksRoot();
// A task name (looked up in the root) or a path to a folder holding task.toml.
Result<std::filesystem::path> ResolveTaskDir(const std::string& name_or_path);
std::vector<std::string> ListTaskNames(const std::filesystem::path& root);

// One parameter of a concrete variant.
struct ResolvedParam {
  const ParamSpec* spec = nullptr;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  int64_t numel = 0;  // ptr: product of shape
  double scalar = 0;  // scalar: the value
};

struct TaskInstance {
  DType dtype = DType::kF32;
  std::string preset;
  std::map<std::string, int64_t> sizes;
  std::vector<ResolvedParam> params;
  double bytes = 0;  // cost.bytes
  double flops = 0;  // cost.flops
  double tolerance = 0;
};

Result<TaskInstance> Instantiate(const TaskSpec& task, DType dtype, const std::string& preset);

struct ResolvedLaunch {
  std::string entry;  // name expression with T / {dtype} substituted
  std::array<unsigned, 3> grid{1, 1, 1};
  std::array<unsigned, 3> block{1, 1, 1};
  unsigned shared = 0;
  std::vector<std::string> options;
};

Result<ResolvedLaunch> ResolveLaunch(const LaunchSpec& launch, const TaskInstance& inst);

// "rmsnorm<T>" -> "rmsnorm<float>", "add_{dtype}" -> "add_f32".
std::string SubstituteEntry(const std::string& entry, DType dtype);

// Applies a `// dsx-launch: entry = "...", grid = [...], ...` line found in `source` on top of
// `base`. No such line: `base` unchanged. A malformed line is a usage error naming the line.
Result<LaunchSpec> ApplyLaunchLine(const LaunchSpec& base, std::string_view source);

nlohmann::json TaskToJson(const TaskSpec& task);

}  // namespace dsx::kernel
