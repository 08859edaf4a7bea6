// dsx jobs: list|status|logs [-f]|cancel for every job in the registry, whatever submitted it.
// Logic lives in lib/jobs/service; this file parses flags and prints.
#include "cli.hpp"
#include "commands.hpp"

namespace dsx::cmd {

void register_jobs(CLI::App& app) {
  auto* jobs = app.add_subcommand("jobs", "jobs on this machine, Slurm or Hugging Face Jobs: list, status, logs, cancel");
  jobs->require_subcommand(1);
}

}  // namespace dsx::cmd
