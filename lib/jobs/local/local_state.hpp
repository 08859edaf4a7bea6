// local.json: what the supervisor (supervisor.hpp) tells every later dsx process about its job,
// and the names of the other files the local backend keeps in the job's folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "jobs/job.hpp"

namespace dsx::jobs {

inline constexpr char kLocalStateFile[] = "local.json";     // LocalState, replaced atomically
inline constexpr char kOutputFile[] = "output.log";         // the command's stdout + stderr
inline constexpr char kSupervisorLog[] = "supervisor.log";  // the supervisor's own stderr
inline constexpr char kGraceEnv[] = "DSX_JOBS_GRACE_MS";    // LocalBackend -> supervisor

struct LocalState {
  long long supervisor_pid = 0;
  long long supervisor_start = -1;  // /proc/<pid>/stat field 22; -1 = unknown (not Linux)
  long long pgid = 0;               // 0 = not started
  JobState state = JobState::kQueued;
  std::optional<int> exit_code;  // the leader's exit code, when it exited
  std::optional<int> signal;     // the signal that killed the leader
  std::int64_t started_ms = 0;
  std::int64_t finished_ms = 0;
  std::string error;   // why the command could not start ("" = it started)
  int error_code = 0;  // that error's dsx exit code (core/status.hpp Code)
};

nlohmann::json ToJson(const LocalState& s);
// kFailed naming the bad field for a file that is not a LocalState.
Result<LocalState> LocalStateFromJson(const nlohmann::json& j);
// Reads jobdir/local.json: kNotFound when the supervisor has not written it yet.
Result<LocalState> ReadLocalState(const std::string& jobdir);

}  // namespace dsx::jobs
