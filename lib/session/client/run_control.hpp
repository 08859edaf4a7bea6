// Cancel and steer from the client side (`dsx session cancel|steer`): post a control request to
// one run, or to every active run of the session, then read the session's log (catch-up pages,
// polled on the clock, bounded by `wait_ms`) for the agents' control.ack answers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "session/client/session_client.hpp"

namespace dsx::session::client {

struct ControlRequest {
  bool steer = false;   // control.steer; else control.cancel
  std::string run;      // "" = every active run (a steer needs exactly one)
  nlohmann::json data;  // steer: {"text": ...} or {"json": ...}
  std::string reason;   // stored as data.reason when not empty
  std::int64_t wait_ms = 10000;
};

struct ControlOutcome {
  std::string run;
  std::string id;                   // the request's id ("" when refused)
  std::string outcome = "pending";  // applied | rejected | refused | pending
  std::string reason;
};

struct ControlReport {
  std::vector<ControlOutcome> results;  // one per run asked
  // OK when every request was applied; else the first of: a refusal (the server's status),
  // a rejection by the agent (kConflict), no answer within wait_ms (kUnavailable).
  Status status;
};

// Errors (nothing was asked, or asking stopped half-way): the session cannot be read, has no
// active run (kNotFound), more than one for a steer without a run (kUsage), a request that got
// no answer from the server (kUnavailable).
Result<ControlReport> SendControl(SessionClient& session, Clock& clock, const ControlRequest& request);

}  // namespace dsx::session::client
