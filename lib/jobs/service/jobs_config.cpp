// jobs.toml: see jobs_config.hpp.
#include "jobs/service/jobs_config.hpp"

#include <cstdlib>
#include <filesystem>
// Header-only use of toml++: dsx_jobs_service does not link the compiled libtomlplusplus (the
// pkg-config flags set TOML_HEADER_ONLY=0 only for targets that link PkgConfig::TOMLPP), and a
// two-section file needs nothing the header-only build lacks.
#include <toml++/toml.h>

#include "core/fs.hpp"

namespace dsx::jobs {
namespace {

std::string EnvOr(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string();
}

// A string field of [section], "" when absent; kUsage when present with another type.
Status ReadString(const toml::table& root, const char* section, const char* key, const std::string& where,
                  std::string* out) {
  const toml::node* s = root.get(section);
  if (!s) return Status::Ok();
  const toml::table* t = s->as_table();
  if (!t) return Status::Usage(where + ": '" + section + "' must be a table");
  const toml::node* n = t->get(key);
  if (!n) return Status::Ok();
  const auto v = n->value<std::string>();
  if (!n->is_string() || !v) return Status::Usage(where + ": '" + section + "." + key + "' must be a string");
  *out = *v;
  return Status::Ok();
}

}  // namespace

std::string DefaultJobsConfigPath() {
  if (auto d = EnvOr("DSX_CONFIG_DIR"); !d.empty()) return d + "/jobs.toml";
  if (auto x = EnvOr("XDG_CONFIG_HOME"); !x.empty()) return x + "/dsx/jobs.toml";
  if (auto h = EnvOr("HOME"); !h.empty()) return h + "/.config/dsx/jobs.toml";
  return "";
}

Result<JobsConfig> ParseJobsConfig(const std::string& text, const std::string& where) {
  toml::table root;
  try {
    root = toml::parse(text, where);
  } catch (const toml::parse_error& e) {
    return Status::Usage(where + ": not valid TOML: " + std::string(e.description()));
  }
  JobsConfig c;
  DSX_RETURN_IF_ERROR(ReadString(root, "slurm", "partition", where, &c.slurm_partition));
  DSX_RETURN_IF_ERROR(ReadString(root, "slurm", "account", where, &c.slurm_account));
  DSX_RETURN_IF_ERROR(ReadString(root, "slurm", "gres_type", where, &c.slurm_gres_type));
  DSX_RETURN_IF_ERROR(ReadString(root, "slurm", "bin_dir", where, &c.slurm_bin_dir));
  DSX_RETURN_IF_ERROR(ReadString(root, "hf", "namespace", where, &c.hf_namespace));
  DSX_RETURN_IF_ERROR(ReadString(root, "hf", "endpoint", where, &c.hf_endpoint));
  return c;
}

Result<JobsConfig> LoadJobsConfig(const std::string& path_in) {
  const std::string path = path_in.empty() ? DefaultJobsConfigPath() : path_in;
  if (path.empty()) return JobsConfig{};
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    // An explicitly named file must exist; the default one is optional.
    if (!path_in.empty()) return Status::NotFound("no jobs config '" + path + "'");
    return JobsConfig{};
  }
  auto text = fs::ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseJobsConfig(*text, path);
}

void ApplyJobsConfig(const JobsConfig& config, JobRequest& request) {
  if (request.resources.partition.empty()) request.resources.partition = config.slurm_partition;
  if (request.resources.account.empty()) request.resources.account = config.slurm_account;
  if (request.resources.namespace_.empty()) request.resources.namespace_ = config.hf_namespace;
}

}  // namespace dsx::jobs
