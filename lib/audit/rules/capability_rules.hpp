// Tier 2 of the rules: capability rules. They combine the project's facts (from all files and
// manifests) into failure modes, a scored verdict per capability (live control in three parts),
// notes and the ten-step migration plan. Data: configs/audit/capabilities/*.yaml, schema
// dsx/capability@1. Evaluation order, which a user disputing a finding can follow by hand:
//   1. failure modes, in file order (a rule may refer to failure modes found before it);
//   0. `streaming_code`: when its condition does not hold, no streaming AI code was recognised:
//      every capability and part is undetermined (score null), no failure mode is reported and
//      the migration plan is empty; the reason is the report's first note;
//   1. failure modes, in file order (a rule may refer to failure modes found before it);
//   2. per capability (and per part): each criterion holds or not and earns its points; the
//      score is the sum (a part's score is its points scaled to 0-100; a capability with parts
//      scores the sum of its parts' points); each failure mode found that caps the capability
//      lowers the score to the cap; the FIRST verdict rule whose condition holds proposes the
//      verdict and DecideVerdict (verdict_rule.hpp) makes it agree with the score and caps;
//   3. notes, then migration steps (status done / todo / not_needed; files from named facts on
//      the streaming path, never test or script files; `{file}` and `{done_by}` in the texts name
//      the first target file and what already does the step).
// Evidence is ranked, most relevant first: a failure mode's in its `evidence:` list order, then
// server before client, then file and line; a criterion's server before client, then in the order
// its condition names the facts, then file and line; a capability's by criterion, in order.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "audit/report/report.hpp"
#include "audit/rules/condition.hpp"
#include "audit/rules/fact.hpp"

namespace dsx::audit {

struct CriterionRule {
  std::string id;
  std::string description;
  int points = 0;
  Condition when;
};

struct VerdictRule {
  Verdict verdict = Verdict::kNo;
  Condition when;  // kAlways when omitted
};

struct AssessmentRule {
  std::string id;
  std::vector<std::string> fixes;  // FixRule ids offered when the verdict is not yes
  std::vector<CriterionRule> criteria;
  std::vector<VerdictRule> verdicts;  // first match wins; must end with an unconditional rule
  int MaxPoints() const;
};

struct CapabilityRule : AssessmentRule {
  std::vector<AssessmentRule> parts;  // live_control: stop, distinguish, steer
};

struct FailureModeRule {
  std::string id, rule, title, severity, message;
  std::vector<std::string> capabilities;
  std::vector<std::string> evidence_facts;  // evidence only from these facts (empty: all supporting facts)
  std::map<std::string, int> caps;          // capability id -> highest score allowed
  std::vector<std::string> fixes;           // FixRule ids, best first
  Condition when;
};

// The exact change for a finding, with the migration kit piece (issue 17): `fixes:` in
// capabilities/*.yaml. A fix with `at:` applies only where one of those facts (or FACT=VALUE) is
// found, first fact first, then by file and line, in a product file (never tests or scripts) of
// one of `languages` (js: .js .jsx .mjs .cjs, ts: .ts .mts .cts .svelte .vue, tsx, py; empty: any);
// the fix names that file and line. A fix without `at:` always applies and names no file. `when`
// (optional) must hold too. `change` is one sentence; `{file}`, `{line}` and `{at}` ("file:line")
// name the place.
struct FixRule {
  std::string id, kit, change;
  std::vector<std::string> at;
  std::vector<std::string> languages;
  Condition when;  // kAlways when omitted
};

struct NoteRule {
  Condition when;
  std::string text;
};

struct MigrationRule {
  std::string id, title, dsx_feature, todo, done, not_needed;
  std::string todo_no_files;  // the todo text when no file was found (e.g. no client code here)
  Condition done_when, not_needed_when;
  bool has_done_when = false, has_not_needed_when = false;
  // Facts whose files this step changes ("server.llm_stream", or "server.resume_endpoint=stub_204"
  // for one value only), in priority order: `{file}` is the first file of the first fact found.
  std::vector<std::string> files_from;
  // Used only when files_from names no file: facts that are weaker signs of the place to change
  // (a streaming response is often not the model's; a CSV export streams too).
  std::vector<std::string> files_fallback;
};

// Whether there is anything to judge: the verdicts mean something only for code that streams a
// model's answer. Optional; without it, streaming code is assumed.
struct StreamingRule {
  bool present = false;
  Condition when;            // streaming AI code was recognised
  std::string undetermined;  // why every verdict is undetermined when `when` does not hold
};

struct CapabilityRules {
  StreamingRule streaming;
  std::vector<FailureModeRule> failure_modes;
  std::vector<CapabilityRule> capabilities;
  std::vector<NoteRule> notes;
  std::vector<MigrationRule> migration;
  std::vector<FixRule> fixes;
  std::vector<std::string> origins;  // files loaded
};

// Load every capabilities/*.yaml under `dir`. Checks: unique ids, criteria points of each
// capability sum to 100, a final unconditional verdict rule, the three capabilities present,
// every fix id named by a failure mode or capability defined, every fix's kit known.
Result<CapabilityRules> LoadCapabilityRules(const std::filesystem::path& dir);

// Fill report.capabilities, failure_modes, notes and migration from `facts`.
void Evaluate(const CapabilityRules& rules, const Facts& facts, Report& report);

}  // namespace dsx::audit
