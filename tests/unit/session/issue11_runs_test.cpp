// Issue 11, items 7 and 10: a takeover needs the right to cancel the run it ends; once the
// agent has applied a cancel the server takes no more output of that run (also after a
// restart); and the run state never throws on event data of the wrong type. The client side of
// item 10 (the agent's process group, the runner's producer) is tests/unit/session_client/
// agent_process_test.cpp.
#include <doctest/doctest.h>

#include <string>

#include "hub_fixture.hpp"
#include "session/live/session_state.hpp"

using namespace dsx::session;
using namespace dsx::session::live;
using auth::Right;

namespace {

auth::Principal Who(const std::string& sub, std::vector<Right> rights) {
  auth::Principal p;
  p.sub = sub;
  p.exp_s = 1;
  p.grants.push_back({"chat/*", std::move(rights)});
  return p;
}

// The state machine alone, as live_state_test.cpp drives it.
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

json Start(const std::string& run, const std::string& lane, bool takeover = false) {
  json d = {{"type", "run.start"}, {"run", run}, {"lane", lane}};
  if (takeover) d["data"] = {{"takeover", true}};
  return d;
}

json Append(const std::string& run, const std::string& msg, const std::string& text) {
  return {{"type", "msg.append"}, {"run", run}, {"msg", msg}, {"data", {{"text", text}}}};
}

json Ack(const std::string& run, const std::string& id, const std::string& outcome) {
  return {{"type", "control.ack"}, {"run", run}, {"id", id}, {"data", {{"outcome", outcome}}}};
}

}  // namespace

// ---------------------------------------------------------------- item 7: takeover rights

TEST_CASE("issue 11 item 7: takeover without a cancel right on the replaced run is 403 and changes nothing") {
  Machine m;
  const auto owner = Who("agent", {Right::kRun});
  const auto runner_only = Who("bob", {Right::kRun});
  const auto own_only = Who("carol", {Right::kRun, Right::kCancelOwn});
  REQUIRE(m.Do(owner, Start("r1", "main")).status == 200);

  auto take = m.Do(runner_only, Start("r2", "main", true));
  CHECK(take.status == 403);
  CHECK(take.error == "cannot take over lane 'main': token for 'bob' lacks 'cancel_any' on 'chat/1' (run 'r1' was started by "
                   "'agent')");
  CHECK(take.events.empty());
  auto other = m.Do(own_only, Start("r3", "main", true));
  CHECK(other.status == 403);
  CHECK(other.error.find("'carol' may cancel only runs it started (run 'r1' was started by 'agent')") !=
        std::string::npos);
  // Nothing happened: r1 still owns the lane, no epoch was used.
  CHECK(m.st.runs["r1"].active);
  CHECK(m.st.lane_run["main"] == "r1");
  CHECK(m.st.lane_epoch["main"] == 1);
  CHECK(m.st.runs.count("r2") == 0);
}

TEST_CASE("issue 11 item 7: takeover with cancel_own of one's own run, or with cancel_any, is allowed") {
  Machine m;
  const auto carol = Who("carol", {Right::kRun, Right::kCancelOwn});
  const auto ops = Who("ops", {Right::kRun, Right::kCancelAny});
  REQUIRE(m.Do(carol, Start("r1", "main")).status == 200);
  auto own = m.Do(carol, Start("r2", "main", true));  // carol restarts her own agent
  REQUIRE(own.status == 200);
  CHECK(own.events[0]["type"] == "run.end");
  CHECK(own.events[0]["run"] == "r1");
  auto any = m.Do(ops, Start("r3", "main", true));  // ops ends carol's run
  REQUIRE(any.status == 200);
  CHECK(any.events[0]["run"] == "r2");
  CHECK(any.answer["epoch"] == 3);
  CHECK_FALSE(m.st.runs["r2"].active);
  CHECK(m.st.lane_run["main"] == "r3");
}

TEST_CASE("issue 11 item 7: takeover is checked through the hub the same way (403 leaves the log alone)") {
  testing::HubFixture f;
  const auto agent = Who("agent", {Right::kRun});
  const auto bob = Who("bob", {Right::kRun});
  REQUIRE(f.Post(Start("r1", "main"), &agent).status == 200);
  const std::size_t before = f.All().size();
  auto r = f.Post(Start("r2", "main", true), &bob);
  CHECK(r.status == 403);
  CHECK(f.All().size() == before);
}

TEST_CASE("issue 11: a takeover of the wrong JSON type is 400 from the state machine, not a throw") {
  Machine m;
  const auto ops = Who("ops", {Right::kRun, Right::kCancelAny});
  REQUIRE(m.Do(ops, Start("r1", "main")).status == 200);
  for (const json& v : {json("yes"), json(1), json(nullptr), json::array(), json::object()}) {
    CAPTURE(v.dump());
    json d = {{"type", "run.start"}, {"run", "r2"}, {"data", {{"takeover", v}}}};
    Checked c;
    CHECK_NOTHROW(c = CheckDraft(m.st, ops, "chat/1", d, m.now, m.limits));
    CHECK(c.status == 400);
    CHECK(c.error == "data.takeover must be a boolean");
  }
  CHECK(m.st.runs["r1"].active);
}

TEST_CASE("issue 11: replaying events of the wrong JSON types never throws") {
  // What an admin may have written raw to the session's stream: the replay after a restart
  // must survive it (these threw type_error from json::value()).
  SessionState st;
  const std::vector<json> junk = {
      {{"type", 5}},
      {{"type", "run.start"},
       {"run", 7},
       {"lane", json::array()},
       {"from", "x"},
       {"data", {{"epoch", "x"}, {"lease_ms", "y"}}}},
      {{"type", "run.start"}, {"run", "r1"}, {"from", {{"sub", 1}, {"device", json::object()}}}, {"data", 3}},
      {{"type", "msg.start"}, {"run", "r1"}, {"msg", 9}},
      {{"type", "control.cancel"}, {"run", "r1"}, {"id", json::array()}},
      {{"type", "control.ack"}, {"run", "r1"}, {"id", 4}, {"data", {{"outcome", 1}}}},
      {{"type", "msg.end"}, {"run", "r1"}, {"msg", nullptr}},
      {{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", false}}}},
  };
  for (const json& e : junk) {
    CAPTURE(e.dump());
    CHECK_NOTHROW(ApplyEffects(st, e, 1000));
  }
  REQUIRE(st.runs.count("r1") == 1);
  CHECK(st.runs["r1"].owner == "");
  CHECK(st.runs["r1"].lease_ms == 15000);
  // The state machine itself, handed a draft that skipped NormalizeDraft.
  const auto ops = Who("ops", {Right::kRun, Right::kCancelAny, Right::kAppend});
  CHECK_NOTHROW(CheckDraft(st, ops, "chat/1", json::array({1, 2}), 1000, LeaseLimits{}));
  CHECK(CheckDraft(st, ops, "chat/1", json::array({1, 2}), 1000, LeaseLimits{}).status == 400);
  CHECK_NOTHROW(CheckDraft(st, ops, "chat/1", json{{"type", "run.start"}, {"data", 5}}, 1000, LeaseLimits{}));
}

// ---------------------------------------------------------------- item 10: the reply ends at the cancel

TEST_CASE("issue 11 item 10: after the agent applies a cancel, the run's output is refused (409)") {
  Machine m;
  const auto agent = Who("agent", {Right::kRun});
  const auto ops = Who("ops", {Right::kCancelAny});
  REQUIRE(m.Do(agent, Start("r-1", "main")).status == 200);
  REQUIRE(m.Do(agent, {{"type", "msg.start"}, {"run", "r-1"}, {"msg", "m1"}}).status == 200);
  REQUIRE(m.Do(ops, {{"type", "control.cancel"}, {"run", "r-1"}, {"id", "k-1"}}).status == 200);
  // Pending: the agent has not seen it yet, its output still counts.
  CHECK(m.Do(agent, Append("r-1", "m1", "before the ack")).status == 200);
  REQUIRE(m.Do(agent, Ack("r-1", "k-1", "applied")).status == 200);

  auto late = m.Do(agent, Append("r-1", "m1", "after the ack"));
  CHECK(late.status == 409);
  CHECK(late.error == "run 'r-1' was cancelled (request 'k-1' applied): no more output is accepted");
  CHECK(late.events.empty());
  CHECK(m.Do(agent, {{"type", "msg.start"}, {"run", "r-1"}, {"msg", "m2"}}).status == 409);
  // Closing what is open is still fine, and ends the run the normal way.
  CHECK(m.Do(agent, {{"type", "msg.end"}, {"run", "r-1"}, {"msg", "m1"}}).status == 200);
  auto end = m.Do(agent, {{"type", "run.end"}, {"run", "r-1"}, {"data", {{"reason", "cancelled"}}}});
  CHECK(end.status == 200);
}

TEST_CASE("issue 11 item 10: a rejected cancel, or an applied steer, does not cut the output") {
  Machine m;
  const auto agent = Who("agent", {Right::kRun});
  const auto ops = Who("ops", {Right::kCancelAny, Right::kSteer});
  REQUIRE(m.Do(agent, Start("r1", "main")).status == 200);
  REQUIRE(m.Do(agent, {{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}}).status == 200);
  REQUIRE(m.Do(ops, {{"type", "control.cancel"}, {"run", "r1"}, {"id", "k1"}}).status == 200);
  REQUIRE(m.Do(ops, {{"type", "control.steer"}, {"run", "r1"}, {"id", "k2"}, {"data", {{"text", "x"}}}}).status == 200);
  REQUIRE(m.Do(agent, Ack("r1", "k1", "rejected")).status == 200);
  REQUIRE(m.Do(agent, Ack("r1", "k2", "applied")).status == 200);
  CHECK(m.Do(agent, Append("r1", "m1", "still streaming")).status == 200);
  // An ack for an id that is not a pending cancel (refused anyway) cuts nothing either.
  CHECK(m.Do(agent, Ack("r1", "k1", "applied")).status == 409);
  CHECK(m.Do(agent, Append("r1", "m1", "more")).status == 200);
}

TEST_CASE("issue 11 item 10: the cut survives a restart (state rebuilt from the log) and reaches the hub's answer") {
  testing::HubFixture f;
  REQUIRE(f.Post(Start("r1", "main")).status == 200);
  REQUIRE(f.Post({{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}}).status == 200);
  REQUIRE(f.Post(Append("r1", "m1", "a")).status == 200);
  REQUIRE(f.Post({{"type", "control.cancel"}, {"run", "r1"}, {"id", "k1"}}).status == 200);
  REQUIRE(f.Post(Ack("r1", "k1", "applied")).status == 200);
  auto r = f.Post(Append("r1", "m1", "b"));
  CHECK(r.status == 409);
  CHECK(r.body.value("error", "").find("run 'r1' was cancelled") != std::string::npos);
  const std::size_t n = f.All().size();
  f.hub = std::make_unique<SessionHub>(f.service);  // a server restart
  CHECK(f.Post(Append("r1", "m1", "c")).status == 409);
  CHECK(f.All().size() == n);
  // In a batch the refusal takes the whole batch down (atomic), as for any refused draft.
  auto batch = f.Post(json::array({{{"type", "user.note"}}, Append("r1", "m1", "d")}));
  CHECK(batch.status == 409);
  CHECK(f.All().size() == n);
}
