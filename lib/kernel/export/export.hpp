// `dsx kernel export`: a kernel dsx verified, written as a Hugging Face kernel-builder project
// (build.toml, the CUDA source, the torch op and its registration, the Python wrapper, a README
// with what dsx measured). Layout and publishing: docs/kernel-export.md.
#pragma once

#include <string>
#include <vector>

#include "core/status.hpp"

namespace dsx::kernel::exp {

struct ExportOptions {
  std::string task;          // name or folder
  std::string impl;          // "" = the task's optimized kernel
  std::string out;           // project folder to write
  std::string results;       // "" = not measured; else `dsx kernel bench --json` output
  std::string name;          // kernel-builder name; "" = the task's name with '_' -> '-'
  std::string license = "NOASSERTION";
  std::string repo_id;       // "org/name" for [general.hub]; "" = none
  std::vector<std::string> cuda_capabilities = {"8.0", "9.0"};
  bool force = false;        // write into a non-empty folder
  std::string dsx_version;   // "dsx 0.1.0"
};

struct ExportedFile {
  std::string path;  // relative to the project folder
  size_t bytes = 0;
};

struct ExportReport {
  std::string out_dir;  // absolute
  std::string task, kernel_name, op, schema, impl, impl_sha256;
  std::vector<std::string> dtypes;
  bool measured = false;
  std::string device;  // when measured
  std::vector<ExportedFile> files;
};

// Exit codes: Usage (2) for bad flags, a task or expression the export cannot translate, or a
// malformed results file; NotFound (3) for a missing task or impl; Conflict (4) for a non-empty
// out folder without force, results of another task or file, a kernel that did not verify, or
// one the static scan rejects.
Result<ExportReport> ExportKernel(const ExportOptions& o);

}  // namespace dsx::kernel::exp
