// From observations to verdicts: the live probe's scoring rules, kept apart from the code
// that makes the observations (probe_runner.cpp) so each rule is unit-tested on plain data
// and documented in one place (docs/cli/audit-probe.md, "How each verdict is decided").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/probe/fingerprint.hpp"
#include "audit/probe/probe.hpp"
#include "audit/report/report.hpp"

namespace dsx::audit::probe {

// A tri-state observation: unknown (not observed), true, false.
using Seen = std::optional<bool>;

struct Observations {
  std::string url;
  Fingerprint fingerprint;
  bool oracle = false;  // the mock-LLM log was readable and matched our requests
  std::vector<Check> checks;
  std::vector<std::string> undetermined;         // reasons, one line each
  std::map<std::string, std::string> contracts;  // "resume" -> "GET url (source)"

  // RD: drop mid-stream, then resume.
  bool drop_done = false;  // we dropped after `drop_at` tokens
  int drop_at = 0;
  Seen producer_continued;    // after the drop, the model kept generating (oracle)
  bool resume_tried = false;  // a resume contract was known and called
  long resume_status = 0;
  ResumeClass resume;

  // CS: a second reader while the first reads.
  bool second_tried = false;
  long second_status = 0;
  Seen second_live;  // the second reader got tokens generated after it attached
  Seen second_same;  // both readers ended with the same tokens

  // LC: stop (a separate cancel request), steer.
  bool stop_contract = false;  // a cancel contract was known and answered 2xx
  long stop_status = 0;
  Seen stop_halted;  // after the cancel, generation stopped (oracle, or the app's stream)
  bool steer_contract = false;
  bool steer_tried = false;
  long steer_status = 0;
  Seen steer_applied;           // the steer was acknowledged and generation went on
  Seen double_text_concurrent;  // no steer contract: a second message started a parallel run
};

// Build the live report (source live) from observations. Deterministic.
Report Judge(const Observations& obs);

}  // namespace dsx::audit::probe
