// An AutoLab plan: the YAML file that says what to measure (objective), how much to spend (budget),
// how to run one experiment (experiment), and where configurations come from (sweep, evolve and/or
// researcher). ParsePlan checks the whole file and reports EVERY problem with its line and column,
// so a person or a coding agent fixes a plan in one pass; the schema is documented in
// man/dsx-autolab.1 and docs/autolab.md, and those are the reference for each key.
//
// ToJson/PlanHash give the plan a canonical identity: the ledger stores the hash so a run folder is
// never continued with a different plan. Key order in the YAML and the plan's location on disk do
// not change the hash; any value (or a patch file's content) does, except where results are sent
// (session_server, publish): those do not change what the experiments are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "autolab/publish_config.hpp"
#include "core/status.hpp"
#include "jobs/job.hpp"

namespace dsx::autolab {

struct Objective {
  std::string metric;        // the key read from the experiment's metrics ("val_loss")
  bool maximize = false;     // YAML: direction: minimize | maximize
  double margin = 0;         // promotion: the new mean must beat the best mean by at least this
  int repeats = 1;           // seeds per configuration (seed = 0 .. repeats-1, passed as {seed})
  double confidence = 0.95;  // for the confidence interval over repeats, in (0, 1)
};

struct Budget {
  int max_experiments = 0;                // required, > 0: experiments (configuration x seed) in all
  int max_parallel = 1;                   // workers at once; may exceed max_experiments (then capped)
  std::int64_t wall_clock_s = 0;          // 0 = none: no new experiment starts after this
  std::int64_t experiment_timeout_s = 0;  // required, > 0: the process tree is killed after this
  double max_cost_usd = 0;                // 0 = none (paid backends only)
};

struct Param {
  enum Kind { kGrid, kChoice, kUniform, kLogUniform, kInt };
  std::string name;
  Kind kind = kGrid;
  std::vector<nlohmann::json> values;  // kGrid, kChoice
  double low = 0, high = 0;            // kUniform, kLogUniform, kInt (inclusive)
  int count = 0;                       // grid mode only, ranges: points spread over [low, high] (log-spaced for
                                       // kLogUniform); 0 for kInt = every integer. Random mode ignores it.
};

struct Sweep {
  enum Mode { kGrid, kRandom };
  Mode mode = kGrid;
  std::vector<Param> params;  // sorted by name (the YAML's order does not matter)
  int samples = 0;            // kRandom: configurations drawn (required there, > 0)
  std::uint64_t seed = 0;     // kRandom: the sampler's seed (same seed, same configurations)
};

struct Hypothesis {
  std::string id;                                   // unique within the plan ("h1", "cosine-lr")
  std::string rationale;                            // one line, for the report
  std::map<std::string, nlohmann::json> overrides;  // keys must be in Evolve::base
  std::string patch;  // unified diff text; a path to a .patch file (relative to the plan's folder)
                      // is read at load, so this always holds the diff itself (or "")
};

struct Evolve {
  std::vector<Hypothesis> hypotheses;          // tried in this order against the best so far
  std::map<std::string, nlohmann::json> base;  // the starting parameters (the baseline)
};

struct MetricSource {
  enum Kind { kJsonLines, kFile, kRegex };
  Kind kind = kJsonLines;        // YAML: source: json_lines | file | regex
  std::string file;              // kFile: path relative to {workdir}, holding one JSON object
  std::string regex;             // kRegex: ECMAScript, exactly one capture group (the value)
  std::string intermediate_key;  // kJsonLines: the step key of intermediate lines ("step"), "" = none
};

struct Pruning {
  bool median_stopping = false;  // stop an experiment whose metric at step s is worse than the
                                 // median of finished experiments at s
  int min_steps = 0;             // grace: never stop before this step
};

struct Experiment {
  std::string
      command;  // split like a shell's simple command, no shell (command_template.hpp); {param}, {workdir}, {seed}
  std::vector<std::string> files;  // copied into each experiment's folder (relative to the plan's folder)
  bool git_worktree = false;       // check out a git worktree of the plan's repository per experiment
  std::map<std::string, std::string> env;
  MetricSource metric;
  Pruning pruning;
};

struct Researcher {
  std::string provider, model;     // the project's LLM client (lib/llm)
  std::string goal;                // what the researcher is asked to improve
  std::vector<std::string> notes;  // files (relative to the plan's folder) it reads and cites
};

struct Plan {
  std::string name;  // default: the file's stem
  std::string path;  // the file it came from (not part of ToJson)
  std::string dir;   // its folder (not part of ToJson): files, notes and patches are relative to it
  Objective objective;
  Budget budget;
  Experiment experiment;
  std::optional<Sweep> sweep;
  std::optional<Evolve> evolve;
  std::optional<Researcher> researcher;
  std::string backend = "local";  // "local" | "slurm" | "hf" (the jobs layer)
  jobs::Resources resources;
  std::string session_server;  // "" = none: where progress is published as autolab/<run>
  PublishConfig publish;       // where metrics also go (a Hub dataset, a trackio project); none by default
};

// Bounds on what a plan reads (a plan names files: a patch: /dev/zero must not hang validation).
inline constexpr std::size_t kMaxPlanBytes = 4 << 20;        // the plan's YAML (and plan.json)
inline constexpr std::size_t kMaxPatchFileBytes = 16 << 20;  // one hypothesis's .patch file

// One problem in a plan; line and column are 1-based (0 when the problem has no place, such as an
// unreadable file).
struct PlanError {
  int line = 0;
  int column = 0;
  std::string message;
};

// Everything ParsePlan found: the plan when there were no errors, else every error sorted by place.
struct PlanCheck {
  std::optional<Plan> plan;
  std::vector<PlanError> errors;
};

// The whole check. path_for_errors also sets Plan::path/dir (notes, files and patches are found
// relative to its folder).
PlanCheck CheckPlan(std::string_view yaml_text, const std::string& path_for_errors);
// As CheckPlan; kUsage with one "plan.yaml:12:5: message" line per error when there were any.
Result<Plan> ParsePlan(std::string_view yaml_text, const std::string& path_for_errors);
// Reads the file (kNotFound when it does not exist) and parses it.
Result<Plan> LoadPlan(const std::string& path);
// "plan.yaml:12:5: message" lines, one per error, sorted by place.
std::string FormatErrors(const std::string& path, const std::vector<PlanError>& errors);

// Configurations the generators produce: the product of the grid's value counts, the random
// sweep's samples, or evolve's hypotheses + 1 baseline; 0 when only the researcher proposes them
// (known at run time). Experiments = configurations x repeats (before the budget caps them).
std::int64_t CountConfigurations(const Plan& plan);
std::int64_t CountExperiments(const Plan& plan);

// Canonical JSON (object keys sorted; path, dir and publish left out) and the sha256 (64 hex digits)
// of it without session_server (PlanHash).
nlohmann::json ToJson(const Plan& plan);
std::string PlanHash(const Plan& plan);

// Names of the {placeholders} in a command template, in order, without duplicates ("{{" and "}}"
// are literal braces): autolab::Placeholders of command_template.hpp, which the workers expand with.
std::vector<std::string> CommandPlaceholders(std::string_view command);

}  // namespace dsx::autolab
