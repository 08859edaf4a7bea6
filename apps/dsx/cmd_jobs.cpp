// dsx jobs: list|status|logs [-f]|cancel for every job in the registry, whatever submitted it, a
// generic submit (AutoLab, scripts, tests), and the two hidden process bodies the jobs layer
// starts detached: `_supervise JOBDIR` (the local backend's supervisor) and `_watch ID` (the
// watcher that mirrors a job into its session). Logic lives in lib/jobs/service; this file
// parses flags and prints. Output shapes and exit codes: man dsx-jobs.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli.hpp"
#include "commands.hpp"
#include "job_views.hpp"
#include "jobs/local/supervisor.hpp"
#include "jobs/service/job_format.hpp"
#include "jobs/service/job_service.hpp"

namespace dsx::cmd {
namespace {

using nlohmann::json;
namespace jb = dsx::jobs;

using job_views::AddCommon;
using job_views::Common;
using job_views::Options;

// ---------------------------------------------------------------- submit

struct SubmitFlags {
  Common c;
  cli::ServerFlags net;
  std::string backend = "local";
  std::string name, kind = "generic", workdir;
  std::int64_t timeout_s = 0;
  std::vector<std::string> env, secrets;
  std::string flavor, gpu_type, partition, account, image, namespace_;
  int gpus = 0, cpus = 0, mem_gb = 0;
  bool dry_run = false;
  std::vector<std::string> command;
};

Result<jb::JobRequest> BuildRequest(const SubmitFlags& f) {
  if (f.command.empty()) return Status::Usage("no command: dsx jobs submit [OPTIONS] -- COMMAND...");
  if (f.timeout_s < 0) return Status::Usage("--timeout must be >= 0 seconds");
  if (f.gpus < 0 || f.cpus < 0 || f.mem_gb < 0) return Status::Usage("--gpus, --cpus and --mem-gb must be >= 0");
  jb::JobRequest r;
  r.name = f.name;
  r.kind = f.kind;
  r.backend = f.backend;
  r.command = f.command;
  r.workdir = f.workdir;
  r.timeout_s = f.timeout_s;
  for (const auto& kv : f.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Status::Usage("--env wants KEY=VALUE, got '" + kv + "'");
    r.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& name : f.secrets) {
    if (name.empty() || name.find('=') != std::string::npos) {
      return Status::Usage(
          "--secret wants the NAME of an environment variable (its value is never given on the "
          "command line)");
    }
    r.secret_env.push_back(name);
  }
  r.resources.flavor = f.flavor;
  r.resources.gpus = f.gpus;
  r.resources.gpu_type = f.gpu_type;
  r.resources.cpus = f.cpus;
  r.resources.mem_gb = f.mem_gb;
  r.resources.partition = f.partition;
  r.resources.account = f.account;
  r.resources.image = f.image;
  r.resources.namespace_ = f.namespace_;
  return r;
}

void RunSubmit(const SubmitFlags& f) {
  auto request = BuildRequest(f);
  if (!request.ok()) return cli::Finish(request.status());
  jb::ServiceOptions o = Options(f.c);
  o.server = f.net.server;
  o.token = f.net.token;
  auto svc = jb::JobService::Open(o);
  if (!svc.ok()) return cli::Finish(svc.status());
  if (f.dry_run) {
    auto text = (*svc)->Render(*request);
    if (!text.ok()) return cli::Finish(text.status());
    if (f.c.json) {
      cli::PrintJson(
          json{{"dry_run", true}, {"request", jb::ToJson(*request)}, {"render", *text}, {"server", o.server}});
    } else {
      std::fputs(text->c_str(), stdout);
      if (!text->empty() && text->back() != '\n') std::fputc('\n', stdout);
      if (!o.server.empty()) {
        std::printf("session: jobs/<id> on %s (a detached watcher mirrors the job there)\n", o.server.c_str());
      }
    }
    return cli::Finish(Status::Ok());
  }
  auto r = (*svc)->Submit(*request);
  if (!r.ok()) return cli::Finish(r.status());
  if (f.c.json) {
    cli::PrintJson(jb::ToJson(*r));
  } else {
    std::printf("%s\n", r->id.c_str());
    if (cli::Quiet()) return cli::Finish(Status::Ok());  // the id is the result; the rest are notices
    std::fprintf(stderr, "dsx: submitted job %s to %s (%s)%s%s\n", r->id.c_str(), r->request.backend.c_str(),
                 jb::JobStateName(r->status.state), r->url.empty() ? "" : ": ", r->url.c_str());
    if (!r->session.empty()) std::fprintf(stderr, "dsx: follow it with: dsx session tail %s\n", r->session.c_str());
  }
  cli::Finish(Status::Ok());
}

}  // namespace

void register_jobs(CLI::App& app) {
  auto* jobs =
      app.add_subcommand("jobs", "jobs on this machine, Slurm or Hugging Face Jobs: list, status, logs, cancel");
  jobs->require_subcommand(1);
  job_views::Register(jobs, {"jobs", "", "job"});
  {
    auto f = std::make_shared<SubmitFlags>();
    auto* cmd = jobs->add_subcommand("submit", "run COMMAND as a job on this machine, Slurm or Hugging Face Jobs");
    cmd->add_option("--backend", f->backend, "local, slurm or hf (default local)");
    cmd->add_option("--name", f->name, "a label for people (not unique)");
    cmd->add_option("--kind", f->kind, "generic, finetune or autolab: what list --kind filters on (default generic)");
    cmd->add_option("--timeout", f->timeout_s, "seconds before the job is stopped (state timeout); 0 = none");
    // One value per occurrence (repeat the flag). With a vector option, CLI11 (2.1) takes the `--`
    // before COMMAND as the end of that option's values and then parses COMMAND's own flags as
    // dsx's; positionals_at_end() below keeps `--` meaning "COMMAND follows".
    cmd->add_option("--env", f->env, "KEY=VALUE in the job's environment (stored with the job, shown); repeatable")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->add_option("--secret", f->secrets,
                    "NAME of a variable of this environment passed to the job as a secret (value never stored); "
                    "repeatable")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->add_option("--workdir", f->workdir, "working directory (local, slurm; default the job's folder)");
    cmd->add_option("--flavor", f->flavor, "hf: hardware flavor (cpu-basic, t4-small, a10g-large, ...)");
    cmd->add_option("--image", f->image, "hf: docker image");
    cmd->add_option("--namespace", f->namespace_, "hf: user or organisation to run under (default the token's user)");
    cmd->add_option("--gpus", f->gpus, "slurm: GPUs (--gres=gpu:N)");
    cmd->add_option("--gpu-type", f->gpu_type, "slurm: GPU type in --gres (a100, ...)");
    cmd->add_option("--cpus", f->cpus, "slurm: CPUs per task");
    cmd->add_option("--mem-gb", f->mem_gb, "slurm: memory in GB");
    cmd->add_option("--partition", f->partition, "slurm: partition (default jobs.toml [slurm] partition)");
    cmd->add_option("--account", f->account, "slurm: account (default jobs.toml [slurm] account)");
    cmd->add_flag("--dry-run", f->dry_run, "print what would be submitted (no registry write, no network)");
    AddCommon(cmd, f->c);
    cli::AddServerFlags(cmd, f->net);
    cmd->get_option("--server")->description("publish the job into session jobs/<id> on this server (default: none)");
    cmd->add_option("command", f->command, "the command and its arguments (after --)")->required();
    cmd->positionals_at_end();
    cmd->footer(
        "Without --server (or DSX_SERVER) nothing is published: the job is only in the registry. With it,\n"
        "a detached watcher process mirrors the job into session jobs/<id> (run.start, log lines, state\n"
        "lines, run.end) and turns the session's Stop into a cancel through the backend. The token goes\n"
        "to the watcher in its environment, never on a command line. See man dsx-jobs.");
    cmd->callback([f] { RunSubmit(*f); });
  }
  {
    auto dir = std::make_shared<std::string>();
    auto* cmd = jobs->add_subcommand("_supervise", "internal: the local backend's supervisor for one job folder");
    cmd->group("");
    cmd->add_option("jobdir", *dir, "the job's folder")->required();
    cmd->callback([dir] { cli::SetExit(jb::RunSupervisor(*dir)); });
  }
  {
    auto c = std::make_shared<Common>();
    auto id = std::make_shared<std::string>();
    auto* cmd = jobs->add_subcommand("_watch", "internal: follow one job into its session until it ends");
    cmd->group("");
    cmd->add_option("id", *id, "job id")->required();
    AddCommon(cmd, *c, /*with_json=*/false);
    cmd->callback([c, id] {
      jb::ServiceOptions o = Options(*c);
      o.token = cli::Env("DSX_TOKEN");  // never from argv
      ::unsetenv("DSX_TOKEN");          // and not inherited by what the watcher runs (scancel)
      cli::SetExit(jb::RunWatcher(o, *id));
    });
  }
}

}  // namespace dsx::cmd
