// The AutoLab plan schema: a full plan parses into the right struct; each kind of mistake gives its
// own "file:line:col: message"; several mistakes are all reported, sorted by place; PlanHash depends
// on the values and not on the YAML's key order.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "autolab/plan.hpp"

namespace al = dsx::autolab;
namespace stdfs = std::filesystem;

namespace {

const char* kSweepPlan = R"Y(name: digits
objective:
  metric: val_loss
  direction: minimize
  margin: 0.01
  repeats: 3
  confidence: 0.9
budget:
  max_experiments: 60
  max_parallel: 2
  wall_clock: 2h
  experiment_timeout: 300
  max_cost_usd: 0
experiment:
  command: python3 train.py --lr {lr} --width {width} --alpha {alpha} --seed {seed} --out {workdir}
  env:
    OMP_NUM_THREADS: "1"
  metric:
    source: json_lines
    intermediate_key: step
  pruning:
    median_stopping: true
    min_steps: 5
sweep:
  mode: grid
  params:
    width: [32, 64, 128]
    lr: {type: loguniform, low: 0.001, high: 0.1, count: 3}
    alpha: {type: choice, values: [0.0, 1e-4]}
backend: local
resources:
  cpus: 2
)Y";

// Errors of a plan, as "line:col: message" lines (the path left out).
std::string Errors(const std::string& yaml) {
  auto check = al::CheckPlan(yaml, "plan.yaml");
  std::string out;
  for (const auto& e : check.errors)
    out += std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message + "\n";
  return out;
}

// text with the first `from` replaced by `to` (built by concatenation: GCC 12's -Wrestrict misfires
// on std::string::replace here).
std::string Swap(const std::string& text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.substr(0, at) + to + text.substr(at + from.size());
}

// A minimal valid plan with one line replaced or added, for the one-mistake cases.
std::string Minimal(const std::string& budget_extra = "", const std::string& tail = "") {
  return "objective:\n  metric: loss\n  direction: minimize\nbudget:\n  max_experiments: 4\n  experiment_timeout: "
         "60\n" +
         budget_extra + "experiment:\n  command: run --lr {lr}\nsweep:\n  params:\n    lr: [1, 2]\n" + tail;
}

}  // namespace

TEST_CASE("a full sweep plan parses to the right struct") {
  auto r = al::ParsePlan(kSweepPlan, "/tmp/x/digits.yaml");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  const al::Plan& p = *r;
  CHECK(p.name == "digits");
  CHECK(p.dir == "/tmp/x");
  CHECK(p.objective.metric == "val_loss");
  CHECK_FALSE(p.objective.maximize);
  CHECK(p.objective.margin == doctest::Approx(0.01));
  CHECK(p.objective.repeats == 3);
  CHECK(p.objective.confidence == doctest::Approx(0.9));
  CHECK(p.budget.max_experiments == 60);
  CHECK(p.budget.max_parallel == 2);
  CHECK(p.budget.wall_clock_s == 7200);
  CHECK(p.budget.experiment_timeout_s == 300);
  CHECK(p.experiment.env.at("OMP_NUM_THREADS") == "1");
  CHECK(p.experiment.metric.kind == al::MetricSource::kJsonLines);
  CHECK(p.experiment.metric.intermediate_key == "step");
  CHECK(p.experiment.pruning.median_stopping);
  CHECK(p.experiment.pruning.min_steps == 5);
  REQUIRE(p.sweep);
  CHECK(p.sweep->mode == al::Sweep::kGrid);
  REQUIRE(p.sweep->params.size() == 3);
  CHECK(p.sweep->params[0].name == "alpha");  // sorted by name
  CHECK(p.sweep->params[0].kind == al::Param::kChoice);
  CHECK(p.sweep->params[0].values[1].get<double>() == doctest::Approx(1e-4));
  CHECK(p.sweep->params[1].name == "lr");
  CHECK(p.sweep->params[1].kind == al::Param::kLogUniform);
  CHECK(p.sweep->params[1].count == 3);
  CHECK(p.sweep->params[2].kind == al::Param::kGrid);
  CHECK(p.sweep->params[2].values[2] == 128);
  CHECK_FALSE(p.evolve);
  CHECK(p.backend == "local");
  CHECK(p.resources.cpus == 2);
  CHECK(al::CountConfigurations(p) == 18);
  CHECK(al::CountExperiments(p) == 54);
}

TEST_CASE("an evolve plan with overrides, an inline patch and a patch file") {
  auto dir = stdfs::temp_directory_path() / ("autolab_plan_test_" + std::to_string(::getpid()));
  stdfs::create_directories(dir);
  std::ofstream(dir / "width.patch") << "--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-w=1\n+w=2\n";
  std::ofstream(dir / "train.py") << "w=1\n";
  std::ofstream(dir / "notes.md") << "# notes\n";
  // clang-format off
  const std::string yaml = R"Y(objective: {metric: bpb, direction: minimize}
budget: {max_experiments: 10, experiment_timeout: 5m}
experiment:
  command: python3 train.py --lr {lr}
  files: [train.py]
  git_worktree: false
  metric: {source: regex, regex: "bpb=([0-9.]+)"}
evolve:
  base: {lr: 0.01}
  hypotheses:
    - id: higher-lr
      rationale: faster
      overrides: {lr: 0.03}
    - id: wider
      patch: width.patch
    - id: inline
      patch: |
        --- a/train.py
        +++ b/train.py
researcher: {provider: openai, model: m, goal: lower bpb, notes: [notes.md]}
)Y";
  // clang-format on
  auto r = al::ParsePlan(yaml, (dir / "tiny.yaml").string());
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  REQUIRE(r->evolve);
  REQUIRE(r->evolve->hypotheses.size() == 3);
  CHECK(r->evolve->hypotheses[0].overrides.at("lr").get<double>() == doctest::Approx(0.03));
  CHECK(r->evolve->hypotheses[1].patch.find("+w=2") != std::string::npos);  // the file's content
  CHECK(r->experiment.metric.kind == al::MetricSource::kRegex);
  CHECK(r->budget.experiment_timeout_s == 300);
  REQUIRE(r->researcher);
  CHECK(r->researcher->notes == std::vector<std::string>{"notes.md"});
  CHECK(al::CountConfigurations(*r) == 4);

  // A missing patch file and a missing working file are reported at their lines.
  stdfs::remove(dir / "width.patch");
  stdfs::remove(dir / "train.py");
  std::string errs = al::FormatErrors("p", al::CheckPlan(yaml, (dir / "tiny.yaml").string()).errors);
  INFO(errs);
  CHECK(errs.find(":5:11: experiment.files[0]: 'train.py' does not exist") != std::string::npos);
  CHECK(errs.find(":15:14: evolve.hypotheses[1].patch: cannot read 'width.patch'") != std::string::npos);
  stdfs::remove_all(dir);
}

TEST_CASE("wrong types are reported with line, column and the value") {
  CHECK(Errors(Minimal("  max_parallel: two\n")) ==
        "7:17: budget.max_parallel must be a positive integer (got 'two')\n");
  CHECK(Errors(Minimal("  max_parallel: -1\n")) == "7:17: budget.max_parallel must be a positive integer (got '-1')\n");
  CHECK(Errors(Minimal("  max_cost_usd: lots\n")) ==
        "7:17: budget.max_cost_usd must be a non-negative number (got 'lots')\n");
  CHECK(Errors(Minimal("  wall_clock: 3 weeks\n")) ==
        "7:15: budget.wall_clock must be a non-negative duration: seconds, or a number with s, m, h or d (got '3 "
        "weeks')\n");
  CHECK(Errors(Minimal("", "experiment2: 1\n")).find("unknown key 'experiment2'") != std::string::npos);
  std::string yaml = Minimal();
  yaml = Swap(yaml, "command: run --lr {lr}", "command: [a, b]");
  CHECK(Errors(yaml) == "8:12: experiment.command must be a non-empty string (got a list)\n");
  CHECK(Errors(Minimal("", "resources: {gpus: many}\n")) ==
        "12:19: resources.gpus must be a non-negative integer (got 'many')\n");
  CHECK(Errors(Minimal("", "backend: local\nexperiment_x: 1\n")).find("13:1: unknown key 'experiment_x'") !=
        std::string::npos);
  yaml = Minimal() + "evolve: 3\n";
  CHECK(Errors(yaml).find("12:9: evolve must be a mapping (got '3')") != std::string::npos);
  yaml = Minimal();
  yaml = Swap(yaml, "experiment:\n", "experiment:\n  git_worktree: maybe\n");
  CHECK(Errors(yaml) == "8:17: experiment.git_worktree must be true or false (got 'maybe')\n");
  CHECK(Errors(Minimal("", "session_server: ftp://x\n")) ==
        "12:17: session_server must be an http:// or https:// URL (got 'ftp://x')\n");
}

TEST_CASE("an unknown key one edit away gets a suggestion") {
  CHECK(Errors(Minimal("  max_parallel: 1\n  max_parallel: 2\n")) ==
        "8:3: 'budget.max_parallel' is given twice (first at line 7)\n");
  CHECK(Errors(Minimal("", "    k: {type: int, low: 1, high: 3, count: 4}\n")) ==
        "12:44: sweep.params.k.count is more than the 3 integers in [low, high]\n");
  CHECK(Errors(Minimal("  max_paralel: 2\n")) ==
        "7:3: unknown key 'budget.max_paralel': did you mean 'max_parallel'?\n");
  CHECK(Errors(Minimal("  colour: 2\n")) == "7:3: unknown key 'budget.colour'\n");
}

TEST_CASE("a missing metric, a bad enum word and an impossible budget") {
  std::string yaml = Minimal();
  yaml = Swap(yaml, "  metric: loss\n", "");
  CHECK(Errors(yaml) == "1:1: objective.metric is required (the metric's key, such as val_loss)\n");
  yaml = Minimal();
  yaml = Swap(yaml, "minimize", "minimise");
  CHECK(Errors(yaml) ==
        "3:14: objective.direction must be one of minimize, maximize (got 'minimise'): did you mean 'minimize'?\n");
  yaml = Minimal();
  yaml = Swap(yaml, "direction: minimize\n", "direction: minimize\n  repeats: 5\n");
  CHECK(Errors(yaml) ==
        "6:20: budget.max_experiments (4) is less than objective.repeats (5): not even one configuration can be "
        "measured\n");
  yaml = Minimal();
  yaml = Swap(yaml, "max_experiments: 4", "max_experiments: 0");
  CHECK(Errors(yaml) == "5:20: budget.max_experiments must be a positive integer (got '0')\n");
  yaml = Minimal();
  yaml = Swap(yaml, "  experiment_timeout: 60\n", "");
  CHECK(Errors(yaml) == "4:1: budget.experiment_timeout is required (a hung experiment must be killed)\n");
}

TEST_CASE("placeholders that name no parameter") {
  std::string yaml = Minimal();
  yaml = Swap(yaml, "{lr}", "{lr} {seed} {workdir} {{literal}} {lrr}");
  CHECK(Errors(yaml) ==
        "8:12: experiment.command: {lrr} names no parameter (known: lr, seed, workdir): did you mean '{lr}'?\n");
  CHECK(al::CommandPlaceholders("a {x} {{y}} {x} {seed}") == std::vector<std::string>{"x", "seed"});
  yaml = Minimal();
  yaml = Swap(yaml, "{lr}", "{lr} 'unterminated");
  CHECK(Errors(yaml).rfind("8:12: experiment.command: ", 0) == 0);  // does not split: refused here
  CHECK(Errors(Minimal("", "    seed: [1, 2]\n")) ==
        "12:5: sweep.params: 'seed' is a built-in placeholder, not a parameter name\n");
}

TEST_CASE("generators: both sweep and evolve, none, random without samples") {
  CHECK(Errors(Minimal("", "evolve:\n  base: {lr: 1}\n  hypotheses: [{id: a, overrides: {lr: 2}}]\n")) ==
        "12:1: a plan has sweep or evolve, not both (sweep is at line 9)\n");
  std::string yaml =
      "objective: {metric: m, direction: minimize}\nbudget: {max_experiments: 1, experiment_timeout: 1}\n"
      "experiment: {command: x}\n";
  CHECK(Errors(yaml) == "1:1: a plan needs a generator: sweep, evolve (hypotheses), or researcher\n");
  yaml = Minimal();
  yaml = Swap(yaml, "sweep:\n", "sweep:\n  mode: random\n");
  CHECK(Errors(yaml) == "9:1: sweep.samples is required with mode: random\n");
  CHECK(Errors(Minimal("", "    mu: {type: uniform, low: 1, high: 0, count: 2}\n")) ==
        "12:5: sweep.params.mu: low must be less than high\n");
  CHECK(Errors(Minimal("", "    mu: {type: uniform, low: 0, high: 1}\n")) ==
        "12:5: sweep.params.mu.count is required in a grid sweep (points over [low, high])\n");
}

TEST_CASE("evolve hypotheses: overrides must name base parameters, ids unique, one change each") {
  const std::string head =
      "objective: {metric: m, direction: maximize}\nbudget: {max_experiments: 5, experiment_timeout: 9}\n"
      "experiment: {command: \"run {lr}\"}\nevolve:\n  base: {lr: 1}\n  hypotheses:\n";
  CHECK(Errors(head + "    - {id: a, overrides: {lt: 2}}\n") ==
        "7:27: evolve.hypotheses[0].overrides: 'lt' is not a parameter of evolve.base: did you mean 'lr'?\n");
  CHECK(Errors(head + "    - {id: a, overrides: {lr: 2}}\n    - {id: a, overrides: {lr: 3}}\n") ==
        "8:12: evolve.hypotheses: id 'a' is used twice\n");
  CHECK(Errors(head + "    - {id: a, rationale: nothing}\n") ==
        "7:7: evolve.hypotheses[0] needs overrides or a patch (one change)\n");
  CHECK(Errors(head + "    - {id: a, patch: \"not a diff\\n\"}\n") ==
        "7:22: evolve.hypotheses[0].patch is not a unified diff (no '--- ' and '+++ ' lines)\n");
}

TEST_CASE("several errors at once are all reported, sorted by line") {
  const std::string yaml =
      "objective:\n  direction: sideways\nbudget:\n  max_experiments: x\n  max_parallel: 0\n"
      "  experiment_timeout: 1\nexperiment:\n  command: run {nope}\n  metric: {source: csv}\n"
      "sweep:\n  params:\n    lr: []\n  bogus: 1\n";
  auto check = al::CheckPlan(yaml, "plan.yaml");
  REQUIRE(check.errors.size() == 8);
  for (size_t i = 1; i < check.errors.size(); ++i) CHECK(check.errors[i - 1].line <= check.errors[i].line);
  const std::string text = al::FormatErrors("plan.yaml", check.errors);
  CHECK(text.rfind("plan.yaml:1:1: objective.metric is required", 0) == 0);
  CHECK(text.find("plan.yaml:2:14: objective.direction must be one of") != std::string::npos);
  CHECK(text.find("plan.yaml:4:20: budget.max_experiments must be a positive integer (got 'x')") != std::string::npos);
  CHECK(text.find("plan.yaml:5:17: budget.max_parallel") != std::string::npos);
  CHECK(text.find("plan.yaml:8:12: experiment.command: {nope} names no parameter") != std::string::npos);
  CHECK(text.find("plan.yaml:9:20: experiment.metric.source must be one of") != std::string::npos);
  CHECK(text.find("plan.yaml:12:5: sweep.params.lr must list at least one value") != std::string::npos);
  CHECK(text.find("plan.yaml:13:3: unknown key 'sweep.bogus'") != std::string::npos);
  auto r = al::ParsePlan(yaml, "plan.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kUsage);
  CHECK(r.status().message() == text);
}

TEST_CASE("invalid YAML and missing files") {
  CHECK(Errors("objective: [1,\n").rfind("2:1: not valid YAML", 0) == 0);
  auto r = al::LoadPlan("/nonexistent/autolab/plan.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kNotFound);
}

TEST_CASE("PlanHash: the same with keys in another order, different with another value") {
  const std::string reordered = R"Y(backend: local
resources: {cpus: 2}
sweep:
  params:
    alpha: {values: [0.0, 0.0001], type: choice}
    lr: {count: 3, high: 0.1, low: 1.0e-3, type: loguniform}
    width: [32, 64, 128]
  mode: grid
experiment:
  pruning: {min_steps: 5, median_stopping: true}
  metric: {intermediate_key: step, source: json_lines}
  env: {OMP_NUM_THREADS: "1"}
  command: python3 train.py --lr {lr} --width {width} --alpha {alpha} --seed {seed} --out {workdir}
budget: {max_cost_usd: 0, experiment_timeout: 5m, wall_clock: 7200, max_parallel: 2, max_experiments: 60}
objective: {confidence: 0.9, repeats: 3, margin: 0.01, direction: minimize, metric: val_loss}
name: digits
)Y";
  auto a = al::ParsePlan(kSweepPlan, "/a/digits.yaml");
  auto b = al::ParsePlan(reordered, "/elsewhere/other.yaml");
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  REQUIRE_MESSAGE(b.ok(), b.status().message());
  CHECK(al::ToJson(*a) == al::ToJson(*b));
  CHECK(al::PlanHash(*a) == al::PlanHash(*b));
  CHECK(al::PlanHash(*a).size() == 64);
  std::string changed = kSweepPlan;
  changed = Swap(changed, "max_parallel: 2", "max_parallel: 3");
  auto c = al::ParsePlan(changed, "/a/digits.yaml");
  REQUIRE(c.ok());
  CHECK(al::PlanHash(*a) != al::PlanHash(*c));
}

TEST_CASE("a plan naming /dev/zero (as the plan or as a patch) gets an error, not a hang") {
  auto big = al::LoadPlan("/dev/zero");
  REQUIRE(!big.ok());
  CHECK(big.status().message().find("larger than") != std::string::npos);
  const std::string yaml = R"Y(objective: {metric: bpb, direction: minimize}
budget: {max_experiments: 10, experiment_timeout: 5m}
experiment:
  command: python3 train.py --lr {lr}
evolve:
  base: {lr: 0.01}
  hypotheses:
    - id: zero
      patch: /dev/zero
)Y";
  auto check = al::CheckPlan(yaml, "/tmp/plan.yaml");
  REQUIRE(!check.plan);
  bool found = false;
  for (const auto& e : check.errors)
    if (e.message.find("cannot read '/dev/zero'") != std::string::npos) found = e.line == 9;
  CHECK(found);
}

TEST_CASE("a plan that is not UTF-8 is refused at the first bad byte (found by fuzzing: its hash threw)") {
  const std::string yaml =
      "name: x\nobjective: {metric: l, direction: minimize}\n"
      "budget: {max_experiments: 2, experiment_timeout: 5}\n"
      "experiment: {command: \"run {x} \xA4{seed}\"}\nsweep: {params: {x: [1, 2]}}\n";
  auto check = al::CheckPlan(yaml, "/tmp/plan.yaml");
  REQUIRE(!check.plan);
  REQUIRE(check.errors.size() == 1);
  CHECK(check.errors[0].line == 4);
  CHECK(check.errors[0].column == 32);
  CHECK(check.errors[0].message.find("not valid UTF-8 (byte 0xA4)") != std::string::npos);
}

TEST_CASE("a patch file that is not UTF-8 is an error on its line") {
  auto dir = stdfs::temp_directory_path() / ("autolab_plan_latin1_" + std::to_string(::getpid()));
  stdfs::create_directories(dir);
  std::ofstream(dir / "l1.patch") << "--- a/t.py\n+++ b/t.py\n@@ -1 +1 @@\n-a\n+caf\xE9\n";
  const std::string yaml = R"Y(objective: {metric: bpb, direction: minimize}
budget: {max_experiments: 10, experiment_timeout: 5m}
experiment:
  command: python3 t.py --lr {lr}
evolve:
  base: {lr: 0.01}
  hypotheses:
    - id: latin1
      patch: l1.patch
)Y";
  auto check = al::CheckPlan(yaml, (dir / "plan.yaml").string());
  stdfs::remove_all(dir);
  REQUIRE(!check.plan);
  REQUIRE(check.errors.size() == 1);
  CHECK(check.errors[0].line == 9);
  CHECK(check.errors[0].message.find("not valid UTF-8") != std::string::npos);
}
