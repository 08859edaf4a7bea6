// Checks an exported project against kernel-builder's documented build.toml schema (edition 5,
// huggingface/kernels kernels-data/src/config/v5.rs: unknown keys are errors there too) and
// the torch-ext layout `kernels.get_kernel` loads: every file build.toml names exists, the
// Python package is where the name says, and every op the wrapper calls is registered.
// Offline: needs neither torch nor nix. `dsx kernel export` runs it on what it wrote.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace dsx::kernel::exp {

struct LayoutReport {
  std::string name;                     // [general] name
  std::vector<std::string> files;       // every file build.toml names (relative)
  std::vector<std::string> ops_def;     // ops.def'd in torch-ext/torch_binding.cpp
  std::vector<std::string> ops_called;  // ops.X( in torch-ext/<py>/__init__.py
};

// OK with the report, or Failed listing every problem found ("build.toml: [general] edition must
// be 5; file 'x_cuda/x.cu' named in [kernel.x].src does not exist").
Result<LayoutReport> ValidateProject(const std::filesystem::path& dir);

}  // namespace dsx::kernel::exp
