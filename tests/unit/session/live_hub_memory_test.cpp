// What the SessionHub keeps in memory: names that are not sessions leave at the next tick, an
// idle session leaves after HubOptions::idle_evict_ms and comes back from its log unchanged,
// and nothing that lives only in memory (an active run's lease, presence, subscribers) is
// dropped. Also run under TSan (tsan_hub): eviction racing request threads.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>

#include "hub_fixture.hpp"
#include "session/live/session_hub.hpp"

using namespace dsx::session;
using namespace dsx::session::live;

namespace {

using Fixture = testing::HubFixture;
constexpr std::int64_t kIdle = HubOptions{}.idle_evict_ms;


void CreateSession(Fixture& f, const std::string& id) {
  HubReply r;
  f.hub->Create(id, [&](HubReply x) { r = x; });
  REQUIRE(r.status == 201);
}

}  // namespace

TEST_CASE("names that are not sessions leave memory at the next tick") {
  Fixture f;
  for (int i = 0; i < 1000; ++i) CHECK(f.hub->Info("nope/" + std::to_string(i)).status == 404);
  CHECK(f.hub->Runs("nope/x").status == 404);
  HubReply err;
  CHECK_FALSE(f.hub->Stream("nope/y", &err));
  CHECK(f.hub->SessionsInMemory() >= 1000);  // every lookup took an entry...
  REQUIRE(f.Post({{"type", "user.message"}, {"data", {{"text", "hi"}}}}).status == 200);
  f.hub->Tick(f.clock.NowMs());
  CHECK(f.hub->SessionsInMemory() == 1);  // ...and only the real session, used just now, stays
}

TEST_CASE("an idle session leaves memory after idle_evict_ms and comes back from its log") {
  Fixture f;
  REQUIRE(f.Post({{"type", "run.start"}, {"run", "r1"}}).status == 200);
  REQUIRE(f.Post({{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}}).status == 200);
  REQUIRE(f.Post({{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", "done"}}}}).status == 200);
  f.clock.Advance(kIdle - 1);
  f.hub->Tick(f.clock.NowMs());
  CHECK(f.hub->SessionsInMemory() == 1);  // used less than idle_evict_ms ago
  f.clock.Advance(1);
  f.hub->Tick(f.clock.NowMs());
  CHECK(f.hub->SessionsInMemory() == 0);
  // Rebuilt from the log: the ended run stays ended, the message id stays taken, the lane's
  // epoch goes on from where it was.
  HubReply late = f.Post({{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"text", "x"}}}});
  CHECK(late.status == 409);
  CHECK(late.body["error"].get<std::string>().find("has ended") != std::string::npos);
  HubReply next = f.Post({{"type", "run.start"}, {"run", "r2"}});
  REQUIRE(next.status == 200);
  CHECK(next.body["epoch"] == 2);
  CHECK(f.Post({{"type", "msg.start"}, {"run", "r2"}, {"msg", "m1"}}).status == 409);
  CHECK(f.hub->SessionsInMemory() == 1);
}

TEST_CASE("an active run, a presence member or a subscriber keeps a session in memory") {
  Fixture f;
  REQUIRE(f.Post({{"type", "run.start"}, {"run", "r1"}, {"data", {{"lease_ms", 600000}}}}).status == 200);
  CreateSession(f, "chat/2");
  const std::uint64_t token = f.hub->Subscribe("chat/2", [](const json&) {});
  CreateSession(f, "chat/3");
  f.hub->PresenceSet("chat/3", "conn-1", f.open, "client", "", 0);  // held by a connection
  f.clock.Advance(2 * kIdle);  // well past idle_evict_ms, within the lease
  f.hub->Tick(f.clock.NowMs());
  CHECK(f.hub->SessionsInMemory() == 3);
  CHECK(f.hub->Info("chat/1").body["runs"].size() == 1);

  f.hub->Unsubscribe("chat/2", token);
  f.hub->PresenceLeave("chat/3", "conn-1");
  f.clock.Advance(kIdle);
  f.hub->Tick(f.clock.NowMs());
  CHECK(f.hub->SessionsInMemory() == 1);  // chat/1: its run is still active
}

TEST_CASE("a lease still lapses in a session nobody touches, which then leaves memory") {
  Fixture f;
  REQUIRE(f.Post({{"type", "run.start"}, {"run", "r1"}, {"data", {{"lease_ms", 1000}}}}).status == 200);
  f.clock.Advance(1000);
  f.hub->Tick(f.clock.NowMs());
  auto events = f.All();
  REQUIRE(events.size() == 2);
  CHECK(events[1].body["data"]["reason"] == "agent_lost");
  f.clock.Advance(kIdle);
  f.hub->Tick(f.clock.NowMs());
  CHECK(f.hub->SessionsInMemory() == 0);
}

TEST_CASE("eviction racing writers loses no run state") {
  Fixture f;
  HubOptions eager;
  eager.idle_evict_ms = 0;  // every idle moment is a chance to drop the session
  f.hub = std::make_unique<SessionHub>(f.service, eager);
  std::atomic<bool> stop{false};
  std::thread reaper([&] {
    while (!stop.load()) f.hub->Tick(f.clock.NowMs());
  });
  constexpr int kRuns = 150;
  int failures = 0;
  for (int i = 0; i < kRuns; ++i) {
    const std::string run = "r" + std::to_string(i);
    failures += f.Post({{"type", "run.start"}, {"run", run}}).status != 200;
    failures += f.Post({{"type", "msg.start"}, {"run", run}, {"msg", "m" + std::to_string(i)}}).status != 200;
    // Refused: the lane is busy. A state dropped while the run was active would accept it.
    failures += f.Post({{"type", "run.start"}, {"run", run + "-twin"}}).status != 409;
    failures += f.Post({{"type", "run.end"}, {"run", run}, {"data", {{"reason", "done"}}}}).status != 200;
  }
  stop.store(true);
  reaper.join();
  CHECK(failures == 0);
  CHECK(f.All().size() == 3 * kRuns);
  HubReply r = f.Post({{"type", "run.start"}, {"run", "last"}});
  REQUIRE(r.status == 200);
  CHECK(r.body["epoch"] == kRuns + 1);
}
