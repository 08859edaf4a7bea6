// The verdict table; see verdict_rule.hpp.
#include "audit/rules/verdict_rule.hpp"

namespace dsx::audit {

VerdictDecision DecideVerdict(const VerdictInputs& in) {
  auto ruled = [&](Verdict v, std::string why) {
    VerdictDecision d{v, {}};
    if (v != in.rule_verdict) d.overruled = std::string(VerdictName(v)) + ": " + why;
    return d;
  };
  std::string by = in.ceiling_by.empty() ? std::string("a failure mode") : in.ceiling_by;
  std::string capped = "capped at " + std::to_string(in.ceiling) + " by " + by;

  if (!in.streaming_recognised) return ruled(Verdict::kUndetermined, "no streaming AI code was recognised");
  if (in.ceiling <= kCeilingMeansNo)
    return ruled(Verdict::kNo,
                 capped + ", and a capability capped at " + std::to_string(kCeilingMeansNo) + " or less is no");
  if (in.rule_verdict == Verdict::kNo || in.rule_verdict == Verdict::kUndetermined) return ruled(Verdict::kNo, "");
  if (in.score <= 0) return ruled(Verdict::kNo, "no points earned");
  if (in.rule_verdict == Verdict::kYes) {
    if (in.ceiling < kNoCeiling) return ruled(Verdict::kPartial, capped + ", and a capped capability is not yes");
    if (in.score_before_caps < 100)
      return ruled(Verdict::kPartial, std::to_string(in.score_before_caps) + " of 100 points, and yes needs all 100");
    return ruled(Verdict::kYes, "");
  }
  return ruled(Verdict::kPartial, "");
}

}  // namespace dsx::audit
