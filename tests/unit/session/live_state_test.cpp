// Run state machine: control routing and ownership, fencing, leases, implicit acks.
#include <doctest/doctest.h>

#include "session/live/session_state.hpp"

using namespace dsx::session;
using namespace dsx::session::live;

namespace {

auth::Principal Who(const std::string& sub, std::vector<auth::Right> rights) {
  auth::Principal p;
  p.sub = sub;
  p.exp_s = 1;
  p.grants.push_back({"chat/*", std::move(rights)});
  return p;
}

struct Machine {
  SessionState st;
  LeaseLimits limits;
  std::int64_t now = 1000;
  Checked Do(const auth::Principal& who, json draft) {
    auto d = NormalizeDraft(draft);
    REQUIRE(d.ok());
    Checked c = CheckDraft(st, who, "chat/1", *d, now, limits);
    if (c.status == 200) {
      for (const auto& e : c.events) ApplyEffects(st, e, now);
    }
    return c;
  }
};

const auth::Principal kAgent = Who("agent", {auth::Right::kRun});
const auth::Principal kAlice =
    Who("alice", {auth::Right::kRead, auth::Right::kAppend, auth::Right::kCancelOwn, auth::Right::kSteer});
const auth::Principal kViewer = Who("viewer", {auth::Right::kRead});
const auth::Principal kOps = Who("ops", {auth::Right::kCancelAny});

}  // namespace

TEST_CASE("run lifecycle: start, message, end; state rebuilt by replay is identical") {
  Machine m;
  auto s = m.Do(kAgent, {{"type", "run.start"}, {"run", "r1"}, {"data", {{"lease_ms", 5000}}}});
  REQUIRE(s.status == 200);
  CHECK(s.answer["epoch"] == 1);
  CHECK(s.answer["lease_ms"] == 5000);
  CHECK(s.events[0]["from"]["sub"] == "agent");
  CHECK(s.events[0]["lane"] == "main");
  CHECK(m.Do(kAgent, {{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}}).status == 200);
  CHECK(m.Do(kAgent, {{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"text", "x"}}}}).status == 200);
  CHECK(m.Do(kAgent, {{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}}).status == 400);  // no text
  CHECK(m.Do(kAgent, {{"type", "msg.append"}, {"run", "r1"}, {"msg", "nope"}, {"data", {{"text", "x"}}}}).status ==
        409);
  CHECK(m.Do(kAlice, {{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"text", "x"}}}}).status == 403);
  CHECK(m.Do(kAgent, {{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", "bogus"}}}}).status == 400);
  CHECK(m.Do(kAgent, {{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", "done"}}}}).status == 200);
  CHECK_FALSE(m.st.runs["r1"].active);
  // A retried run.end is a duplicate, not an error.
  CHECK(m.Do(kAgent, {{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", "done"}}}}).duplicate);
  // Stale writer after the end.
  auto stale = m.Do(kAgent, {{"type", "msg.start"}, {"run", "r1"}, {"msg", "m2"}});
  CHECK(stale.status == 409);
  CHECK(stale.error.find("stale writer") != std::string::npos);
}

TEST_CASE("control routing: rights, ownership, ended runs, implicit acks") {
  Machine m;
  auto alice_agent = Who("alice", {auth::Right::kRun, auth::Right::kCancelOwn});
  REQUIRE(m.Do(kAgent, {{"type", "run.start"}, {"run", "r1"}}).status == 200);
  REQUIRE(m.Do(alice_agent, {{"type", "run.start"}, {"run", "r2"}, {"lane", "b"}}).status == 200);
  // A viewer cannot cancel; cancel_own only for own runs; cancel_any anything.
  CHECK(m.Do(kViewer, {{"type", "control.cancel"}, {"run", "r1"}}).status == 403);
  auto own = m.Do(kAlice, {{"type", "control.cancel"}, {"run", "r1"}});
  CHECK(own.status == 403);
  CHECK(own.error.find("started by 'agent'") != std::string::npos);
  CHECK(m.Do(alice_agent, {{"type", "control.cancel"}, {"run", "r2"}, {"id", "k-own"}}).status == 200);
  auto any = m.Do(kOps, {{"type", "control.cancel"}, {"run", "r1"}, {"id", "k1"}});
  REQUIRE(any.status == 200);
  CHECK(any.answer["outcome"]["outcome"] == "pending");
  CHECK(any.events[0]["lane"] == "main");
  CHECK(m.Do(kViewer, {{"type", "control.steer"}, {"run", "r1"}, {"data", {{"text", "x"}}}}).status == 403);
  CHECK(m.Do(kAlice, {{"type", "control.steer"}, {"run", "r1"}}).status == 400);  // no text/json
  CHECK(m.Do(kAlice, {{"type", "control.steer"}, {"run", "r1"}, {"id", "k2"}, {"data", {{"text", "short"}}}}).status ==
        200);
  CHECK(m.Do(kAlice, {{"type", "control.cancel"}, {"run", "nope"}}).status == 404);
  // Only the run's agent answers, and only pending requests.
  CHECK(
      m.Do(kAlice, {{"type", "control.ack"}, {"run", "r1"}, {"id", "k2"}, {"data", {{"outcome", "applied"}}}}).status ==
      403);
  CHECK(
      m.Do(kAgent, {{"type", "control.ack"}, {"run", "r1"}, {"id", "k2"}, {"data", {{"outcome", "applied"}}}}).status ==
      200);
  CHECK(
      m.Do(kAgent, {{"type", "control.ack"}, {"run", "r1"}, {"id", "k2"}, {"data", {{"outcome", "applied"}}}}).status ==
      409);
  // The run ends cancelled with k1 unanswered: the server acks it as applied.
  auto end = m.Do(kAgent, {{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", "cancelled"}}}});
  REQUIRE(end.status == 200);
  REQUIRE(end.events.size() == 2);
  CHECK(end.events[1]["type"] == "control.ack");
  CHECK(end.events[1]["id"] == "k1");
  CHECK(end.events[1]["data"]["outcome"] == "applied");
  CHECK(end.events[1]["from"]["sub"] == kServerSub);
  // A cancel for the ended run is logged and answered at once: rejected, with the reason.
  auto late = m.Do(kOps, {{"type", "control.cancel"}, {"run", "r1"}, {"id", "k3"}});
  REQUIRE(late.status == 200);
  REQUIRE(late.events.size() == 2);
  CHECK(late.answer["outcome"]["outcome"] == "rejected");
  CHECK(late.events[1]["data"]["reason"] == "run 'r1' already ended (cancelled)");
}

TEST_CASE("lanes: a busy lane refuses a second run unless it takes over; the zombie is fenced") {
  Machine m;
  auto agent2 = Who("agent2", {auth::Right::kRun, auth::Right::kCancelAny});  // a takeover ends r1: needs cancel rights
  REQUIRE(m.Do(kAgent, {{"type", "run.start"}, {"run", "r1"}, {"lane", "a"}}).status == 200);
  REQUIRE(m.Do(kAgent, {{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}}).status == 200);
  CHECK(m.Do(agent2, {{"type", "run.start"}, {"run", "r2"}, {"lane", "a"}}).status == 409);
  CHECK(m.Do(agent2, {{"type", "run.start"}, {"run", "r3"}, {"lane", "b"}}).status == 200);  // other lane: fine
  auto take = m.Do(agent2, {{"type", "run.start"}, {"run", "r2"}, {"lane", "a"}, {"data", {{"takeover", true}}}});
  REQUIRE(take.status == 200);
  CHECK(take.answer["epoch"] == 2);
  REQUIRE(take.events.size() == 2);
  CHECK(take.events[0]["type"] == "run.end");
  CHECK(take.events[0]["data"]["superseded_by"] == "r2");
  auto zombie = m.Do(kAgent, {{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"text", "late"}}}});
  CHECK(zombie.status == 409);
  CHECK(zombie.error.find("epoch 2") != std::string::npos);
}

TEST_CASE("leases: a lapsed run gets run.end agent_lost and acks for pending requests") {
  Machine m;
  REQUIRE(m.Do(kAgent, {{"type", "run.start"}, {"run", "r1"}, {"data", {{"lease_ms", 2000}}}}).status == 200);
  REQUIRE(m.Do(kOps, {{"type", "control.cancel"}, {"run", "r1"}, {"id", "k1"}}).status == 200);
  const RunInfo& r = m.st.runs["r1"];
  CHECK(r.deadline_ms == m.now + 2000);
  auto events = LeaseLostEvents(r, m.now + 2001);
  REQUIRE(events.size() == 2);
  CHECK(events[0]["data"]["reason"] == "agent_lost");
  CHECK(events[0]["from"]["sub"] == kServerSub);
  CHECK(events[1]["data"]["outcome"] == "rejected");
  for (const auto& e : events) ApplyEffects(m.st, e, m.now);
  CHECK_FALSE(m.st.runs["r1"].active);
  CHECK(m.st.runs["r1"].pending.empty());
  // Lease clamping.
  REQUIRE(m.Do(kAgent, {{"type", "run.start"}, {"run", "r9"}, {"lane", "z"}, {"data", {{"lease_ms", 1}}}}).status ==
          200);
  CHECK(m.st.runs["r9"].lease_ms == m.limits.min_ms);
}

TEST_CASE("reserved types and app events") {
  Machine m;
  CHECK(m.Do(kAlice, {{"type", "presence.join"}}).status == 400);
  CHECK(m.Do(kAlice, {{"type", "session.created"}}).status == 400);
  CHECK(m.Do(kAlice, {{"type", "user.message"}, {"data", {{"text", "hi"}}}}).status == 200);
  CHECK(m.Do(kViewer, {{"type", "user.message"}}).status == 403);
  CHECK(m.Do(kAlice, {{"type", "run.start"}}).status == 403);  // no `run` right
  CHECK(m.Do(kAgent, {{"type", "msg.start"}}).status == 400);  // needs a run
}
