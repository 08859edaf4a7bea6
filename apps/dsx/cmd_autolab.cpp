// dsx autolab: the research loop (issue 14). `validate PLAN [--json]` checks a plan and prints every
// problem with its line and column, or how many experiments it describes. The loop itself (run,
// status, stop, pause, resume, report) builds on lib/autolab and is not wired here yet. Logic lives
// in lib/autolab; this file parses flags and prints. Output shapes and exit codes: man dsx-autolab.
#include <cstdio>
#include <memory>
#include <string>

#include "autolab/plan.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "core/fs.hpp"

namespace dsx::cmd {
namespace {

namespace al = dsx::autolab;

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
  auto text = dsx::fs::ReadFile(path);
  if (!text.ok()) {
    const Status st = Status::NotFound("cannot read plan " + path + ": " + text.status().message());
    if (as_json) {
      cli::PrintJson({{"ok", false},
                      {"errors", nlohmann::json::array({{{"line", 0}, {"column", 0}, {"message", st.message()}}})}});
      cli::SetExit(static_cast<int>(Code::kNotFound));
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

}  // namespace

void register_autolab(CLI::App& app) {
  auto* al = app.add_subcommand("autolab", "research loop: plans of experiments, ranked by a verifiable metric");
  al->require_subcommand(1);

  auto* validate = al->add_subcommand("validate", "check a plan: every error with line and column (exit 2)");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  validate->add_option("PLAN", *path, "the plan's YAML file")->required();
  validate->add_flag("--json", *as_json, "one JSON object: ok, errors [{line, column, message}], experiments");
  validate->callback([path, as_json] { RunValidate(*path, *as_json); });
}

}  // namespace dsx::cmd
