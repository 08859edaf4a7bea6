// A session's run state as a pure state machine: what the log implies (runs, leases, lanes,
// open messages, pending control requests), how a client draft is checked against it, and
// which events the server adds. No locks, no I/O: SessionHub owns the locking and the log.
//
// State is derived only from stored events (ApplyEffects), so replaying the log after a
// restart rebuilds exactly the state that live appends built.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "session/auth/rights.hpp"
#include "session/live/event.hpp"

namespace dsx::session::live {

struct LeaseLimits {
  std::int64_t default_ms = 15000;
  std::int64_t min_ms = 1000;
  std::int64_t max_ms = 600000;
};

struct ControlRef {
  std::string id;
  std::string type;  // control.cancel | control.steer
};

struct RunInfo {
  std::string id, lane, owner, device;
  std::uint64_t epoch = 0;
  std::int64_t lease_ms = 15000;
  std::int64_t deadline_ms = 0;  // lease deadline (Unix ms); renewed by heartbeats
  bool active = true;
  std::string end_reason;  // once ended
  std::set<std::string> open_msgs;
  std::vector<ControlRef> pending;  // control requests not answered yet
  std::string cancel_applied;       // id of the control.cancel acked `applied`: output refused after it
  std::string agent_state = "thinking";
  json ToJson() const;
};

struct SessionState {
  std::map<std::string, RunInfo> runs;
  std::map<std::string, std::uint64_t> lane_epoch;
  std::map<std::string, std::string> lane_run;  // lane -> its active run
  std::set<std::string> msgs;                   // every message id started
  json ActiveRuns() const;
};

// What checking one draft produced: the events to store, in order (the draft, stamped, plus
// any the server adds), and the answer for the client.
struct Checked {
  int status = 200;          // 200, or the refusal's HTTP status
  std::string error;         // refusal reason
  std::vector<json> events;  // stamped, ready to store
  json answer = json::object();
  bool duplicate = false;  // a retried write that already took effect: store nothing
};

// Checks `draft` (already NormalizeDraft'ed) from `who` on session `session` and stamps it.
// Does not modify `state`; call ApplyEffects on each returned event once it is to be stored.
Checked CheckDraft(const SessionState& state, const auth::Principal& who, const std::string& session, json draft,
                   std::int64_t now_ms, const LeaseLimits& limits);

// The active run on `lane` (nullptr when the lane is free), and the refusal a run.start
// without takeover meets there.
const RunInfo* ActiveRunOnLane(const SessionState& state, const std::string& lane);
std::string BusyLaneRefusal(const std::string& lane, const RunInfo& active);

// The server's own run.end for a lapsed lease (plus acks for unanswered requests).
std::vector<json> LeaseLostEvents(const RunInfo& run, std::int64_t now_ms);

// Effects of one stored event on the state (used live and for replay). `now_ms` sets lease
// deadlines of runs that start (or that replay finds active).
void ApplyEffects(SessionState& state, const json& event, std::int64_t now_ms);

}  // namespace dsx::session::live
