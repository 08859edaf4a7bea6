// The real backends, configured: what JobService::OpenBackend returns unless a test replaced it.
// One place knows how each backend is built (the local supervisor command, the registry root,
// the site's Slurm partition and HF namespace/endpoint from jobs.toml).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "jobs/backend.hpp"
#include "jobs/service/jobs_config.hpp"

namespace dsx::jobs {

struct BackendContext {
  std::string registry_root;           // resolved (never "")
  std::vector<std::string> self_argv;  // this dsx; the local supervisor is self_argv + jobs _supervise
  JobsConfig config;
};

// "local" | "slurm" | "hf"; kUsage naming the three for anything else.
Result<std::unique_ptr<Backend>> MakeBackend(const std::string& name, const BackendContext& context);

}  // namespace dsx::jobs
