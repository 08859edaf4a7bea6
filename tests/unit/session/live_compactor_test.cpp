// The compacted view's promise (docs/protocol/sessions.md §10): for any log and any point T,
// folding the log up to T and then applying the live events after T gives exactly the texts
// that replaying the whole log gives. Checked for random interleavings of several messages,
// runs and lanes, random fragment sizes (including empty and multi-byte UTF-8) and random T.
#include <doctest/doctest.h>

#include <random>

#include "session/live/compactor.hpp"

using namespace dsx::session::live;

namespace {

struct Log {
  std::vector<LogEvent> events;
  std::uint64_t pos = 0;
  void Add(json body) {
    pos += 7 + body.dump().size();  // any increasing offsets will do
    events.push_back(LogEvent{pos, std::move(body)});
  }
};

Log RandomLog(std::mt19937& rng) {
  static const char* kPieces[] = {"a", "bc", "def ", "\n", "", "é", "日本", "🙂", "x y z", "\"q\""};
  Log log;
  const int runs = 1 + static_cast<int>(rng() % 3);
  struct Open {
    std::string run, msg, lane;
    int left;
  };
  std::vector<Open> open;
  for (int r = 0; r < runs; ++r) {
    const std::string run = "r" + std::to_string(r), lane = r % 2 ? "tools" : "main";
    log.Add({{"type", "run.start"}, {"run", run}, {"lane", lane}, {"data", json::object()}});
    for (int m = 0; m < 1 + static_cast<int>(rng() % 2); ++m) {
      Open o{run, run + "m" + std::to_string(m), lane, static_cast<int>(rng() % 40)};
      log.Add(
          {{"type", "msg.start"}, {"run", o.run}, {"msg", o.msg}, {"lane", lane}, {"data", {{"role", "assistant"}}}});
      open.push_back(o);
    }
  }
  while (!open.empty()) {
    const std::size_t i = rng() % open.size();
    Open& o = open[i];
    if (o.left-- <= 0) {
      if (rng() % 5 != 0) {
        log.Add({{"type", "msg.end"}, {"run", o.run}, {"msg", o.msg}, {"lane", o.lane}, {"data", json::object()}});
      }
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (rng() % 9 == 0) log.Add({{"type", "user.message"}, {"data", {{"text", "hi"}}}});
    log.Add({{"type", "msg.append"},
             {"run", o.run},
             {"msg", o.msg},
             {"lane", o.lane},
             {"data", {{"text", kPieces[rng() % 10]}}}});
  }
  return log;
}

std::map<std::string, std::string> Replay(const std::vector<LogEvent>& events) {
  TextAssembler a;
  for (const auto& e : events) a.AddEvent(e.Wire());
  return a.texts();
}

}  // namespace

TEST_CASE("compacted view + live events == full replay, for random logs and resume points") {
  std::mt19937 rng(20261126);
  for (int trial = 0; trial < 300; ++trial) {
    Log log = RandomLog(rng);
    const auto full = Replay(log.events);
    const std::size_t cut = rng() % (log.events.size() + 1);
    Compactor c;
    for (std::size_t i = 0; i < cut; ++i) c.Add(log.events[i]);
    TextAssembler a;
    for (const json& item : c.Items()) a.AddItem(item);
    // Live from the view's offset: exactly the events after the cut.
    for (std::size_t i = cut; i < log.events.size(); ++i) {
      CHECK(log.events[i].offset > c.offset());
      a.AddEvent(log.events[i].Wire());
    }
    CHECK(a.texts() == full);
    // Merging fragments (what a slow reader gets) changes nothing either.
    std::vector<LogEvent> tail(log.events.begin() + static_cast<std::ptrdiff_t>(cut), log.events.end());
    MergeFragments(tail);
    TextAssembler b;
    for (const json& item : c.Items()) b.AddItem(item);
    for (const auto& e : tail) b.AddEvent(e.Wire());
    CHECK(b.texts() == full);
  }
}

TEST_CASE("resuming from an event's offset continues exactly at the next fragment") {
  std::mt19937 rng(7);
  Log log = RandomLog(rng);
  const auto full = Replay(log.events);
  for (std::size_t k = 0; k < log.events.size(); ++k) {
    // A reader saw events [0, k] and resumes from events[k].offset: it gets those after it.
    std::vector<LogEvent> seen(log.events.begin(), log.events.begin() + static_cast<std::ptrdiff_t>(k + 1));
    for (const auto& e : log.events) {
      if (e.offset > log.events[k].offset) seen.push_back(e);
    }
    CHECK(Replay(seen) == full);
  }
}

TEST_CASE("compacted items: finished whole, in-flight streaming, aborted by a lost run") {
  Log log;
  log.Add({{"type", "run.start"}, {"run", "r1"}, {"lane", "main"}});
  log.Add({{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"role", "assistant"}}}});
  log.Add({{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"text", "Hel"}}}});
  log.Add({{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"text", "lo"}}}});
  log.Add({{"type", "msg.end"}, {"run", "r1"}, {"msg", "m1"}});
  log.Add({{"type", "msg.start"}, {"run", "r1"}, {"msg", "m2"}});
  log.Add({{"type", "msg.append"}, {"run", "r1"}, {"msg", "m2"}, {"data", {{"text", "Once"}}}});
  Compactor c;
  for (const auto& e : log.events) c.Add(e);
  auto items = c.Items();
  REQUIRE(items.size() == 3);
  CHECK(items[1]["data"]["text"] == "Hello");
  CHECK(items[1]["data"]["state"] == "done");
  CHECK(items[1]["data"]["role"] == "assistant");
  CHECK(items[2]["data"]["text"] == "Once");
  CHECK(items[2]["data"]["state"] == "streaming");
  log.Add({{"type", "run.end"}, {"run", "r1"}, {"data", {{"reason", "agent_lost"}}}});
  c.Add(log.events.back());
  items = c.Items();
  CHECK(items[2]["data"]["state"] == "aborted");
  CHECK(items.back()["type"] == "run.end");
}
