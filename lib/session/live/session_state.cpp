#include "session/live/session_state.hpp"

#include <algorithm>

#include "session/live/progress_events.hpp"
#include "session/model/json_input.hpp"

namespace dsx::session::live {
namespace {

using auth::Right;

From ServerFrom() { return From{kServerSub, ""}; }

Checked Refuse(int status, std::string why) {
  Checked c;
  c.status = status;
  c.error = std::move(why);
  return c;
}

// Non-throwing accessors (StringOr, Data, DataString, DataInt). Drafts are normalized before
// they get here, but the log may hold anything an admin wrote raw to the stream, and replay
// must not throw on it: nothing here calls json::value() or get<>() on a field whose type was
// not checked first.
// ev["data"] when it is an object, else nullptr.
const json* Data(const json& ev) {
  if (!ev.is_object()) return nullptr;
  auto d = ev.find("data");
  return d != ev.end() && d->is_object() ? &*d : nullptr;
}

std::string DataString(const json& ev, const char* key) {
  const json* d = Data(ev);
  return d ? StringOr(*d, key) : "";
}

std::int64_t DataInt(const json& ev, const char* key, std::int64_t fallback) {
  const json* d = Data(ev);
  if (!d) return fallback;
  auto v = d->find(key);
  return v != d->end() && v->is_number_integer() ? v->get<std::int64_t>() : fallback;
}

json Ack(const RunInfo& run, const ControlRef& ctl, const std::string& outcome, const std::string& reason,
         std::int64_t now) {
  json data = {{"outcome", outcome}};
  if (!reason.empty()) data["reason"] = reason;
  json ev = {{"type", "control.ack"}, {"run", run.id}, {"lane", run.lane}, {"id", ctl.id}, {"data", data}};
  return Stamp(std::move(ev), ServerFrom(), now);
}

// Acks the server writes for requests still pending when `run` ends with `reason`.
void AcksAtEnd(const RunInfo& run, const std::string& reason, std::int64_t now, std::vector<json>* out) {
  for (const ControlRef& c : run.pending) {
    if (c.type == "control.cancel" && reason == "cancelled") {
      out->push_back(Ack(run, c, "applied", "", now));
    } else {
      out->push_back(Ack(run, c, "rejected", "run ended (" + reason + ") before the agent answered", now));
    }
  }
}

bool IsOwner(const RunInfo& run, const auth::Principal& who, const std::string& session) {
  return run.owner == who.sub || who.Allows(session, Right::kAdmin);
}

// The one rule for ending someone's run on request: `cancel_any`, or `cancel_own` when `who`
// started it. Used by control.cancel and by a run.start that takes a lane over (which ends
// the run there, so it needs the same right). "" when allowed, else the 403 reason.
std::string CancelRefusal(const RunInfo& run, const auth::Principal& who, const std::string& session) {
  if (who.Allows(session, Right::kCancelAny)) return "";
  // Name the right that is missing for this run: another principal's run needs cancel_any
  // (cancel_own would not do), one's own run needs cancel_own (or cancel_any).
  if (run.owner != who.sub) {
    const std::string started = "run '" + run.id + "' was started by '" + run.owner + "'";
    if (who.Allows(session, Right::kCancelOwn)) {
      return "'" + who.sub + "' may cancel only runs it started (" + started + "): " +
             who.Lacks(session, Right::kCancelAny);
    }
    return who.Lacks(session, Right::kCancelAny) + " (" + started + ")";
  }
  if (!who.Allows(session, Right::kCancelOwn)) return who.Lacks(session, Right::kCancelOwn);
  return "";
}

// Refusal of output (msg.start, msg.append) after the agent acknowledged a cancel as applied:
// the reply ends where the cancel took effect, whatever the agent's processes still print.
std::string CancelledOutput(const RunInfo& run) {
  return "run '" + run.id + "' was cancelled (request '" + run.cancel_applied +
         "' applied): no more output is accepted";
}

std::string Ended(const RunInfo& run) { return "run '" + run.id + "' has ended (" + run.end_reason + ")"; }

}  // namespace

json RunInfo::ToJson() const {
  json j = {{"run", id},
            {"lane", lane},
            {"owner", owner},
            {"epoch", epoch},
            {"lease_ms", lease_ms},
            {"active", active},
            {"state", active ? agent_state : "idle"}};
  if (!device.empty()) j["device"] = device;
  if (!active) j["reason"] = end_reason;
  return j;
}

json SessionState::ActiveRuns() const {
  json arr = json::array();
  for (const auto& [id, r] : runs) {
    if (r.active) arr.push_back(r.ToJson());
  }
  return arr;
}

const RunInfo* ActiveRunOnLane(const SessionState& st, const std::string& lane) {
  auto busy = st.lane_run.find(lane);
  if (busy == st.lane_run.end()) return nullptr;
  auto it = st.runs.find(busy->second);
  return it != st.runs.end() && it->second.active ? &it->second : nullptr;
}

std::string BusyLaneRefusal(const std::string& lane, const RunInfo& active) {
  return "lane '" + lane + "' has an active run '" + active.id + "' (send data.takeover: true to end it)";
}

Checked CheckDraft(const SessionState& st, const auth::Principal& who, const std::string& session, json draft,
                   std::int64_t now, const LeaseLimits& limits) {
  if (!draft.is_object()) return Refuse(400, "an event must be a JSON object");
  const std::string type = StringOr(draft, "type");
  const From from{who.sub, who.device};
  auto need = [&](Right r) -> std::string { return who.Allows(session, r) ? "" : who.Lacks(session, r); };
  auto find_run = [&](const std::string& id) -> const RunInfo* {
    auto it = st.runs.find(id);
    return it == st.runs.end() ? nullptr : &it->second;
  };
  const std::string run_id = StringOr(draft, "run");
  Checked c;

  const bool reserved = type.rfind("run.", 0) == 0 || type.rfind("msg.", 0) == 0 || type.rfind("control.", 0) == 0 ||
                        type.rfind("presence.", 0) == 0 || type.rfind("session.", 0) == 0;
  if (!reserved) {
    if (auto why = need(Right::kAppend); !why.empty()) return Refuse(403, why);
    if (IsProgressEventType(type) && !run_id.empty()) {
      // A progress/metric/table of a run follows the run's rules (events.md): a known run, its
      // lane copied, refused once the run has ended (like msg.*), so a view never shows a bar
      // moving after its run ended.
      const RunInfo* run = find_run(run_id);
      if (!run) return Refuse(404, "no run '" + run_id + "' in session '" + session + "'");
      if (!run->active) return Refuse(409, Ended(*run));
      draft["lane"] = run->lane;
    }
    draft.erase("id");
    c.events.push_back(Stamp(std::move(draft), from, now));
    c.answer = {{"type", type}};
    return c;
  }
  if (type.rfind("presence.", 0) == 0 || type.rfind("session.", 0) == 0) {
    return Refuse(400, "event type '" + type + "' is reserved for the server");
  }

  if (type == "run.start") {
    if (auto why = need(Right::kRun); !why.empty()) return Refuse(403, why);
    const std::string lane = StringOr(draft, "lane", kDefaultLane);
    std::string id = run_id.empty() ? RandomId("r-") : run_id;
    if (auto it = st.runs.find(id); it != st.runs.end()) {
      if (it->second.active && it->second.owner == who.sub) {  // a retried run.start that landed
        c.duplicate = true;
        c.answer = {{"type", type},
                    {"run", id},
                    {"lane", it->second.lane},
                    {"epoch", it->second.epoch},
                    {"lease_ms", it->second.lease_ms},
                    {"duplicate", true}};
        return c;
      }
      return Refuse(409, "run '" + id + "' already exists");
    }
    json& data = draft["data"];
    if (data.is_null()) data = json::object();
    if (!data.is_object()) return Refuse(400, "event field 'data' must be an object");
    std::int64_t lease = limits.default_ms;
    if (auto l = data.find("lease_ms"); l != data.end()) {
      if (!l->is_number_integer()) return Refuse(400, "data.lease_ms must be an integer");
      lease = std::clamp<std::int64_t>(l->get<std::int64_t>(), limits.min_ms, limits.max_ms);
    }
    bool takeover = false;
    if (auto t = data.find("takeover"); t != data.end()) {
      if (!t->is_boolean()) return Refuse(400, "data.takeover must be a boolean");
      takeover = t->get<bool>();
    }
    if (const RunInfo* old = ActiveRunOnLane(st, lane)) {
      if (!takeover) return Refuse(409, BusyLaneRefusal(lane, *old));
      if (auto why = CancelRefusal(*old, who, session); !why.empty()) {
        return Refuse(403, "cannot take over lane '" + lane + "': " + why);
      }
      json end = {{"type", "run.end"},
                  {"run", old->id},
                  {"lane", lane},
                  {"data", {{"reason", "agent_lost"}, {"superseded_by", id}}}};
      AcksAtEnd(*old, "agent_lost", now, &c.events);
      c.events.insert(c.events.end() - static_cast<std::ptrdiff_t>(old->pending.size()),
                      Stamp(std::move(end), ServerFrom(), now));
    }
    auto e = st.lane_epoch.find(lane);
    const std::uint64_t epoch = (e == st.lane_epoch.end() ? 0 : e->second) + 1;
    data["lease_ms"] = lease;
    data["epoch"] = epoch;
    data.erase("takeover");
    draft["run"] = id;
    draft["lane"] = lane;
    draft.erase("id");
    draft.erase("msg");
    c.events.push_back(Stamp(std::move(draft), from, now));
    c.answer = {{"type", type}, {"run", id}, {"lane", lane}, {"epoch", epoch}, {"lease_ms", lease}};
    return c;
  }

  if (run_id.empty()) return Refuse(400, "event type '" + type + "' needs a 'run'");
  const RunInfo* run = find_run(run_id);
  if (!run) return Refuse(404, "no run '" + run_id + "' in session '" + session + "'");
  draft["lane"] = run->lane;

  if (type == "run.end" || type.rfind("msg.", 0) == 0) {
    if (auto why = need(Right::kRun); !why.empty()) return Refuse(403, why);
    if (!IsOwner(*run, who, session)) {
      return Refuse(403, "run '" + run->id + "' belongs to '" + run->owner + "'");
    }
    if (type == "run.end") {
      const std::string reason = DataString(draft, "reason");
      if (reason != "done" && reason != "cancelled" && reason != "error" && reason != "agent_lost" &&
          reason != "interrupted") {
        return Refuse(400, "run.end needs data.reason: done, cancelled, error, interrupted or agent_lost");
      }
      if (!run->active) {
        c.duplicate = true;
        c.answer = {{"type", type}, {"run", run->id}, {"reason", run->end_reason}, {"duplicate", true}};
        return c;
      }
      draft.erase("msg");
      draft.erase("id");
      c.events.push_back(Stamp(std::move(draft), from, now));
      AcksAtEnd(*run, reason, now, &c.events);
      c.answer = {{"type", type}, {"run", run->id}, {"reason", reason}};
      return c;
    }
    if (!run->active) {
      const auto le = st.lane_epoch.find(run->lane);
      return Refuse(409, "stale writer: " + Ended(*run) + "; lane '" + run->lane + "' is at epoch " +
                             std::to_string(le == st.lane_epoch.end() ? 0 : le->second));
    }
    std::string msg = StringOr(draft, "msg");
    if (type == "msg.start") {
      if (msg.empty()) msg = RandomId("m-");
      if (st.msgs.count(msg)) {
        if (run->open_msgs.count(msg)) {  // a retried msg.start that already landed
          c.duplicate = true;
          c.answer = {{"type", type}, {"run", run->id}, {"msg", msg}, {"duplicate", true}};
          return c;
        }
        return Refuse(409, "message '" + msg + "' already exists");
      }
      if (!run->cancel_applied.empty()) return Refuse(409, CancelledOutput(*run));
    } else if (type == "msg.append" || type == "msg.end") {
      if (msg.empty()) return Refuse(400, "event type '" + type + "' needs a 'msg'");
      if (!run->open_msgs.count(msg)) {
        if (type == "msg.end" && st.msgs.count(msg)) {  // retried msg.end
          c.duplicate = true;
          c.answer = {{"type", type}, {"run", run->id}, {"msg", msg}, {"duplicate", true}};
          return c;
        }
        return Refuse(409, "message '" + msg + "' is not open in run '" + run->id + "'");
      }
      if (type == "msg.append") {
        const json* d = Data(draft);
        if (!d || !d->contains("text") || !(*d)["text"].is_string()) {
          return Refuse(400, "msg.append needs data.text (a string)");
        }
        if (!run->cancel_applied.empty()) return Refuse(409, CancelledOutput(*run));
      }
    } else {
      return Refuse(400, "unknown event type '" + type + "'");
    }
    draft["msg"] = msg;
    draft.erase("id");
    c.events.push_back(Stamp(std::move(draft), from, now));
    c.answer = {{"type", type}, {"run", run->id}, {"msg", msg}};
    return c;
  }

  if (type == "control.cancel" || type == "control.steer") {
    if (type == "control.cancel") {
      if (auto why = CancelRefusal(*run, who, session); !why.empty()) return Refuse(403, why);
    } else {
      if (auto why = need(Right::kSteer); !why.empty()) return Refuse(403, why);
      const json* d = Data(draft);
      const bool has_text = d && d->contains("text") && (*d)["text"].is_string();
      if (!has_text && !(d && d->contains("json"))) return Refuse(400, "control.steer needs data.text or data.json");
    }
    std::string id = StringOr(draft, "id");
    if (id.empty()) id = RandomId("k-");
    draft["id"] = id;
    draft.erase("msg");
    c.events.push_back(Stamp(std::move(draft), from, now));
    c.answer = {{"type", type}, {"run", run->id}, {"id", id}};
    if (!run->active) {
      const std::string reason = "run '" + run->id + "' already ended (" + run->end_reason + ")";
      c.events.push_back(Ack(*run, ControlRef{id, type}, "rejected", reason, now));
      c.answer["outcome"] = {{"id", id}, {"outcome", "rejected"}, {"reason", reason}};
    } else {
      c.answer["outcome"] = {{"id", id}, {"outcome", "pending"}};
    }
    return c;
  }

  if (type == "control.ack") {
    if (auto why = need(Right::kRun); !why.empty()) return Refuse(403, why);
    if (!IsOwner(*run, who, session)) return Refuse(403, "run '" + run->id + "' belongs to '" + run->owner + "'");
    const std::string id = StringOr(draft, "id");
    if (id.empty()) return Refuse(400, "control.ack needs the request's 'id'");
    const std::string outcome = DataString(draft, "outcome");
    if (outcome != "applied" && outcome != "rejected") {
      return Refuse(400, "control.ack needs data.outcome: applied or rejected");
    }
    const bool pending =
        std::any_of(run->pending.begin(), run->pending.end(), [&](const ControlRef& r) { return r.id == id; });
    if (!pending) return Refuse(409, "no pending control request '" + id + "' for run '" + run->id + "'");
    draft.erase("msg");
    c.events.push_back(Stamp(std::move(draft), from, now));
    c.answer = {{"type", type}, {"run", run->id}, {"id", id}, {"outcome", outcome}};
    return c;
  }
  return Refuse(400, "unknown event type '" + type + "'");
}

std::vector<json> LeaseLostEvents(const RunInfo& run, std::int64_t now) {
  std::vector<json> out;
  json end = {{"type", "run.end"},
              {"run", run.id},
              {"lane", run.lane},
              {"data", {{"reason", "agent_lost"}, {"lease_ms", run.lease_ms}}}};
  out.push_back(Stamp(std::move(end), ServerFrom(), now));
  AcksAtEnd(run, "agent_lost", now, &out);
  return out;
}

void ApplyEffects(SessionState& st, const json& ev, std::int64_t now) {
  if (!ev.is_object()) return;
  const std::string type = StringOr(ev, "type");
  const std::string run_id = StringOr(ev, "run");
  if (type == "run.start") {
    RunInfo r;
    r.id = run_id;
    r.lane = StringOr(ev, "lane", kDefaultLane);
    if (auto f = ev.find("from"); f != ev.end() && f->is_object()) {
      r.owner = StringOr(*f, "sub");
      r.device = StringOr(*f, "device");
    }
    r.epoch = static_cast<std::uint64_t>(std::max<std::int64_t>(DataInt(ev, "epoch", 0), 0));
    r.lease_ms = DataInt(ev, "lease_ms", 15000);
    r.deadline_ms = now + r.lease_ms;
    st.lane_epoch[r.lane] = std::max(st.lane_epoch[r.lane], r.epoch);
    st.lane_run[r.lane] = r.id;
    st.runs[r.id] = std::move(r);
    return;
  }
  auto it = st.runs.find(run_id);
  if (it == st.runs.end()) return;
  RunInfo& r = it->second;
  if (type == "run.end") {
    if (!r.active) return;
    r.active = false;
    r.end_reason = DataString(ev, "reason");
    r.open_msgs.clear();
    auto lr = st.lane_run.find(r.lane);
    if (lr != st.lane_run.end() && lr->second == r.id) st.lane_run.erase(lr);
  } else if (type == "msg.start") {
    const std::string msg = StringOr(ev, "msg");
    st.msgs.insert(msg);
    if (r.active) r.open_msgs.insert(msg);
  } else if (type == "msg.append") {
    r.agent_state = "streaming";
  } else if (type == "msg.end") {
    r.open_msgs.erase(StringOr(ev, "msg"));
  } else if (type == "control.cancel" || type == "control.steer") {
    if (r.active) r.pending.push_back(ControlRef{StringOr(ev, "id"), type});
  } else if (type == "control.ack") {
    const std::string id = StringOr(ev, "id");
    // A cancel the agent applied ends the run's output here (CheckDraft refuses more).
    for (const ControlRef& c : r.pending) {
      if (c.id == id && c.type == "control.cancel" && DataString(ev, "outcome") == "applied" &&
          r.cancel_applied.empty()) {
        r.cancel_applied = id;
      }
    }
    r.pending.erase(std::remove_if(r.pending.begin(), r.pending.end(), [&](const ControlRef& c) { return c.id == id; }),
                    r.pending.end());
  }
}

}  // namespace dsx::session::live
