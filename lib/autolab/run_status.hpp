// What `dsx autolab status RUN` shows: a summary of one run computed from its ledger alone (and the
// plan it ran, for the ranking), so it is right from any shell, while a run is going or after it
// ended or was killed: the control request, who holds the lease and whether that process is still
// alive, how many experiments are in each state, which are running, the best configuration so far
// (mean +- CI over its repeats, standings.hpp) and the budget used. Reading never writes: status is
// safe next to a running driver (the ledger is WAL: readers do not block it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autolab/control.hpp"
#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "autolab/run_lease.hpp"
#include "autolab/stats.hpp"
#include "core/clock.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

struct RunningExperiment {
  std::string id, job_id, host;
  std::int64_t pid = 0, started_ms = 0;
  int attempts = 0;
  nlohmann::json params = nlohmann::json::object();
  std::int64_t seed = 0;
};

struct BestSoFar {
  std::string id;  // the representative experiment the ledger promotes
  std::string config_key;
  nlohmann::json params = nlohmann::json::object();
  std::string hypothesis;
  Summary summary;  // over the configuration's finished repeats
};

struct RunStatus {
  std::string run_dir;
  std::string plan_name, plan_hash;  // "" when unknown
  std::string metric;                // the objective's metric ("" without a plan)
  bool maximize = false;
  Control control = Control::kRun;
  std::optional<LeaseInfo> lease;          // the current holder, expired or not
  bool lease_alive = false;                // the holder drives the run now (see LeaseAlive)
  std::map<std::string, int> counts;       // every ExpState name (zeros included) -> experiments
  int total = 0;                           // experiments in the ledger (each counts against the budget)
  int max_experiments = 0;                 // the plan's budget (0 without a plan)
  std::int64_t wall_clock_s = 0;           // the plan's wall-clock budget (0 = none or no plan)
  std::int64_t started_ms = 0;             // when the run first started (ledger meta; 0 = never)
  std::vector<RunningExperiment> running;  // by seq
  std::optional<BestSoFar> best;           // the promotion chain's winner (standings.hpp)
  std::string promoted_id;                 // the ledger's promoted experiment ("" = none)
};

// Whether a lease holder is alive: on this host, its pid runs with the recorded start time (a
// recycled pid does not count); on another host (nothing to check), its lease has not expired by
// `now_ms`. The same rule RunLease::Acquire uses to refuse a takeover.
bool LeaseAlive(const LeaseInfo& lease, const std::string& this_host, std::int64_t now_ms);

// The summary of the run in `run_dir` (which holds a ledger). `plan` is the plan it ran (run_plan.hpp
// LoadRunPlan), or nullptr when unknown: then the ranking, metric and budget are left out. Plan name,
// hash and start time come from the ledger's meta ("plan_name", "plan_hash", "started_ms": written
// by the driver) when present, else the name and hash from `plan`.
Result<RunStatus> ReadRunStatus(const std::string& run_dir, Ledger& ledger, const Plan* plan, Clock& clock);

// `dsx autolab status --json` (shape in docs/autolab.md, STATUS).
nlohmann::json ToJson(const RunStatus& s);
// The text form: a few lines for a person.
std::string FormatRunStatus(const RunStatus& s, std::int64_t now_ms);

}  // namespace dsx::autolab
