// SlurmBackend: jobs on a Slurm cluster through its client commands, with no accounting database
// (no sacct): submit with `sbatch --parsable` a generated batch script (slurm_script.hpp), state
// from `squeue` while the controller lists the job and from `scontrol show job` after it ended
// (until MinJobAge purges it: then the job is `lost`), logs by reading <jobdir>/output.log (the
// job's --output and --error), cancel with `scancel`.
//
// The job folder must be visible to the compute node under the same path (a shared home or
// project filesystem, as on any cluster where sbatch --output works): the job writes its log
// there and runs there unless the request names a workdir.
//
// Every command goes through Options::run (command_runner.hpp), so unit tests check the exact argv
// and feed recorded output; the e2e suite (tests/slurm) runs the real clients against a real
// single-node cluster.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "jobs/backend.hpp"
#include "jobs/slurm/command_runner.hpp"
#include "jobs/slurm/slurm_script.hpp"

namespace dsx::jobs {

class SlurmBackend final : public Backend {
 public:
  struct Options {
    std::string partition;  // default -p (jobs.toml [slurm] partition); the request's own wins
    std::string account;    // default -A
    std::string gres_type;  // default gpu type for --gres when the request names none
    // Where sbatch, squeue, scontrol and scancel are ("" = PATH).
    std::string bin_dir;
    // The registry root: Render shows the job folder as <jobs_root>/<id> ("" = "{jobdir}"; Submit
    // always gets the real folder).
    std::string jobs_root;
    // How commands run ("" function = RunCommand, the real one).
    CommandRunner run;
    // Logs(follow): how often the log file is re-read, and how often the state is polled (each
    // poll is one or two client calls to the controller, so it is less often than the file).
    std::int64_t log_interval_ms = 250;
    std::int64_t poll_interval_ms = 1000;
    Clock* clock = nullptr;  // nullptr = Clock::System()
  };

  explicit SlurmBackend(Options options);

  std::string name() const override { return "slurm"; }
  Result<std::string> Render(const JobRecord& record) const override;
  Result<Submitted> Submit(const JobRecord& record, const std::string& jobdir) override;
  Result<JobStatus> Poll(const JobRecord& record) override;
  Status Logs(const JobRecord& record, const std::string& jobdir, bool follow, const LogSink& sink,
              const std::atomic<bool>* stop) override;
  Status Cancel(const JobRecord& record) override;

  // The script Submit writes for `record` in `jobdir` (Render with the real folder).
  Result<std::string> Script(const JobRecord& record, const std::string& jobdir) const;

 private:
  std::string Tool(const char* name) const;  // "sbatch" or <bin_dir>/sbatch
  // Runs a client; kUnavailable "<tool> not found: is Slurm installed?" when it is missing.
  Result<CommandResult> Run(const std::vector<std::string>& argv) const;
  Result<JobStatus> FromScontrol(const std::string& id, const std::vector<std::string>& cluster_args);

  Options options_;
  SlurmDefaults defaults_;
};

}  // namespace dsx::jobs
