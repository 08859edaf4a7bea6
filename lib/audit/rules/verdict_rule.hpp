// The one place that decides a capability's verdict. The YAML verdict rules say what the criteria
// mean ("partial needs a decoupled producer or a replayable log"); this table makes the verdict
// agree with the score and with the failure modes found, so a report can never say `partial`
// for a capability that a failure mode caps at 25. Rows, first match wins (man dsx-audit,
// "How each verdict is decided"; configs/audit/capabilities/capabilities.yaml):
//
//   streaming code  YAML rule      ceiling   before caps  after caps  ->  verdict
//   not recognised  any            any       any          any             undetermined
//   recognised      any            <= 30     any          any             no
//   recognised      no             any       any          any             no
//   recognised      partial | yes  any       any          0               no
//   recognised      yes            100       100          any             yes
//   recognised      yes            any       any          > 0             partial
//   recognised      partial        any       any          > 0             partial
//
// ceiling: the lowest cap among the failure modes FOUND that cap this capability (100 when none),
// whether or not it lowered the score: a failure mode that hurts a capability denies it `yes`
// (ceiling < 100), and one that caps it at 30 or less makes it `no`. `yes` also needs every
// criterion (100 points before caps): a working stop without a Stop button is not all of live control.
// Parts of live control (stop, distinguish, steer) have no caps: their YAML rules decide, except
// that they too are undetermined when no streaming code was recognised.
#pragma once

#include <string>

#include "audit/report/report.hpp"

namespace dsx::audit {

inline constexpr int kNoCeiling = 100;
inline constexpr int kCeilingMeansNo = 30;  // capped at this or lower: the capability is `no`

struct VerdictInputs {
  bool streaming_recognised = true;
  Verdict rule_verdict = Verdict::kNo;  // what the first matching YAML verdict rule said
  int score_before_caps = 0;            // 0-100
  int score = 0;                        // 0-100, after caps
  int ceiling = kNoCeiling;             // lowest cap of the failure modes found for this capability
  std::string ceiling_by;               // the failure mode that set the ceiling ("half_wired_resume")
};

struct VerdictDecision {
  Verdict verdict = Verdict::kNo;
  // Why the table changed the YAML rule's verdict ("no: capped at 25 by half_wired_resume, and a
  // capability capped at 30 or less is no"); empty when the YAML rule's verdict stands.
  std::string overruled;
};

VerdictDecision DecideVerdict(const VerdictInputs& in);

}  // namespace dsx::audit
