// dsx autolab: the research loop (issue 14). `validate PLAN` checks a plan and prints every problem
// with its line and column; `status RUN` summarises a run from its ledger; `stop|pause|resume RUN`
// record a control request in the ledger for whoever drives the run; `report RUN` rewrites the
// reporter's files. `run PLAN` lives in autolab_run.cpp. Logic lives in lib/autolab; this file
// parses flags and prints. Output shapes and exit codes: man dsx-autolab.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "autolab/control.hpp"
#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "autolab/report.hpp"
#include "autolab/run_dir.hpp"
#include "autolab/run_lease.hpp"
#include "autolab/run_plan.hpp"
#include "autolab/run_status.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"

namespace dsx::cmd {
namespace {

namespace al = dsx::autolab;
using json = nlohmann::json;

std::string Summary(const al::Plan& plan) {
  const auto configs = al::CountConfigurations(plan);
  const int repeats = plan.objective.repeats;
  const std::string budget = " (budget " + std::to_string(plan.budget.max_experiments) + ")";
  if (configs == 0) {  // researcher only: its hypotheses arrive at run time
    return "plan OK: configurations proposed by the researcher at run time x " + std::to_string(repeats) + " repeats" +
           budget;
  }
  std::string s = "plan OK: " + std::to_string(configs) + " configurations";
  if (plan.researcher) s += " (and the researcher's)";
  return s + " x " + std::to_string(repeats) + " repeats = " + std::to_string(al::CountExperiments(plan)) +
         " experiments" + budget;
}

void RunValidate(const std::string& path, bool as_json) {
  auto text = dsx::fs::ReadFile(path, al::kMaxPlanBytes);
  if (!text.ok()) {
    // A missing plan is not found (3); one that cannot be read or never ends (/dev/zero) is a bad argument (2).
    const std::string why = "cannot read plan " + path + ": " + text.status().message();
    const Status st = text.status().code() == Code::kNotFound ? Status::NotFound(why) : Status::Usage(why);
    if (as_json) {
      cli::PrintJson({{"ok", false},
                      {"errors", nlohmann::json::array({{{"line", 0}, {"column", 0}, {"message", st.message()}}})}});
      cli::SetExit(st.exit_code());
      return;
    }
    cli::Fail(st);
    return;
  }
  const al::PlanCheck check = al::CheckPlan(*text, path);
  if (as_json) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : check.errors)
      errors.push_back({{"line", e.line}, {"column", e.column}, {"message", e.message}});
    nlohmann::json out = {{"ok", check.errors.empty()}, {"errors", errors}};
    if (check.plan) {
      out["configurations"] = al::CountConfigurations(*check.plan);
      out["repeats"] = check.plan->objective.repeats;
      out["experiments"] = al::CountExperiments(*check.plan);
      out["budget"] = check.plan->budget.max_experiments;
      out["plan_hash"] = al::PlanHash(*check.plan);
    }
    cli::PrintJson(out);
    cli::SetExit(check.errors.empty() ? 0 : static_cast<int>(Code::kUsage));
    return;
  }
  if (!check.errors.empty()) {
    std::fprintf(stderr, "%s\n", al::FormatErrors(path, check.errors).c_str());
    std::fprintf(stderr, "dsx: %zu error%s in %s\n", check.errors.size(), check.errors.size() == 1 ? "" : "s",
                 path.c_str());
    cli::SetExit(static_cast<int>(Code::kUsage));
    return;
  }
  std::printf("%s\n", Summary(*check.plan).c_str());
  cli::SetExit(0);
}

// A run named on the command line: its folder, its ledger, and the plan it ran (plan.json; else the
// plan file given as RUN, for a run folder that has none yet).
struct OpenedRun {
  std::string dir;
  std::unique_ptr<al::Ledger> ledger;
  std::optional<al::Plan> plan;
  Status plan_status;  // why plan is empty
};

Result<OpenedRun> OpenRun(const std::string& run_arg) {
  auto dir = al::ResolveRunDir(run_arg);
  if (!dir.ok()) return dir.status();
  OpenedRun run;
  run.dir = *dir;
  auto ledger = al::Ledger::Open(al::LedgerPath(run.dir));
  if (!ledger.ok()) return ledger.status();
  run.ledger = std::move(*ledger);
  auto plan = al::LoadRunPlan(run.dir);
  std::error_code ec;
  if (!plan.ok() && plan.status().code() == Code::kNotFound && std::filesystem::is_regular_file(run_arg, ec))
    plan = al::LoadPlan(run_arg);
  if (plan.ok()) run.plan = std::move(*plan);
  else run.plan_status = plan.status();
  return run;
}

void ShowStatus(const std::string& run_arg, bool as_json) {
  auto run = OpenRun(run_arg);
  if (!run.ok()) return cli::Finish(run.status());
  // Without the plan the counts are still right; only the ranking needs the objective.
  if (!run->plan && !as_json && !cli::Quiet())
    std::fprintf(stderr, "dsx: no ranking: %s\n", run->plan_status.message().c_str());
  Clock& clock = Clock::System();
  auto st = al::ReadRunStatus(run->dir, *run->ledger, run->plan ? &*run->plan : nullptr, clock);
  if (!st.ok()) return cli::Finish(st.status());
  if (as_json) {
    cli::PrintJson(al::ToJson(*st));
  } else {
    std::fputs(al::FormatRunStatus(*st, clock.NowMs()).c_str(), stdout);
  }
  cli::SetExit(0);
}

// What a control request will do, given who drives the run now.
std::string ControlEffect(al::Control c, const std::optional<al::LeaseInfo>& holder, bool alive, int running) {
  const std::string driver =
      holder && alive ? "pid " + std::to_string(holder->owner.pid) + " on " + holder->owner.host : std::string();
  const std::string n = std::to_string(running) + " running experiment" + (running == 1 ? "" : "s");
  switch (c) {
    case al::Control::kStop:
      if (!driver.empty())
        return "the driver (" + driver + ") cancels its " + n +
               " (process trees killed), puts them back in the queue and exits with code 6; "
               "`dsx autolab resume RUN` and the next `dsx autolab run` continue from there";
      return "no dsx autolab run drives this run now: the next one exits at once with code 6 until "
             "`dsx autolab resume RUN`" +
             std::string(running > 0 ? " (the ledger still lists " + n + "; the run that resumes adopts them)" : "");
    case al::Control::kPause:
      if (!driver.empty())
        return "the driver (" + driver + ") starts no new experiment, lets its " + n +
               " finish, then exits with code 7; `dsx autolab resume RUN` and the next `dsx autolab run` continue";
      return "no dsx autolab run drives this run now: the next one exits at once with code 7 until "
             "`dsx autolab resume RUN`";
    case al::Control::kRun:
      if (!driver.empty()) return "the driver (" + driver + ") goes on";
      return "the next `dsx autolab run` continues the run (nothing restarts by itself: run it, or let cron)";
  }
  return "";
}

void RunControl(al::Control c, const std::string& run_arg, bool as_json) {
  auto dir = al::ResolveRunDir(run_arg);
  if (!dir.ok()) return cli::Finish(dir.status());
  auto ledger = al::Ledger::Open(al::LedgerPath(*dir));
  if (!ledger.ok()) return cli::Finish(ledger.status());
  auto before = al::ReadControl(**ledger);  // a damaged word is overwritten: that is the fix
  if (auto s = al::WriteControl(**ledger, c); !s.ok()) return cli::Finish(s);
  auto holder = al::RunLease::Holder(**ledger);
  if (!holder.ok()) return cli::Finish(holder.status());
  const bool alive = *holder && al::LeaseAlive(**holder, al::LeaseOwner::Self().host, Clock::System().NowMs());
  auto running = (*ledger)->List(al::ExpState::kRunning);
  if (!running.ok()) return cli::Finish(running.status());
  const int n = static_cast<int>(running->size());
  const std::string effect = ControlEffect(c, *holder, alive, n);
  if (as_json) {
    json driver = nullptr;
    if (*holder) driver = {{"pid", (*holder)->owner.pid}, {"host", (*holder)->owner.host}, {"alive", alive}};
    cli::PrintJson({{"run_dir", *dir},
                    {"control", al::ControlName(c)},
                    {"previous", before.ok() ? json(al::ControlName(*before)) : json(nullptr)},
                    {"driver", driver},
                    {"running", n},
                    {"effect", effect}});
  } else {
    const char* verb = c == al::Control::kStop ? "stop" : c == al::Control::kPause ? "pause" : "resume";
    std::printf("%s recorded for %s: %s\n", verb, dir->c_str(), effect.c_str());
  }
  cli::SetExit(0);
}

void RunReport(const std::string& run_arg, bool as_json) {
  auto run = OpenRun(run_arg);
  if (!run.ok()) return cli::Finish(run.status());
  if (!run->plan) return cli::Finish(run->plan_status.Wrap("cannot report on " + run->dir));
  auto files = al::WriteReport(*run->plan, *run->ledger, run->dir);
  if (!files.ok()) return cli::Finish(files.status());
  if (as_json) {
    cli::PrintJson({{"run_dir", run->dir},
                    {"report_md", files->report_md},
                    {"results_json", files->results_json},
                    {"results_tsv", files->results_tsv},
                    {"plots", files->plots}});
  } else {
    std::printf("%s\n%s\n%s\n", files->report_md.c_str(), files->results_json.c_str(), files->results_tsv.c_str());
    for (const auto& p : files->plots) std::printf("%s\n", p.c_str());
  }
  cli::SetExit(0);
}

// RUN and --json, the arguments every run-level command takes.
struct RunArgs {
  std::string run;
  bool json = false;
};

CLI::App* AddRunCommand(CLI::App* parent, const char* name, const char* help, const std::shared_ptr<RunArgs>& a,
                        const char* json_help) {
  auto* cmd = parent->add_subcommand(name, help);
  cmd->add_option("RUN", a->run, "a run folder, a plan file (its default run folder) or a plan name")->required();
  cmd->add_flag("--json", a->json, json_help);
  return cmd;
}

}  // namespace

// autolab_run.cpp
void register_autolab_run(CLI::App& autolab);

void register_autolab(CLI::App& app) {
  auto* al = app.add_subcommand("autolab", "research loop: plans of experiments, ranked by a verifiable metric");
  al->require_subcommand(1);

  auto* validate = al->add_subcommand("validate", "check a plan: every error with line and column (exit 2)");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  validate->add_option("PLAN", *path, "the plan's YAML file")->required();
  validate->add_flag("--json", *as_json, "one JSON object: ok, errors [{line, column, message}], experiments");
  validate->callback([path, as_json] { RunValidate(*path, *as_json); });

  register_autolab_run(*al);

  {
    auto a = std::make_shared<RunArgs>();
    auto* cmd = AddRunCommand(al, "status", "a run's state: control, driver, counts, running experiments, best so far",
                              a, "one JSON object (man dsx-autolab, STATUS JSON)");
    cmd->callback([a] { ShowStatus(a->run, a->json); });
  }
  const struct {
    const char* name;
    al::Control control;
    const char* help;
  } kControls[] = {
      {"stop", al::Control::kStop, "stop a run: running experiments are cancelled and queued again (exit 6 for run)"},
      {"pause", al::Control::kPause, "pause a run: no new experiment starts; running ones finish (exit 7 for run)"},
      {"resume", al::Control::kRun, "clear a stop or pause: the next dsx autolab run continues"},
  };
  for (const auto& k : kControls) {
    auto a = std::make_shared<RunArgs>();
    auto* cmd =
        AddRunCommand(al, k.name, k.help, a, "one JSON object: run_dir, control, previous, driver, running, effect");
    const al::Control c = k.control;
    cmd->callback([a, c] { RunControl(c, a->run, a->json); });
  }
  {
    auto a = std::make_shared<RunArgs>();
    auto* cmd = AddRunCommand(al, "report", "rewrite report.md, results.json, results.tsv and plots/ from the ledger",
                              a, "one JSON object: run_dir, report_md, results_json, results_tsv, plots");
    cmd->callback([a] { RunReport(a->run, a->json); });
  }
}

}  // namespace dsx::cmd
