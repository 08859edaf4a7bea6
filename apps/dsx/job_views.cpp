// list, status, logs [-f], cancel for `dsx jobs` and `dsx finetune` (job_views.hpp). Logic lives
// in lib/jobs/service; this file parses flags and prints.
#include "job_views.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli.hpp"
#include "jobs/registry.hpp"
#include "jobs/service/job_format.hpp"

namespace dsx::cmd::job_views {
namespace {

using nlohmann::json;
namespace jb = dsx::jobs;

struct IdFlags {
  Common c;
  std::string id;
  bool follow = false;
  double wait_s = 30;
};

struct ListFlags {
  Common c;
  std::string kind;
};

// Ctrl-C while following logs: stop reading, end cleanly (exit 130; the job keeps running).
std::atomic<bool> g_interrupted{false};
void OnInterrupt(int) { g_interrupted = true; }

// A group scoped to one kind refuses other kinds before anything is asked of the backend.
Status RequireKind(const Scope& scope, const jb::JobService& svc, const std::string& id, const char* verb) {
  if (scope.kind.empty()) return Status::Ok();
  auto reg = jb::Registry::Open(svc.options().registry_root);
  if (!reg.ok()) return reg.status();
  auto rec = reg->Load(id);
  if (!rec.ok()) return rec.status();
  if (rec->request.kind != scope.kind) {
    return Status::Usage("job '" + id + "' is a " + rec->request.kind + " job, not a " + scope.noun +
                         ": use dsx jobs " + verb + " " + id);
  }
  return Status::Ok();
}

Result<std::unique_ptr<jb::JobService>> Open(const Scope& scope, const IdFlags& f, const char* verb) {
  auto svc = jb::JobService::Open(Options(f.c));
  if (!svc.ok()) return svc.status();
  DSX_RETURN_IF_ERROR(RequireKind(scope, **svc, f.id, verb));
  return svc;
}

void RunList(const Scope& scope, const ListFlags& f) {
  auto svc = jb::JobService::Open(Options(f.c));
  if (!svc.ok()) return cli::Finish(svc.status());
  std::vector<std::string> problems;
  auto jobs = (*svc)->List(scope.kind.empty() ? f.kind : scope.kind, &problems);
  if (!jobs.ok()) return cli::Finish(jobs.status());
  if (f.c.json) {
    json list = json::array();
    for (const auto& r : *jobs) list.push_back(jb::ToJson(r));
    cli::PrintJson(json{{"jobs", list}, {"problems", problems}});
  } else {
    std::fputs(jb::FormatJobTable(*jobs).c_str(), stdout);
    for (const auto& p : problems) std::fprintf(stderr, "dsx: warning: %s\n", p.c_str());
  }
  cli::Finish(Status::Ok());
}

void RunStatus(const Scope& scope, const IdFlags& f) {
  auto svc = Open(scope, f, "status");
  if (!svc.ok()) return cli::Finish(svc.status());
  auto r = (*svc)->Status(f.id);
  if (!r.ok()) return cli::Finish(r.status());
  if (f.c.json) {
    cli::PrintJson(jb::ToJson(*r));
  } else {
    std::fputs(jb::FormatJobStatus(*r, (*svc)->options().registry_root + "/" + r->id).c_str(), stdout);
  }
  cli::Finish(Status::Ok());
}

void RunLogs(const Scope& scope, const IdFlags& f) {
  auto svc = Open(scope, f, "logs");
  if (!svc.ok()) return cli::Finish(svc.status());
  g_interrupted = false;
  struct sigaction sa = {};
  sa.sa_handler = OnInterrupt;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  Status s = (*svc)->Logs(
      f.id, f.follow,
      [](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
        return !std::ferror(stdout);  // a closed pipe (| head) ends the follow
      },
      &g_interrupted);
  if (s.ok() && g_interrupted) return cli::Finish(Status::Interrupted("interrupted"));
  cli::Finish(s);
}

void RunCancel(const Scope& scope, const IdFlags& f) {
  if (f.wait_s < 0) return cli::Finish(Status::Usage("--wait must be >= 0"));
  auto svc = Open(scope, f, "cancel");
  if (!svc.ok()) return cli::Finish(svc.status());
  auto r = (*svc)->Cancel(f.id, std::chrono::milliseconds(static_cast<std::int64_t>(f.wait_s * 1000)));
  if (!r.ok()) return cli::Finish(r.status());
  const bool ended = jb::IsTerminal(r->status.state);
  if (f.c.json) {
    cli::PrintJson(jb::ToJson(*r));
  } else if (ended) {
    std::printf("job %s: %s\n", r->id.c_str(), jb::FormatState(r->status).c_str());
  } else {
    std::printf("job %s: cancel accepted by %s; still %s after %g s\n", r->id.c_str(), r->request.backend.c_str(),
                jb::JobStateName(r->status.state), f.wait_s);
  }
  if (!ended) {
    return cli::Finish(
        Status::Failed("job '" + r->id + "' has not stopped yet (see dsx " + scope.group + " status " + r->id + ")"));
  }
  cli::Finish(Status::Ok());
}

}  // namespace

void AddCommon(CLI::App* cmd, Common& c, bool with_json) {
  cmd->add_option("--jobs-dir", c.jobs_dir, "the job registry (default $DSX_JOBS_DIR, else ~/.local/share/dsx/jobs)")
      ->envname("DSX_JOBS_DIR");
  cmd->add_option("--config", c.config,
                  "jobs config file (default $DSX_CONFIG_DIR/jobs.toml or ~/.config/dsx/jobs.toml)");
  if (with_json) cmd->add_flag("--json", c.json, "print one JSON document instead of text");
}

jobs::ServiceOptions Options(const Common& c) {
  jb::ServiceOptions o;
  o.registry_root = c.jobs_dir;
  o.config_path = c.config;
  o.self_argv = jb::SelfDsxArgv();
  return o;
}

void Register(CLI::App* group, const Scope& scope) {
  const std::string noun = scope.noun;
  {
    auto f = std::make_shared<ListFlags>();
    auto* cmd = group->add_subcommand("list", noun + "s in the registry, newest first (no network)");
    AddCommon(cmd, f->c);
    if (scope.kind.empty()) cmd->add_option("--kind", f->kind, "only jobs of this kind (generic, finetune, autolab)");
    cmd->callback([scope, f] { RunList(scope, *f); });
  }
  {
    auto f = std::make_shared<IdFlags>();
    auto* cmd =
        group->add_subcommand("status", "a " + noun + "'s state now (asks its backend; the registry is updated)");
    cmd->add_option("id", f->id, "job id (j-YYYYMMDD-HHMMSS-xxxxxx)")->required();
    AddCommon(cmd, f->c);
    cmd->callback([scope, f] { RunStatus(scope, *f); });
  }
  {
    auto f = std::make_shared<IdFlags>();
    auto* cmd = group->add_subcommand("logs", "a " + noun + "'s output, from the start; -f follows it until it ends");
    cmd->add_option("id", f->id, "job id")->required();
    cmd->add_flag("-f,--follow", f->follow, "keep printing new lines until the job ends (Ctrl-C stops)");
    AddCommon(cmd, f->c, /*with_json=*/false);
    cmd->callback([scope, f] { RunLogs(scope, *f); });
  }
  {
    auto f = std::make_shared<IdFlags>();
    auto* cmd = group->add_subcommand("cancel", "stop a " + noun + " through its backend and wait for it to end");
    cmd->add_option("id", f->id, "job id")->required();
    cmd->add_option("--wait", f->wait_s, "seconds to wait for the job to end (default 30; 0 = do not wait)");
    AddCommon(cmd, f->c);
    cmd->callback([scope, f] { RunCancel(scope, *f); });
  }
}

}  // namespace dsx::cmd::job_views
