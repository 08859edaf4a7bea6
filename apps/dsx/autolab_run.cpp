// dsx autolab run PLAN: one invocation of the research loop (lib/autolab/driver.hpp RunPlan). It
// loads the plan, opens the jobs layer (experiments are jobs of kind "autolab"), adds the LLM
// researcher when the plan names one, and drives the run folder until the budget is spent, nothing
// is left, a stop/pause request arrives, or another invocation is found driving it. Safe to start
// again at any time (cron): the ledger says where the run stands. With --server (or DSX_SERVER, or the
// plan's session_server) progress is published into the session autolab/<run folder name>, and a
// Stop or Pause there reaches the run (lib/autolab/session). Exit codes are the RunEnd values
// (0 done, 6 stopped, 7 paused, 9 lease held) or the error's (man dsx-autolab, EXIT STATUS).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "autolab/driver.hpp"
#include "autolab/plan.hpp"
#include "autolab/researcher.hpp"
#include "autolab/run_dir.hpp"
#include "autolab/session/run_session.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "core/clock.hpp"
#include "finetune/catalog.hpp"
#include "jobs/service/job_service.hpp"

namespace dsx::cmd {
namespace {

namespace ft = dsx::finetune;
namespace al = dsx::autolab;
namespace jb = dsx::jobs;
using json = nlohmann::json;

struct RunFlags {
  std::string plan;
  std::string run_dir;
  std::string jobs_dir;
  std::string config;
  std::string server;
  bool json = false;
  bool quiet = false;
  int max_attempts = 3;
  std::int64_t poll_ms = 500;
};

const char* EndName(al::RunEnd end) {
  switch (end) {
    case al::RunEnd::kDone: return "done";
    case al::RunEnd::kStopped: return "stopped";
    case al::RunEnd::kPaused: return "paused";
    case al::RunEnd::kLeaseHeld: return "lease_held";
  }
  return "done";
}

json ResultJson(const al::RunResult& r, const std::string& run_dir) {
  return {{"end", EndName(r.end)},  {"exit_code", static_cast<int>(r.end)},
          {"reason", r.reason},     {"run_dir", run_dir},
          {"finished", r.finished}, {"failed", r.failed},
          {"pruned", r.pruned},     {"cancelled", r.cancelled},
          {"pending", r.pending},   {"best_id", r.best_id.empty() ? json(nullptr) : json(r.best_id)},
          {"cost_usd", r.cost_usd}};
}

void Run(const RunFlags& f) {
  if (f.max_attempts < 1) return cli::Finish(Status::Usage("--max-attempts must be at least 1"));
  if (f.poll_ms < 1) return cli::Finish(Status::Usage("--poll-ms must be at least 1"));
  auto plan = al::LoadPlan(f.plan);
  if (!plan.ok()) return cli::Finish(plan.status());
  const std::string run_dir = f.run_dir.empty() ? al::DefaultRunDir(*plan) : f.run_dir;

  // Progress goes to stderr, one line each, so stdout keeps only the outcome (or --json).
  const bool talk = !f.quiet && !cli::Quiet();  // its own --quiet, or dsx -q autolab run
  auto say = [talk](const std::string& line) {
    if (talk) std::fprintf(stderr, "dsx autolab: %s\n", line.c_str());
  };

  jb::ServiceOptions o;
  o.registry_root = f.jobs_dir;
  o.config_path = f.config;
  o.self_argv = jb::SelfDsxArgv();
  // No session server for the experiments' jobs: the run is published as a whole (autolab/<run>),
  // not as one session per experiment.
  auto jobs = jb::JobService::Open(o);
  if (!jobs.ok()) return cli::Finish(jobs.status());

  std::unique_ptr<al::HypothesisSource> researcher;
  if (plan->researcher) {
    auto made = al::MakeLlmResearcher(*plan);
    if (made.ok()) {
      researcher = std::move(*made);
    } else if (made.status().code() == Code::kUsage) {
      // No API key (or no such provider): the plan's own hypotheses still run; an unattended run
      // must not end because the researcher cannot be asked.
      std::fprintf(stderr, "dsx autolab: researcher off: %s; going on with the plan's own hypotheses\n",
                   made.status().message().c_str());
    } else {
      return cli::Finish(made.status());
    }
  }

  // The run's session: the flag (or DSX_SERVER), else the plan's session_server. The token comes
  // from the environment only, so it never sits on a command line; the jobs layer keeps it from
  // the experiments.
  const std::string server = !f.server.empty() ? f.server : plan->session_server;
  std::unique_ptr<al::RunSession> session;
  if (!server.empty()) {
    std::filesystem::path dir = std::filesystem::path(run_dir).lexically_normal();
    if (dir.filename().empty()) dir = dir.parent_path();  // "runs/tiny/"
    const std::string run_name = dir.filename().string();
    auto opened = al::RunSession::Open(server, cli::Env("DSX_TOKEN"), run_name, Clock::System());
    if (!opened.ok()) return cli::Finish(opened.status().Wrap("session server " + server));
    session = std::move(*opened);
    say("publishing to session " + session->session() + " on " + server);
  }

  al::RunOptions options;
  if (plan->backend == "hf" && plan->budget.max_cost_usd > 0) {
    // The cost limit needs a price: the flavor's, from the shipped table the fine-tuning planner uses.
    const std::string flavor = plan->resources.flavor.empty() ? "cpu-basic" : plan->resources.flavor;
    auto catalog = ft::Catalog::Load(ft::DefaultConfigsDir());
    if (!catalog.ok()) return cli::Finish(catalog.status().Wrap("budget.max_cost_usd needs the flavor table"));
    const ft::Flavor* priced = catalog->FindFlavor(flavor);
    if (!priced)
      return cli::Finish(Status::Usage("budget.max_cost_usd: no price for flavor '" + flavor +
                                       "' (resources.flavor must be one of configs/flavors.toml)"));
    options.usd_per_hour = priced->usd_per_hour;
    say("cost limit $" + std::to_string(plan->budget.max_cost_usd) + " at $" + std::to_string(priced->usd_per_hour) +
        "/h (" + flavor + ")");
  }
  options.run_dir = run_dir;
  options.jobs = jobs->get();
  options.poll_ms = f.poll_ms;
  options.max_attempts = f.max_attempts;
  options.researcher = researcher.get();
  options.log = say;
  options.progress = session.get();
  say("run " + plan->name + " in " + run_dir);

  auto result = al::RunPlan(*plan, options);
  if (session) {
    // The run's outcome is the ledger's; a session that could not deliver everything is only noted.
    if (auto closed = session->Close(); !closed.ok())
      std::fprintf(stderr, "dsx autolab: session %s: %s\n", session->session().c_str(), closed.message().c_str());
  }
  if (!result.ok()) return cli::Finish(result.status());
  const al::RunResult& r = *result;
  if (f.json) {
    cli::PrintJson(ResultJson(r, run_dir));
  } else {
    std::printf("%s: %s (finished %d, failed %d, pruned %d, pending %d%s%s)\n", EndName(r.end), r.reason.c_str(),
                r.finished, r.failed, r.pruned, r.pending, r.best_id.empty() ? "" : "; best ", r.best_id.c_str());
  }
  cli::SetExit(static_cast<int>(r.end));
}

}  // namespace

void register_autolab_run(CLI::App& autolab) {
  auto f = std::make_shared<RunFlags>();
  auto* cmd = autolab.add_subcommand(
      "run", "run a plan until its budget is spent or nothing is left (0), stopped (6), paused (7), or held (9)");
  cmd->add_option("PLAN", f->plan, "the plan's YAML file")->required();
  cmd->add_option("--run-dir", f->run_dir, "the run folder (default $DSX_AUTOLAB_DIR/<plan name>)");
  cmd->add_option("--jobs-dir", f->jobs_dir, "the job registry (default $DSX_JOBS_DIR, else ~/.local/share/dsx/jobs)")
      ->envname("DSX_JOBS_DIR");
  cmd->add_option("--config", f->config, "jobs config file (default $DSX_CONFIG_DIR/jobs.toml)");
  cmd->add_option("--max-attempts", f->max_attempts,
                  "starts per experiment whose outcome was lost (its job vanished); default 3");
  cmd->add_option("--poll-ms", f->poll_ms, "milliseconds between passes when nothing changed; default 500");
  cmd->add_option("--server", f->server,
                  "publish progress to session autolab/<run> on this dsx session serve (default the plan's "
                  "session_server; token from DSX_TOKEN)")
      ->envname("DSX_SERVER");
  cmd->add_flag("--quiet", f->quiet, "no progress lines on stderr (errors and the outcome line only)");
  cmd->add_flag("--json", f->json, "print the outcome as one JSON object: end, exit_code, reason, counts, best_id");
  cmd->footer(
      "Safe to run again at any time (cron): finished experiments are never rerun, running ones are\n"
      "adopted, lost ones retried. A stop or pause request (dsx autolab stop|pause RUN) ends it; dsx\n"
      "autolab resume RUN clears it. See man dsx-autolab.");
  cmd->callback([f] { Run(*f); });
}

}  // namespace dsx::cmd
