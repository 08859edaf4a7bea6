// Leases after a restart: a fresh hub over a service that already holds a session with an
// open run (its agent died while the server was down) finds it without any request, and the
// reaper ends the run agent_lost once the lease, counted from the restart, lapses. Time is a
// ManualClock shared by the service and its hubs, so "the server was down a minute" is one call.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "core/clock.hpp"
#include "session/live/session_hub.hpp"
#include "session/model/protocol_values.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::live;

namespace {

struct Fixture {
  dsx::ManualClock clock;
  StreamService service{MakeMemoryStore(), ServiceOptions{}, clock};
  auth::Principal open = auth::Principal::Open();
  Fixture() { REQUIRE(service.Open().ok()); }

  void Post(SessionHub& hub, const std::string& id, json draft) {
    HubReply out;
    out.status = -1;
    hub.Submit(id, open, draft, std::nullopt, [&](HubReply r) { out = std::move(r); });
    REQUIRE(out.status == 200);  // memory store: answered inline
  }
  void NewSession(SessionHub& hub, const std::string& id) {
    HubReply r;
    hub.Create(id, [&](HubReply x) { r = x; });
    REQUIRE(r.status == 201);
  }
  // The session's log, read straight from the service (no hub involved).
  std::vector<LogEvent> Log(const std::string& id) {
    ReadReply rr = service.Read(StreamPathFor(id), OffsetParam{});
    REQUIRE(rr.reply.status == 200);
    return ReadEvents(service, rr.stream, 0).events;
  }
  // Before the "restart": chat/open has a run whose agent is gone, chat/done a finished run,
  // plus a JSON stream that is no session and a byte stream.
  void Seed() {
    SessionHub before(service);
    NewSession(before, "chat/open");
    Post(before, "chat/open", {{"type", "run.start"}, {"run", "r1"}, {"data", {{"lease_ms", 1000}}}});
    Post(before, "chat/open", {{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}});
    NewSession(before, "chat/done");
    Post(before, "chat/done", {{"type", "run.start"}, {"run", "r1"}, {"data", {{"lease_ms", 1000}}}});
    Post(before, "chat/done", {{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", "done"}}}});
    CreateArgs j;
    j.path = StreamPathFor("metrics");
    j.content_type = "application/json";
    j.body = R"([{"cpu":1}])";
    service.Create(j, [](Reply) {});
    CreateArgs b;
    b.path = StreamPathFor("bytes");
    b.body = "raw";
    service.Create(b, [](Reply) {});
  }
};

}  // namespace

TEST_CASE("after a restart an open run ends agent_lost without any request") {
  Fixture f;
  f.Seed();
  f.clock.Advance(60'000);    // the server was down a minute: the old lease is long over
  SessionHub hub(f.service);  // the restarted server's hub: nothing loaded yet
  hub.Tick(f.clock.NowMs());
  CHECK(f.Log("chat/open").size() == 2);  // the gap: an untouched session is never reaped

  CHECK(hub.RecoverRuns() == 1);                     // only chat/open has an active run
  CHECK(hub.PresenceList("chat/open").size() == 1);  // its agent counts as present until the lease lapses
  f.clock.Advance(999);
  hub.Tick(f.clock.NowMs());  // the lease counts from the restart: not yet
  CHECK(f.Log("chat/open").size() == 2);
  f.clock.Advance(1);
  hub.Tick(f.clock.NowMs());
  auto events = f.Log("chat/open");
  REQUIRE(events.size() == 3);
  CHECK(events[2].type() == "run.end");
  CHECK(events[2].body["run"] == "r1");
  CHECK(events[2].body["data"]["reason"] == "agent_lost");
  CHECK(f.Log("chat/done").size() == 2);  // finished runs are left alone
  CHECK(hub.RecoverRuns() == 0);          // already loaded (and ended)
}

TEST_CASE("recovery skips sessions a request already loaded") {
  Fixture f;
  f.Seed();
  SessionHub hub(f.service);
  REQUIRE(hub.Runs("chat/open").body["runs"].size() == 1);  // a request loads it first
  CHECK(hub.RecoverRuns() == 0);
  f.clock.Advance(1000);
  hub.Tick(f.clock.NowMs());
  auto events = f.Log("chat/open");
  REQUIRE(events.size() == 3);
  CHECK(events[2].body["data"]["reason"] == "agent_lost");
}

TEST_CASE("the reaper recovers open runs by itself and ends them when the lease lapses") {
  Fixture f;
  f.Seed();
  HubOptions o;
  o.reaper_period_ms = 1;  // real time between checks; the ManualClock decides what lapsed
  SessionHub hub(f.service, o);
  hub.StartReaper();
  // The reaper and the recovery are threads: wait for them (not for a deadline), moving the
  // clock 100 ms a step, so the lease lapses ten steps after recovery loaded the run.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (f.Log("chat/open").size() < 3 && std::chrono::steady_clock::now() < give_up) {
    f.clock.Advance(100);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  hub.StopReaper();
  auto events = f.Log("chat/open");
  REQUIRE(events.size() == 3);
  CHECK(events[2].body["data"]["reason"] == "agent_lost");
  // Decided and stamped on the injected clock, not the machine's.
  CHECK(events[2].body["ts"].get<std::int64_t>() <= f.clock.NowMs());
  CHECK(events[2].body["ts"].get<std::int64_t>() >= 1'700'000'001'000);
}
