// RenderBatchScript and its quoting helpers: see slurm_script.hpp.
#include "jobs/slurm/slurm_script.hpp"

#include <cstdio>

namespace dsx::jobs {
namespace {

bool IsShellSafe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_-./:=,+@%").find(c) != std::string_view::npos;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// One "#SBATCH --flag=value" line, or a kUsage naming the field.
Status AddDirective(std::string& out, std::string_view flag, std::string_view value, std::string_view what) {
  auto quoted = SbatchQuote(value, what);
  if (!quoted.ok()) return quoted.status();
  out += "#SBATCH ";
  out += flag;
  out += "=";
  out += *quoted;
  out += "\n";
  return Status::Ok();
}

}  // namespace

std::string ShellQuote(std::string_view word) {
  bool safe = !word.empty();
  for (char c : word) safe = safe && IsShellSafe(c);
  if (safe) return std::string(word);
  return SingleQuote(word);
}

std::string SingleQuote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

Result<std::string> SbatchQuote(std::string_view value, std::string_view what) {
  bool plain = !value.empty();
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Status::Usage(std::string(what) + " must not contain newlines or control characters");
    }
    if (!IsShellSafe(c)) plain = false;
  }
  if (plain) return std::string(value);
  // sbatch's own directive parser: "..." groups words and hides '#'; a backslash escapes the next
  // character.
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += "\"";
  return out;
}

std::string SlurmTime(std::int64_t timeout_s) {
  std::int64_t minutes = (timeout_s + 59) / 60;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:00", static_cast<long long>(minutes / (24 * 60)),
                static_cast<long long>((minutes / 60) % 24), static_cast<long long>(minutes % 60));
  return buf;
}

Result<std::string> RenderBatchScript(const JobRecord& record, const std::string& jobdir,
                                      const SlurmDefaults& defaults) {
  const JobRequest& req = record.request;
  const Resources& res = req.resources;
  if (req.command.empty() || req.command[0].empty()) return Status::Usage("the job has no command to run");
  if (req.timeout_s < 0) return Status::Usage("timeout_s must not be negative");
  if (res.gpus < 0 || res.cpus < 0 || res.mem_gb < 0) {
    return Status::Usage("gpus, cpus and mem_gb must not be negative");
  }
  for (const auto& [name, value] : req.env) {
    if (!IsIdentifier(name)) return Status::Usage("env name '" + name + "' is not a shell variable name");
  }
  for (const auto& name : req.secret_env) {
    if (!IsIdentifier(name)) return Status::Usage("secret_env name '" + name + "' is not a shell variable name");
    if (req.env.count(name)) {
      return Status::Usage("'" + name + "' is both a plain env variable and a secret: name it once");
    }
  }

  std::string s = "#!/bin/bash\n";
  std::string name = req.name.empty() ? record.id : req.name;
  DSX_RETURN_IF_ERROR(AddDirective(s, "--job-name", name, "the job name"));
  // --output and --error name the same file: one log, in the order the job wrote it.
  const std::string log = jobdir + "/output.log";
  if (log.find('%') != std::string::npos) {
    // sbatch expands %j, %x... in file names; a job folder with '%' would be silently renamed.
    return Status::Usage("the job folder '" + jobdir + "' contains '%', which sbatch would expand in file names");
  }
  DSX_RETURN_IF_ERROR(AddDirective(s, "--output", log, "the job folder"));
  DSX_RETURN_IF_ERROR(AddDirective(s, "--error", log, "the job folder"));
  if (req.timeout_s > 0) s += "#SBATCH --time=" + SlurmTime(req.timeout_s) + "\n";
  if (res.gpus > 0) {
    const std::string& type = res.gpu_type.empty() ? defaults.gres_type : res.gpu_type;
    std::string gres = "gpu:" + (type.empty() ? "" : type + ":") + std::to_string(res.gpus);
    DSX_RETURN_IF_ERROR(AddDirective(s, "--gres", gres, "the gpu type"));
  }
  if (res.mem_gb > 0) s += "#SBATCH --mem=" + std::to_string(res.mem_gb) + "G\n";
  if (res.cpus > 0) s += "#SBATCH --cpus-per-task=" + std::to_string(res.cpus) + "\n";
  const std::string& partition = res.partition.empty() ? defaults.partition : res.partition;
  if (!partition.empty()) DSX_RETURN_IF_ERROR(AddDirective(s, "--partition", partition, "the partition"));
  const std::string& account = res.account.empty() ? defaults.account : res.account;
  if (!account.empty()) DSX_RETURN_IF_ERROR(AddDirective(s, "--account", account, "the account"));
  DSX_RETURN_IF_ERROR(AddDirective(s, "--chdir", req.workdir.empty() ? jobdir : req.workdir, "the working directory"));
  std::string comment = "dsx-job=" + record.id;
  for (const auto& [key, value] : req.labels) comment += "," + key + "=" + value;
  DSX_RETURN_IF_ERROR(AddDirective(s, "--comment", comment, "a label"));
  s += "#SBATCH --export=ALL\n";

  if (!req.secret_env.empty()) {
    s += "\n# Secrets: ";
    for (std::size_t i = 0; i < req.secret_env.size(); ++i) s += (i ? " " : "") + req.secret_env[i];
    s += "\n# Their values are never written here: with --export=ALL the job inherits them from the\n"
         "# environment sbatch ran in when the job was submitted.\n";
  }
  if (!req.env.empty()) {
    s += "\n";
    for (const auto& [key, value] : req.env) s += "export " + key + "=" + SingleQuote(value) + "\n";
  }
  s += "\n";
  for (std::size_t i = 0; i < req.command.size(); ++i) {
    s += (i ? " " : "") + ShellQuote(ReplaceAll(req.command[i], "{jobdir}", jobdir));
  }
  s += "\n";
  return s;
}

}  // namespace dsx::jobs
