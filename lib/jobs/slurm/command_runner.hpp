// Running one Slurm client command (sbatch, squeue, scontrol, scancel) and capturing what it said.
// The Slurm backend only ever talks to Slurm through a CommandRunner, so unit tests replace it with
// a fake that checks the exact argv and answers with recorded squeue/scontrol output.
//
// No shell: argv goes to posix_spawn as is, so a job id, a path with spaces or a partition name
// can never be interpreted as shell syntax. The child inherits this process's environment; that is
// how sbatch sees the values of a request's secret_env (never in argv, never in a file we write).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace dsx::jobs {

struct CommandResult {
  int exit_code = -1;  // the program's exit status; 128 + N when killed by signal N
  std::string out;     // stdout (capped at 16 MiB)
  std::string err;     // stderr (capped at 1 MiB)
};

// argv[0] is a program name (searched in PATH) or a path. Returns kNotFound when the program does
// not exist or cannot be executed (the backend turns that into "sbatch not found: ..."), and
// kUnavailable when it could not be started or did not finish in time. A non-zero exit is not an
// error here: the caller reads exit_code and err.
using CommandRunner =
    std::function<Result<CommandResult>(const std::vector<std::string>& argv, const std::string& stdin_data)>;

// The real runner: posix_spawnp with pipes for stdout/stderr and `stdin_data` on stdin (empty:
// /dev/null), in this process's environment less the variables named in `unset_env`. A command
// still running after `timeout` is killed (SIGKILL) and reported as kUnavailable: Slurm clients
// retry an unreachable controller for a long time on their own, and a poll loop must not hang on
// one of them.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(120),
                                 const std::vector<std::string>& unset_env = {});

}  // namespace dsx::jobs
