// The Researcher role: proposes hypotheses (one change each: parameter overrides and/or a patch to
// the working files, with a one-line rationale that cites the notes it drew on); it runs nothing.
// Hypotheses written in the plan need no researcher; `researcher: {provider, model}` adds an LLM that
// proposes more from the plan's goal, its notes (local Markdown, text or PDF files; paper pages from
// the Hub or arXiv when reachable) and the results so far. The driver asks for more when the plan's
// own hypotheses are used up and budget is left.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

struct ResearchContext {
  const Plan* plan = nullptr;
  std::vector<ExperimentRecord> so_far;  // every experiment in the ledger (finished ones with metrics)
  std::vector<std::string> tried_ids;    // hypothesis ids already used (never propose these again)
  std::string best_summary;              // one paragraph: the best configuration and its mean +- CI
  int max_hypotheses = 3;                // at most this many
};

class HypothesisSource {
 public:
  virtual ~HypothesisSource() = default;
  // New hypotheses, each valid for the plan (overrides only of Evolve::base keys, ids unique and
  // not in tried_ids). Empty = nothing more to propose. kUnavailable when the model cannot be
  // reached (the driver goes on without it and says so).
  virtual Result<std::vector<Hypothesis>> Propose(const ResearchContext& context) = 0;
};

// The LLM researcher of `plan.researcher` (lib/llm's client, configured from the environment like
// `dsx kernel gen`). kUsage when the plan has no researcher section or the provider has no key.
Result<std::unique_ptr<HypothesisSource>> MakeLlmResearcher(const Plan& plan);

}  // namespace dsx::autolab
