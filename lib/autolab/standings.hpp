// Standings: the ranking and the promotion decision, computed from the ledger's records alone. The
// driver applies them (Ledger::Promote) and the reporter prints them, so both always agree, and the
// result depends only on the set of finished experiments, never on the order in which they finished
// (a run interrupted and resumed promotes the same winner as one that was not).
//
// Promotion chain: complete configurations (every repeat terminal) in order of proposal; the first
// with values is the baseline; each later one replaces the best only when DecidePromotion says so
// (the plan's margin, judged on the confidence interval over repeats).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "autolab/stats.hpp"

namespace dsx::autolab {

struct ConfigStanding {
  std::string config_key;
  std::string representative_id;  // its first-proposed finished experiment (the one the ledger
                                  // promotes); the first-proposed one while none has finished
  std::int64_t first_seq = 0;
  nlohmann::json params = nlohmann::json::object();
  std::string patch;
  std::string hypothesis, rationale;
  std::vector<std::string> ids;                            // its experiments, by seq
  std::vector<double> values;                              // metrics of its finished repeats, by seq
  Summary summary;                                         // over values (n == 0: none finished)
  int failed = 0, pruned = 0, cancelled = 0, pending = 0;  // pending: proposed, queued or running
  bool complete = false;                                   // pending == 0
};

struct PromotionStep {
  std::string config_key;
  PromotionDecision decision;  // promote = it became the best
};

struct Standings {
  std::vector<ConfigStanding> ranked;      // Rank(): best mean first; no values last
  std::vector<PromotionStep> chain;        // one step per complete configuration, in proposal order
  std::optional<std::string> best_config;  // the chain's last winner
  std::optional<std::string> best_id;      // its representative experiment
};

Standings ComputeStandings(const Plan& plan, const std::vector<ExperimentRecord>& records);

// The standing of one configuration in `s` (nullptr when unknown).
const ConfigStanding* FindConfig(const Standings& s, const std::string& config_key);

}  // namespace dsx::autolab
