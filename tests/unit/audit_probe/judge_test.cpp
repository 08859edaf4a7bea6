// The live probe's verdict rules on plain observations (docs/cli/audit-probe.md, "How each
// verdict is decided").
#include <doctest/doctest.h>

#include <algorithm>

#include "audit/probe/judge.hpp"

using namespace dsx::audit;
using namespace dsx::audit::probe;

namespace {

const Capability& Cap(const Report& r, std::string_view id) {
  const Capability* c = r.Find(id);
  REQUIRE(c != nullptr);
  return *c;
}

bool HasFm(const Report& r, const std::string& id) {
  return std::any_of(r.failure_modes.begin(), r.failure_modes.end(), [&](const auto& f) { return f.id == id; });
}

Observations Dropped(bool producer_continued) {
  Observations o;
  o.url = "http://app/api/chat";
  o.fingerprint.protocol = Protocol::kAiSdkUiStream;
  o.oracle = true;
  o.drop_done = true;
  o.drop_at = 4;
  o.producer_continued = producer_continued;
  return o;
}

}  // namespace

TEST_CASE("judge: single-connection trap (drop stops the model, nothing to resume)") {
  Observations o = Dropped(false);
  o.steer_tried = true;
  o.steer_status = 200;
  o.double_text_concurrent = true;
  Report r = Judge(o);
  CHECK(r.source == Source::kLive);
  CHECK(Cap(r, kResilientDelivery).verdict == Verdict::kNo);
  CHECK(Cap(r, kResilientDelivery).score == 0);
  CHECK(Cap(r, kContinuity).verdict == Verdict::kNo);
  const auto& lc = Cap(r, kLiveControl);
  CHECK(lc.Part(kStop)->verdict == Verdict::kPartial);
  CHECK(lc.Part(kDistinguish)->verdict == Verdict::kNo);
  CHECK(lc.Part(kSteer)->verdict == Verdict::kNo);
  CHECK(lc.verdict == Verdict::kPartial);
  CHECK(lc.score == 20);  // 0.4 x 50
  CHECK(HasFm(r, "single_connection_trap"));
  CHECK(!HasFm(r, "sse_resume_cancel_conflict"));
}

TEST_CASE("judge: resumable without a stop route is the resume-cancel conflict") {
  Observations o = Dropped(true);
  o.fingerprint.message_identity = true;
  o.resume_tried = true;
  o.resume_status = 200;
  o.resume.kind = ResumeKind::kFullReplay;
  o.second_tried = true;
  o.second_status = 200;
  o.second_live = true;
  o.second_same = true;
  Report r = Judge(o);
  CHECK(Cap(r, kResilientDelivery).verdict == Verdict::kYes);
  CHECK(Cap(r, kResilientDelivery).score == 100);
  CHECK(Cap(r, kContinuity).verdict == Verdict::kYes);
  CHECK(Cap(r, kLiveControl).Part(kStop)->verdict == Verdict::kNo);
  CHECK(HasFm(r, "sse_resume_cancel_conflict"));
  CHECK(!HasFm(r, "full_replay_without_dedupe"));  // the stream names its message
}

TEST_CASE("judge: full replay without message identity costs the no_duplicates criterion") {
  Observations o = Dropped(true);
  o.resume_tried = true;
  o.resume_status = 200;
  o.resume.kind = ResumeKind::kFullReplay;
  Report r = Judge(o);
  CHECK(Cap(r, kResilientDelivery).verdict == Verdict::kYes);
  CHECK(Cap(r, kResilientDelivery).score == 80);
  CHECK(HasFm(r, "full_replay_without_dedupe"));
}

TEST_CASE("judge: a resume route answering 204 while the model streams is half-wired") {
  Observations o = Dropped(true);
  o.resume_tried = true;
  o.resume_status = 204;
  o.resume.kind = ResumeKind::kNone;
  Report r = Judge(o);
  CHECK(Cap(r, kResilientDelivery).verdict == Verdict::kPartial);
  CHECK(Cap(r, kResilientDelivery).score == 30);
  CHECK(HasFm(r, "half_wired_resume"));
}

TEST_CASE("judge: stop route that halts the model and a drop that does not: full live control") {
  Observations o = Dropped(true);
  o.resume_tried = true;
  o.resume_status = 200;
  o.resume.kind = ResumeKind::kCursor;
  o.stop_contract = true;
  o.stop_status = 200;
  o.stop_halted = true;
  o.steer_contract = true;
  o.steer_tried = true;
  o.steer_status = 200;
  o.steer_applied = true;
  Report r = Judge(o);
  const auto& lc = Cap(r, kLiveControl);
  CHECK(lc.verdict == Verdict::kYes);
  CHECK(lc.score == 100);
  CHECK(r.failure_modes.empty());
}

TEST_CASE("judge: a stop route that does not stop the model") {
  Observations o = Dropped(true);
  o.stop_contract = true;
  o.stop_status = 200;
  o.stop_halted = false;
  Report r = Judge(o);
  CHECK(Cap(r, kLiveControl).Part(kStop)->verdict == Verdict::kNo);
  CHECK(HasFm(r, "sse_resume_cancel_conflict"));
}

TEST_CASE("judge: nothing observed (a hanging endpoint) is undetermined, reported as no with a note") {
  Observations o;
  o.url = "http://app/hang";
  o.undetermined.push_back("the endpoint did not answer within 2 s");
  Report r = Judge(o);
  CHECK(Cap(r, kResilientDelivery).properties.at("determined") == "false");
  CHECK(Cap(r, kResilientDelivery).verdict == Verdict::kNo);
  CHECK(Cap(r, kContinuity).properties.at("determined") == "false");
  CHECK(std::any_of(r.notes.begin(), r.notes.end(),
                    [](const std::string& n) { return n.find("did not answer") != std::string::npos; }));
  CHECK(r.failure_modes.empty());
}

TEST_CASE("judge: without the oracle, resumed tokens after the drop prove the producer went on") {
  Observations o;
  o.drop_done = true;
  o.drop_at = 4;
  o.resume_tried = true;
  o.resume_status = 200;
  o.resume.kind = ResumeKind::kCursor;
  Report r = Judge(o);
  CHECK(Cap(r, kResilientDelivery).verdict == Verdict::kYes);
  CHECK(Cap(r, kLiveControl).Part(kStop)->derivation.find("undetermined") == 0);
}
