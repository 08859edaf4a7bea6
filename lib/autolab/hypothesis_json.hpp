// The AutoLab researcher's answer: the model is asked for
//   {"hypotheses": [{"id": "...", "rationale": "one line citing [note]", "overrides": {...}, "patch": "..."}]}
// and this checks it before anything reaches the ledger. The answer is outside input (any model,
// any server), so it is parsed with core/json_limits' depth bound and fuzzed
// (tests/fuzz/fuzz_client_inputs.cpp).
//
// Strict about the shape, tolerant of one habit: the JSON may be the whole answer or the inside of
// one ``` fence that is the whole answer (models fence JSON even when told not to). An answer that is
// not that shape is refused as a whole (kFailed, with an excerpt). Each hypothesis is then checked on
// its own and dropped with a reason when it is invalid, so one bad item does not cost the good ones:
//   id         [a-z0-9][a-z0-9-]{0,47}; not tried before, not one of the plan's own, not "baseline",
//              not used twice in the answer
//   rationale  a non-empty string, made one line and cut to 300 bytes
//   overrides  an object whose keys are keys of evolve.base, each a scalar of the base value's type:
//              a number for a number (an integer for an integer: a width of 64.5 is refused, 64.0 is
//              read as 64), a string for a string, a boolean for a boolean
//   patch      a string: "" or a unified diff ("--- " and "+++ " lines), at most 64 KiB
//   one change at least (overrides or patch); no other keys; at most max_hypotheses are kept.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "autolab/plan.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

inline constexpr std::size_t kMaxRationaleBytes = 300;
inline constexpr std::size_t kMaxPatchBytes = 64 * 1024;

struct HypothesisAnswer {
  std::vector<Hypothesis> accepted;  // in the answer's order
  std::vector<std::string> dropped;  // one line each: "hypothesis 2 ('x'): why"
};

// True for an id of the form above.
bool IsResearcherId(std::string_view id);

// The JSON text inside the answer: the whole answer trimmed, or the inside of a ``` fence that is
// the whole answer (its info string, such as "json", skipped).
std::string_view AnswerJsonText(std::string_view answer);

// Checks the model's answer against the plan (evolve.base, the plan's own hypothesis ids) and the
// ids tried so far. kFailed when the answer is not a JSON object {"hypotheses": [...]}.
Result<HypothesisAnswer> ParseHypothesisAnswer(std::string_view answer, const Plan& plan,
                                               const std::vector<std::string>& tried_ids, int max_hypotheses);

}  // namespace dsx::autolab
