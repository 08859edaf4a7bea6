// The text of every file of an exported kernel-builder project (docs/kernel-export.md has the
// layout). Pure functions from the task, the launch, the op model and the measured results to
// file contents; writing them is export.cpp's job.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "kernel/export/op_model.hpp"
#include "kernel/export/results.hpp"
#include "kernel/task.hpp"

namespace dsx::kernel::exp {

struct RenderInput {
  const TaskSpec* task = nullptr;
  LaunchSpec launch;             // the impl's launch (task's [impl.optimized] + its dsx-launch line)
  OpModel model;
  std::string impl_source;       // the verified .cu, copied verbatim
  std::string impl_file;         // as given (for the README)
  std::string impl_sha256;       // of impl_source
  // Local headers the source includes with "..." (relative path -> content), copied beside it.
  std::map<std::string, std::string> local_includes;
  std::string dsx_version;       // "dsx 0.1.0"
  std::string license = "NOASSERTION";
  std::string repo_id;                        // "" = no [general.hub]
  std::vector<std::string> cuda_capabilities;  // "8.0", "9.0"
  std::vector<std::string> cuda_flags;         // nvcc flags from the task's NVRTC options
  std::optional<BenchResults> results;        // none: the README says nothing was measured
  std::string results_file;
};

// Relative path -> content. Errors: an expression that cannot be translated (Usage).
Result<std::map<std::string, std::string>> RenderProject(const RenderInput& in);

// Per-file renderers (render_cuda.cpp, render_torch.cpp, render_meta.cpp).
Result<std::string> RenderLaunchHeader(const RenderInput& in);  // <py>_cuda/launch.h
std::string RenderLaunchCu(const RenderInput& in);              // <py>_cuda/launch.cu
std::string RenderOpCu(const RenderInput& in);                  // <py>_cuda/<py>.cu
std::string RenderBindingH(const RenderInput& in);              // torch-ext/torch_binding.h
std::string RenderBindingCpp(const RenderInput& in);            // torch-ext/torch_binding.cpp
Result<std::string> RenderPyInit(const RenderInput& in);        // torch-ext/<py>/__init__.py
std::string RenderBuildToml(const RenderInput& in, const std::vector<std::string>& kernel_src);
std::string RenderFlake(const RenderInput& in);
std::string RenderReadme(const RenderInput& in);
// dsx-export.json; `files`: every file of the project (relative paths), listed under "files".
std::string RenderManifest(const RenderInput& in, const std::vector<std::string>& files);

// The C++ signature of the op function ("void rmsnorm(torch::Tensor& y, ...)") without ';'.
std::string OpCppSignature(const OpModel& m);
// NVRTC options of a task mapped to nvcc flags; an option with no known equivalent is an error.
Result<std::vector<std::string>> NvccFlagsFor(const std::vector<std::string>& nvrtc_options);

// Names used across the files.
std::string KernelDir(const OpModel& m);  // "rmsnorm_cuda"
const char* TorchDTypeCpp(DType t);       // "at::kBFloat16"
const char* TorchDTypePy(DType t);        // "torch.bfloat16"

}  // namespace dsx::kernel::exp
