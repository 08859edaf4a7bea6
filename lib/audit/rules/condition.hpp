// Conditions of capability rules (tier 2): boolean combinations of project-wide facts, failure
// modes found so far, criteria and part verdicts. Written in YAML as one-key maps:
//   {fact: NAME}                      a fact with this name exists (anywhere in the project)
//   {fact: NAME, value: V}            ... with value V   ({values: [A, B]} for one of several)
//   {fact: NAME, min: 5, max: 6}      ... whose value is a number in [min, max] (versions: major)
//   {all: [C...]} {any: [C...]} {not: C}
//   {failure_mode: ID}                a failure mode already found (rules run in file order)
//   {criterion: ID}                   a criterion of the same capability/part holds
//   {part: ID, verdict: V}            a part's verdict ({verdicts: [..]} for one of several)
//   {always: true}
// When a condition holds, Eval collects the facts that made it hold as evidence.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "audit/report/report.hpp"
#include "audit/rules/fact.hpp"
#include "core/status.hpp"

namespace dsx::audit {

struct Condition {
  enum class Kind { kAll, kAny, kNot, kFact, kFailureMode, kCriterion, kPart, kAlways };
  Kind kind = Kind::kAlways;
  std::vector<Condition> children;
  std::string name;                 // fact name, failure-mode id, criterion id or part id
  std::vector<std::string> values;  // fact values or part verdicts (empty: any)
  std::optional<double> min, max;   // numeric bounds on a fact's value
};

Result<Condition> ParseCondition(const YAML::Node& node);

// Facts indexed by name, for fast lookups.
class FactIndex {
 public:
  explicit FactIndex(const Facts& facts);
  const std::vector<const Fact*>& Named(const std::string& name) const;

 private:
  std::map<std::string, std::vector<const Fact*>> by_name_;
  std::vector<const Fact*> none_;
};

struct EvalContext {
  const FactIndex* facts = nullptr;
  const std::set<std::string>* failure_modes = nullptr;
  const std::map<std::string, bool>* criteria = nullptr;  // of the capability/part being scored
  const std::map<std::string, Verdict>* parts = nullptr;  // of the capability being scored
};

// Evaluate; when true and `evidence` is set, append the facts that support it.
bool Eval(const Condition& c, const EvalContext& ctx, std::vector<Evidence>* evidence);

// For a condition that does NOT hold: append the facts that keep it from holding, the lines that
// decide it (issue 18: the resume route that answers 204 was visible only in --facts). Under a
// `not:` whose inner condition holds, the facts that make it hold (a cancel on disconnect); for a
// fact condition no fact meets, the facts of that name with another value (a resume route found,
// but server.resume_endpoint=stub_204, not serves). An absence appends nothing.
void Against(const Condition& c, const EvalContext& ctx, std::vector<Evidence>* against);

// "server.resume_endpoint=stub_204" style summary for verdict_rule strings.
std::string Describe(const Condition& c);

Evidence ToEvidence(const Fact& f);

// The fact names a condition mentions, in the order written, each once (negated ones too: they
// never yield evidence, so their place does not matter). Ranks evidence by what a rule names first.
std::vector<std::string> FactNames(const Condition& c);

}  // namespace dsx::audit
