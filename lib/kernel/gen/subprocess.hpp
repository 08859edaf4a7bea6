// Running a child program (our own dsx binary, for `dsx kernel bench`) with its output captured.
// No shell: argv is passed as is, so file names with spaces or quotes are safe.
#pragma once

#include <string>
#include <vector>

#include "core/status.hpp"

namespace dsx::kernel::gen {

struct ProcessResult {
  int exit_code = -1;  // the child's exit status; 128 + N when killed by signal N
  bool timed_out = false;
  std::string out;  // stdout (capped at 16 MiB)
  std::string err;  // stderr (capped at 1 MiB)
};

// Runs argv[0] (a path; not searched in PATH) with `timeout_s` (0: none); on timeout the child's
// process group gets SIGTERM, then SIGKILL after 2 s. Unavailable when it cannot be started.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, double timeout_s);

// Absolute path of the running executable (/proc/self/exe).
std::string SelfExecutable();

}  // namespace dsx::kernel::gen
