// The optional jobs configuration file (jobs.toml): site defaults that would otherwise be repeated
// on every submit. Read by the jobs service and handed to the backends it opens.
//
//   [slurm]
//   partition = "gpu"          # default for Resources::partition
//   account = "my-project"     # default for Resources::account
//   gres_type = "a100"         # GPU type for --gres when the request names none
//   bin_dir = "/opt/slurm/bin" # where sbatch, squeue, scontrol, scancel are ("" = PATH)
//   [hf]
//   namespace = "my-org"       # default for Resources::namespace_ (else the token's user)
//   endpoint = "https://huggingface.co"   # HF_ENDPOINT still wins when set
//
// A missing file is no error (every field empty); a file that is not valid TOML, or a field of
// the wrong type, is kUsage naming the file and the field, so a typo never silently falls back.
#pragma once

#include <string>

#include "core/status.hpp"
#include "jobs/job.hpp"

namespace dsx::jobs {

struct JobsConfig {
  std::string slurm_partition;
  std::string slurm_account;
  std::string slurm_gres_type;
  std::string slurm_bin_dir;
  std::string hf_namespace;
  std::string hf_endpoint;
};

// "" -> $DSX_CONFIG_DIR/jobs.toml, else $XDG_CONFIG_HOME/dsx/jobs.toml, else ~/.config/dsx/jobs.toml.
std::string DefaultJobsConfigPath();

// Reads `path` ("" = DefaultJobsConfigPath()); a missing file gives an empty config.
Result<JobsConfig> LoadJobsConfig(const std::string& path);
// The same from text (tests); `where` names the source in errors.
Result<JobsConfig> ParseJobsConfig(const std::string& text, const std::string& where);

// Fills the request's unset Slurm partition/account and HF namespace from the config.
void ApplyJobsConfig(const JobsConfig& config, JobRequest& request);

}  // namespace dsx::jobs
