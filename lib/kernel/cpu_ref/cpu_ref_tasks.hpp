// The CPU references, one per task (one .cpp each in this folder); registered in cpu_reference.cpp.
// All have the CpuRefFn signature and document their inputs, scalars and output in their file.
#pragma once

#include <span>
#include <string>

#include "kernel/cpu_ref/cpu_reference.hpp"

namespace dsx::kernel::cpu_ref {

#define DSX_CPU_REF(fn) \
  Status fn(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices, std::span<double> values)

DSX_CPU_REF(VectorAdd);
DSX_CPU_REF(SiluMul);
DSX_CPU_REF(ReduceSum);
DSX_CPU_REF(Softmax);
DSX_CPU_REF(RmsNorm);
DSX_CPU_REF(LayerNorm);
DSX_CPU_REF(Transpose);
DSX_CPU_REF(Matmul);
DSX_CPU_REF(Attention);

#undef DSX_CPU_REF

}  // namespace dsx::kernel::cpu_ref
