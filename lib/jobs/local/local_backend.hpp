// LocalBackend: jobs on this machine. Submit starts a detached supervisor process
// (supervisor.hpp) for the job's registry folder, so the job survives the dsx process that
// submitted it and its terminal; Poll, Logs and Cancel work from any later dsx process through
// the files the supervisor keeps in that folder (local.json, output.log).
//
// Process identity: backend_id is the supervisor's pid. Before trusting it (Poll's "is it still
// there", Cancel's signal) the backend checks the start time recorded in local.json against
// /proc/<pid>/stat, so a pid reused after a reboot is never signalled. Linux only for that check
// (/proc); elsewhere a supervisor is always taken as gone once its job is not terminal.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "jobs/backend.hpp"

namespace dsx::jobs {

class LocalBackend final : public Backend {
 public:
  struct Options {
    // How to start a supervisor; the job folder is appended. The CLI: {"<dsx>", "jobs", "_supervise"}.
    std::vector<std::string> supervisor_argv;
    // SIGTERM -> SIGKILL grace for the job's process group. Passed to the supervisor as
    // DSX_JOBS_GRACE_MS in its environment.
    std::chrono::milliseconds grace{5000};
    // How long Submit waits for the supervisor to report the command running (or failed to start).
    std::chrono::milliseconds start_wait{10000};
    // The registry root: a job's folder is jobs_root/<record.id> (Poll, Logs and Cancel get only
    // the record). "" = DefaultRegistryRoot().
    std::string jobs_root;
  };

  explicit LocalBackend(Options options);

  std::string name() const override { return "local"; }
  Result<std::string> Render(const JobRecord& record) const override;
  Result<Submitted> Submit(const JobRecord& record, const std::string& jobdir) override;
  Result<JobStatus> Poll(const JobRecord& record) override;
  Status Logs(const JobRecord& record, const std::string& jobdir, bool follow, const LogSink& sink,
              const std::atomic<bool>* stop) override;
  Status Cancel(const JobRecord& record) override;

 private:
  std::string JobDir(const JobRecord& record) const;
  Options options_;
};

}  // namespace dsx::jobs
