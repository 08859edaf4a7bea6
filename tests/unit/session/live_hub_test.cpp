// SessionHub over the memory store: offsets in answers match what readers see, leases expire
// into run.end agent_lost, state is rebuilt from the log, presence follows runs.
#include <doctest/doctest.h>

#include "core/clock.hpp"
#include "hub_fixture.hpp"
#include "session/live/compactor.hpp"
#include "session/live/session_hub.hpp"
#include "session/model/offset.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::live;

namespace {

using Fixture = testing::HubFixture;

}  // namespace

TEST_CASE("answers carry the offsets readers see; events are stamped") {
  Fixture f;
  auto a = f.Post({{"type", "user.message"}, {"from", {{"sub", "mallory"}}}, {"data", {{"text", "hi"}}}});
  REQUIRE(a.status == 200);
  auto b = f.Post({{"type", "run.start"}, {"run", "r1"}});
  REQUIRE(b.status == 200);
  CHECK(b.body["run"] == "r1");
  CHECK_FALSE(b.body.value("duplicate", false));  // a first write is not a retry
  auto batch =
      f.Post(json::array({{{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}},
                          {{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"text", "héllo"}}}}}));
  REQUIRE(batch.status == 200);
  auto events = f.All();
  REQUIRE(events.size() == 4);
  CHECK(FormatOffset(events[0].offset) == a.body["events"][0]["offset"]);
  CHECK(FormatOffset(events[1].offset) == b.body["offset"]);
  CHECK(FormatOffset(events[2].offset) == batch.body["events"][0]["offset"]);
  CHECK(FormatOffset(events[3].offset) == batch.body["offset"]);
  CHECK(events[0].body["from"]["sub"] == "anonymous");
  CHECK(events[0].body["ts"].is_number_integer());
  for (std::size_t i = 1; i < events.size(); ++i) CHECK(events[i].offset > events[i - 1].offset);
  // Resuming from an event's offset gives the next event.
  HubReply err;
  auto s = f.hub->Stream("chat/1", &err);
  auto page = ReadEvents(f.service, s, events[1].offset);
  REQUIRE(page.events.size() == 2);
  CHECK(page.events[0].type() == "msg.start");
}

TEST_CASE("a batch is atomic: one bad draft refuses all") {
  Fixture f;
  auto r = f.Post(json::array({{{"type", "run.start"}, {"run", "r1"}},
                               {{"type", "msg.append"}, {"run", "r1"}, {"msg", "x"}, {"data", {{"text", "a"}}}}}));
  CHECK(r.status == 409);
  CHECK(f.All().empty());
  CHECK(f.Post({{"type", "run.start"}, {"run", "r1"}}).status == 200);  // r1 was not created by the failed batch
}

TEST_CASE("lease expiry appends run.end agent_lost; presence goes lost then leaves") {
  Fixture f;
  std::vector<json> presence;
  f.hub->Subscribe("chat/1", [&](const json& e) { presence.push_back(e); });
  REQUIRE(f.Post({{"type", "run.start"}, {"run", "r1"}, {"data", {{"lease_ms", 1000}}}}).status == 200);
  REQUIRE(presence.size() == 1);
  CHECK(presence[0]["type"] == "presence.join");
  CHECK(presence[0]["data"]["kind"] == "agent");
  CHECK(f.hub->PresenceList("chat/1").size() == 1);
  f.clock.Advance(999);
  f.hub->Tick(f.clock.NowMs());  // not yet
  CHECK(f.All().size() == 1);
  CHECK(f.hub->Heartbeat("chat/1", f.open, "r1", "tool").status == 204);  // the lease runs from here
  f.clock.Advance(999);
  f.hub->Tick(f.clock.NowMs());
  CHECK(f.All().size() == 1);
  f.clock.Advance(1);
  f.hub->Tick(f.clock.NowMs());  // a lease after the heartbeat
  auto events = f.All();
  REQUIRE(events.size() == 2);
  CHECK(events[1].type() == "run.end");
  CHECK(events[1].body["data"]["reason"] == "agent_lost");
  CHECK(events[1].body["ts"] == f.clock.NowMs());  // stamped by the hub's clock
  CHECK(f.hub->Heartbeat("chat/1", f.open, "r1", "").status == 409);
  CHECK(presence.back()["type"] == "presence.leave");
  CHECK(f.hub->PresenceList("chat/1").empty());
  CHECK(f.Post({{"type", "msg.start"}, {"run", "r1"}}).status == 409);
}

TEST_CASE("run state is rebuilt from the log by a fresh hub (server restart)") {
  Fixture f;
  REQUIRE(f.Post({{"type", "run.start"}, {"run", "r1"}}).status == 200);
  REQUIRE(f.Post({{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}}).status == 200);
  f.hub = std::make_unique<SessionHub>(f.service);
  auto runs = f.hub->Runs("chat/1");
  REQUIRE(runs.body["runs"].size() == 1);
  CHECK(f.Post({{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"text", "x"}}}}).status == 200);
  CHECK(f.Post({{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}}).body.value("duplicate", false));
  HubReply err;
  std::uint64_t tail = 0;
  auto view = BuildView(f.service, f.hub->Stream("chat/1", &err), LaneFilter{}, &tail);
  REQUIRE(view.ok());
  CHECK((*view)["items"][1]["data"]["text"] == "x");
}

TEST_CASE("unknown sessions and non-JSON streams are refused") {
  Fixture f;
  HubReply r;
  f.hub->Submit("nope", f.open, json{{"type", "x"}}, std::nullopt, [&](HubReply x) { r = x; });
  CHECK(r.status == 404);
  CreateArgs a;
  a.path = "/v1/stream/bytes";
  f.service.Create(a, [](Reply) {});
  f.hub->Submit("bytes", f.open, json{{"type", "x"}}, std::nullopt, [&](HubReply x) { r = x; });
  CHECK(r.status == 409);
}

TEST_CASE("posted presence leaves when its TTL lapses on the hub's clock; a refresh extends it") {
  Fixture f;
  std::vector<json> events;
  f.hub->Subscribe("chat/1", [&](const json& e) { events.push_back(e); });
  const auth::Principal ann = auth::Principal::Open();
  const std::int64_t t0 = f.clock.NowMs();
  f.hub->PresenceSet("chat/1", "post:ann/laptop", ann, "client", "online", 30'000);
  REQUIRE(events.size() == 1);
  CHECK(events[0]["type"] == "presence.join");
  CHECK(events[0]["data"]["since"] == t0);
  f.clock.Advance(20'000);
  f.hub->PresenceSet("chat/1", "post:ann/laptop", ann, "client", "online", 30'000);  // refresh: now + 30 s
  CHECK(events.size() == 1);  // nothing changed that members see ("since" stays)
  f.clock.Advance(29'999);
  f.hub->Tick(f.clock.NowMs());
  CHECK(f.hub->PresenceList("chat/1").size() == 1);
  f.clock.Advance(1);
  f.hub->Tick(f.clock.NowMs());
  CHECK(f.hub->PresenceList("chat/1").empty());
  REQUIRE(events.size() == 2);
  CHECK(events[1]["type"] == "presence.leave");
}

// Regression (found by the Python client's tests, issue 17): a producer's retry of a request
// that was stored but whose answer was lost met a state that already held its effects (the ack
// answered its request) and was refused 409 "no pending control request". It must be answered
// as a duplicate, writing nothing; a request that is no retry keeps its refusal.
TEST_CASE("a producer's retry of a stored request is a duplicate even when the state moved on") {
  Fixture f;
  auto post = [&](json draft, std::uint64_t seq) {
    HubReply out;
    out.status = -1;
    f.hub->Submit("chat/1", f.open, std::move(draft), ProducerArgs{"agent-1", 0, seq},
                  [&](HubReply r) { out = std::move(r); });
    REQUIRE(out.status != -1);
    return out;
  };
  REQUIRE(post({{"type", "run.start"}, {"run", "r1"}}, 0).status == 200);
  REQUIRE(f.Post({{"type", "control.steer"}, {"run", "r1"}, {"id", "k-1"}, {"data", {{"text", "shorter"}}}}).status ==
          200);
  const json ack = {{"type", "control.ack"}, {"run", "r1"}, {"id", "k-1"}, {"data", {{"outcome", "applied"}}}};
  REQUIRE(post(ack, 1).status == 200);
  const std::size_t stored = f.All().size();
  auto retry = post(ack, 1);
  INFO(retry.body.dump());
  CHECK(retry.status == 200);
  CHECK(retry.body.value("duplicate", false));
  CHECK(f.All().size() == stored);  // nothing written
  auto next = post(ack, 2);         // the same ack as a new request: refused, as before
  CHECK(next.status == 409);
  CHECK(f.All().size() == stored);
  CHECK(post({{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", "done"}}}}, 2).status == 200);
}

TEST_CASE("CheckRunStart answers what a run.start would meet, and changes nothing") {
  Fixture f;
  auth::Principal reader;
  reader.sub = "reader";
  reader.exp_s = 1;
  reader.grants.push_back({"chat/*", {auth::Right::kRead}});
  const std::uint64_t before = f.All().size();
  CHECK(f.hub->CheckRunStart("chat/1", f.open, "main").status == 200);
  CHECK(f.hub->CheckRunStart("chat/1", reader, "main").status == 403);
  CHECK(f.All().size() == before);  // a check stores nothing

  REQUIRE(f.Post({{"type", "run.start"}, {"run", "r1"}}).status == 200);
  HubReply busy = f.hub->CheckRunStart("chat/1", f.open, "main");
  CHECK(busy.status == 409);
  // The same refusal a run.start gets from the full check.
  HubReply refused = f.Post({{"type", "run.start"}, {"run", "r2"}});
  CHECK(refused.status == 409);
  CHECK(busy.body["error"] == refused.body["error"]);
  CHECK(f.hub->CheckRunStart("chat/1", f.open, "other").status == 200);  // another lane is free

  REQUIRE(f.Post({{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", "done"}}}}).status == 200);
  CHECK(f.hub->CheckRunStart("chat/1", f.open, "main").status == 200);
  CHECK(f.hub->CheckRunStart("nope/1", f.open, "main").status == 404);
}
