// Registry of the CPU references: task.toml's `cpu_reference` name -> function.
#include "kernel/cpu_ref/cpu_reference.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"

namespace dsx::kernel {

namespace {

struct Entry {
  std::string_view name;
  CpuRefFn fn;
};

// One row per task; the name is what task.toml's `cpu_reference` says.
constexpr std::array<Entry, 9> kRegistry = {{
    {"attention", &cpu_ref::Attention},
    {"layernorm", &cpu_ref::LayerNorm},
    {"matmul", &cpu_ref::Matmul},
    {"reduce_sum", &cpu_ref::ReduceSum},
    {"rmsnorm", &cpu_ref::RmsNorm},
    {"silu_mul", &cpu_ref::SiluMul},
    {"softmax", &cpu_ref::Softmax},
    {"transpose", &cpu_ref::Transpose},
    {"vector_add", &cpu_ref::VectorAdd},
}};

}  // namespace

const CpuRefFn* FindCpuReference(std::string_view name) {
  for (const Entry& e : kRegistry) {
    if (e.name == name) return &e.fn;
  }
  return nullptr;
}

std::vector<std::string> CpuReferenceNames() {
  std::vector<std::string> names;
  names.reserve(kRegistry.size());
  for (const Entry& e : kRegistry) names.emplace_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace dsx::kernel
