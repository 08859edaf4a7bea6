// Ranking and the promotion chain from ledger records (standings.hpp).
#include "autolab/standings.hpp"

#include <algorithm>
#include <map>

namespace dsx::autolab {

Standings ComputeStandings(const Plan& plan, const std::vector<ExperimentRecord>& records) {
  std::vector<const ExperimentRecord*> by_seq;
  by_seq.reserve(records.size());
  for (const auto& r : records) by_seq.push_back(&r);
  std::sort(by_seq.begin(), by_seq.end(), [](auto* a, auto* b) { return a->seq < b->seq; });

  std::map<std::string, ConfigStanding> configs;
  std::vector<std::string> order;  // config keys in order of first proposal
  for (const auto* r : by_seq) {
    auto [it, inserted] = configs.try_emplace(r->config_key);
    ConfigStanding& c = it->second;
    if (inserted) {
      order.push_back(r->config_key);
      c.config_key = r->config_key;
      c.representative_id = r->id;
      c.first_seq = r->seq;
      c.params = r->params;
      c.patch = r->patch;
      c.hypothesis = r->hypothesis;
      c.rationale = r->rationale;
    }
    c.ids.push_back(r->id);
    switch (r->state) {
      case ExpState::kFinished:
        if (r->metric) c.values.push_back(*r->metric);
        // The ledger promotes a finished experiment: the configuration's first one.
        if (c.values.size() == 1) c.representative_id = r->id;
        break;
      case ExpState::kFailed: ++c.failed; break;
      case ExpState::kPruned: ++c.pruned; break;
      case ExpState::kCancelled: ++c.cancelled; break;
      default: ++c.pending; break;
    }
  }

  const bool maximize = plan.objective.maximize;
  const double confidence = plan.objective.confidence;
  Standings s;
  for (auto& key : order) {
    auto& c = configs[key];
    c.complete = c.pending == 0;
    c.summary = Summarize(c.values, confidence);
  }

  // The chain, in proposal order, over complete configurations with values.
  std::optional<Summary> best;
  for (auto& key : order) {
    const auto& c = configs[key];
    if (!c.complete || c.values.empty()) continue;
    auto d = DecidePromotion(c.summary, best, maximize, plan.objective.margin);
    if (d.promote) {
      best = c.summary;
      s.best_config = key;
      s.best_id = c.representative_id;
    }
    s.chain.push_back({key, std::move(d)});
  }

  std::vector<ConfigValues> values;
  values.reserve(order.size());
  for (auto& key : order) values.push_back({key, configs[key].values});
  for (const auto& ranked : Rank(values, maximize, confidence)) s.ranked.push_back(std::move(configs[ranked.key]));
  return s;
}

const ConfigStanding* FindConfig(const Standings& s, const std::string& config_key) {
  for (const auto& c : s.ranked)
    if (c.config_key == config_key) return &c;
  return nullptr;
}

}  // namespace dsx::autolab
