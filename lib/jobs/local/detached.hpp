// SpawnDetached: starts a process that is no child of ours (fork, setsid, fork again), so it
// survives the process that started it, that process's terminal and its hangup, and nobody
// needs to reap it. Used for the local backend's supervisors. Linux/glibc (close_range,
// execvpe, pipe2).
#pragma once

#include <string>
#include <vector>

#include "core/status.hpp"

namespace dsx::jobs {

// Runs argv (PATH lookup in `env`) with environment `env` (KEY=VALUE), working directory `cwd`,
// stdin and stdout on /dev/null, stderr appended to `log_path`, no other inherited descriptor,
// every signal at its default and unblocked. Returns its pid once it has exec'd; kNotFound when
// argv[0] cannot be run (with the reason), kFailed when it could not be started at all.
Result<long long> SpawnDetached(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                const std::string& cwd, const std::string& log_path);

}  // namespace dsx::jobs
