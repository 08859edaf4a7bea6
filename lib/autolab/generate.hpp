// The generators and the Planner: what to run next, as a list of candidates.
//
// - Sweep: grid (the cartesian product, parameters in the plan's order: by name) or random (`samples`
//   configurations from a portable PRNG seeded by the plan: xoshiro256** seeded through splitmix64,
//   mapped to numbers with our own arithmetic, never std::*_distribution, whose output differs
//   between standard libraries: one plan yields the same experiments on every machine).
// - Evolve: Karpathy's keep-or-revert loop. The first step is the baseline (the plan's base
//   parameters, no patch); each later step is the next untried hypothesis applied on top of the
//   best so far (its overrides merged into the best's parameters, its patch stacked after the
//   best's patches). A hypothesis that won becomes part of the best; one that lost is reverted:
//   it is in no later candidate.
// - Repeats: each configuration becomes Objective::repeats candidates with seeds 0 .. repeats-1
//   (seed base 0: every configuration sees the same seeds, so configurations are compared on equal
//   terms), kept next to each other.
// - PlanQueue (the Planner): drops anything already run or queued, keeps the generator's order and
//   a configuration's repeats together, and truncates to the budget.
//
// Continuous values drawn or spaced by the generators are rounded to 6 significant digits: they read
// well in reports and command lines, and a last-bit difference between two libms' exp/log cannot
// change an experiment's parameters (grid end points are kept exactly as written).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autolab/plan.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

// One experiment to run: a configuration (parameters + patches) and a seed.
struct Candidate {
  nlohmann::json params = nlohmann::json::object();  // name -> value (object keys sorted)
  std::int64_t seed = 0;
  std::string patch;                 // the patches below joined (each ends with a newline): display, keys
  std::vector<std::string> patches;  // the unified diffs to apply, in order (evolve stacks them)
  std::string hypothesis;            // evolve: the hypothesis id ("baseline" first); sweep: ""
  std::string rationale;             // evolve: the hypothesis's one line
  std::string config_key;            // ConfigKey(params, patch) of ledger.hpp: one per configuration
  std::string id;                    // ExperimentId(params, seed, patch) of ledger.hpp: one per experiment
};

// A candidate with config_key and id filled in from its params, patches and seed.
Candidate MakeCandidate(nlohmann::json params, std::vector<std::string> patches, std::int64_t seed,
                        std::string hypothesis = "", std::string rationale = "");

// A small portable PRNG (xoshiro256**, seeded through splitmix64): the same numbers everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t Next();
  double Uniform01();                                         // [0, 1), 53 random bits
  std::int64_t UniformInt(std::int64_t lo, std::int64_t hi);  // [lo, hi], unbiased (rejection)

 private:
  std::uint64_t s_[4];
};

// A double rounded to `digits` significant digits (printf's correctly rounded %.*g, read back).
double RoundSignificant(double v, int digits = 6);

// Every configuration of the plan's sweep, each repeated Objective::repeats times. kUsage when the
// plan has no sweep or a parameter cannot be expanded (a grid range without a count).
Result<std::vector<Candidate>> ExpandSweep(const Plan& plan);

// Where the keep-or-revert loop stands: built by the caller from the ledger.
struct HypothesisOutcome {
  std::string id;
  bool won = false;
};
struct EvolveState {
  bool baseline_done = false;
  std::map<std::string, nlohmann::json> best_params;  // ignored until baseline_done: the plan's base then
  std::vector<std::string> best_patches;              // the winners' patches, in the order they won
  std::vector<HypothesisOutcome> tried;               // in the order they were decided
};

// The state a fresh run starts from (nothing tried, the baseline still to run).
EvolveState InitialEvolveState(const Plan& plan);
// The state after `hypothesis_id` was decided: a win merges its overrides and stacks its patch into the
// best; a loss only records it (reverted). The baseline's id is "baseline".
EvolveState RecordOutcome(const Plan& plan, EvolveState state, const std::string& hypothesis_id, bool won);

// The next step's candidates (one per seed), or nullopt when the baseline and every hypothesis were tried
// (or the plan has no evolve section). A hypothesis that changes nothing (its overrides equal the best's,
// no patch) yields the ids of the best's own experiments: PlanQueue drops them, and the caller records it
// as tried (not won) from what the ledger already holds for those ids.
std::optional<std::vector<Candidate>> NextEvolveStep(const Plan& plan, const EvolveState& state);

// The Planner. Drops candidates whose id is in already_known_ids (run, running or queued) or repeats
// one earlier in `proposed`; keeps the order (sweeps: grid order, and a random sweep's order is
// already unbiased; evolve: one step at a time), with a configuration's repeats (same config_key)
// together; then keeps whole configurations while they fit budget_left, dropping one whose remaining
// repeats do not all fit (a note for each says so) and going on with smaller ones that do.
std::vector<Candidate> PlanQueue(std::vector<Candidate> proposed, const std::set<std::string>& already_known_ids,
                                 int budget_left, std::vector<std::string>* notes = nullptr);

// Applies one unified diff (-p1) to the files under workdir with GNU patch, run without a shell, the
// diff on its stdin. A --dry-run first: a patch that does not apply changes nothing and is kFailed with
// patch's own message. Returns patch's output. An empty patch is a no-op.
Result<std::string> ApplyPatch(const std::string& workdir, const std::string& patch_text);
// Applies several in order, all or nothing: when one fails, those applied before it are reversed.
Result<std::string> ApplyPatches(const std::string& workdir, const std::vector<std::string>& patches);

}  // namespace dsx::autolab
