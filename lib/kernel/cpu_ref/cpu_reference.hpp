// CPU references: the float64 ground truth that `dsx kernel bench` spot-checks GPU outputs against.
//
// Each task names one in its task.toml (`cpu_reference = "softmax"`). A reference computes only the
// output elements it is asked for (sampled flat indices), so large presets stay cheap: a matmul
// element costs K multiply-adds, a softmax element one pass over its row (cached per call).
// Inputs arrive as the exact values the GPU saw (bf16 widened to double), so the only error left is
// the GPU kernel's own. The harness side is bench/runner.cpp (CpuCheck); the task side is
// docs/formats/kernel-task.md (cpu_reference).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::kernel {

// A dense tensor on the host, row-major, in float64. data.size() == product(shape).
struct HostTensor {
  std::vector<double> data;
  std::vector<int64_t> shape;
};

using SizeMap = std::map<std::string, int64_t>;  // size variables of the preset (N, ROWS, ...)

struct CpuRefArgs {
  const SizeMap& sizes;
  const std::map<std::string, double>& scalars;     // scalar params by name ("eps", "cols", ...)
  const std::map<std::string, HostTensor>& inputs;  // input tensors by param name (exact values)
};

// Writes the exact float64 value of output `out` at each flat index in `indices` into `values`
// (same length). Errors (missing or misshapen input, unknown output, index out of range) come back
// as Status::Failed naming the reference and the culprit; nothing is written past `values`.
using CpuRefFn = Status (*)(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
                            std::span<double> values);

// The registered reference called `name`, or nullptr if there is none.
const CpuRefFn* FindCpuReference(std::string_view name);

// Every registered name, sorted (for `dsx kernel show` and tests).
std::vector<std::string> CpuReferenceNames();

}  // namespace dsx::kernel
