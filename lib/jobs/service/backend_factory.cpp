// MakeBackend: see backend_factory.hpp.
#include "jobs/service/backend_factory.hpp"

#include <cstdlib>

#include "jobs/hf/hf_backend.hpp"
#include "jobs/local/local_backend.hpp"
#include "jobs/slurm/slurm_backend.hpp"

namespace dsx::jobs {

Result<std::unique_ptr<Backend>> MakeBackend(const std::string& name, const BackendContext& context) {
  if (name == "local") {
    if (context.self_argv.empty()) {
      return Status::Usage("the local backend needs the path of dsx to start its supervisor");
    }
    LocalBackend::Options o;
    o.supervisor_argv = context.self_argv;
    o.supervisor_argv.push_back("jobs");
    o.supervisor_argv.push_back("_supervise");
    o.jobs_root = context.registry_root;
    return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(std::move(o)));
  }
  if (name == "slurm") {
    SlurmBackend::Options o;
    o.partition = context.config.slurm_partition;
    o.account = context.config.slurm_account;
    o.gres_type = context.config.slurm_gres_type;
    o.bin_dir = context.config.slurm_bin_dir;
    o.jobs_root = context.registry_root;
    return std::unique_ptr<Backend>(std::make_unique<SlurmBackend>(std::move(o)));
  }
  if (name == "hf") {
    hf::HfBackend::Options o = hf::HfBackend::OptionsFromEnv();
    // HF_ENDPOINT (read by OptionsFromEnv) wins over the file, as huggingface_hub does.
    const char* env_endpoint = std::getenv("HF_ENDPOINT");
    if ((!env_endpoint || !*env_endpoint) && !context.config.hf_endpoint.empty()) {
      o.endpoint = context.config.hf_endpoint;
      while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
    }
    return std::unique_ptr<Backend>(std::make_unique<hf::HfBackend>(std::move(o)));
  }
  return Status::Usage("unknown backend '" + name + "': want local, slurm or hf");
}

}  // namespace dsx::jobs
