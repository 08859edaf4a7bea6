#include <doctest/doctest.h>

#include "session/live/event.hpp"

using namespace dsx::session::live;

TEST_CASE("drafts: server-owned fields are dropped, unknown fields and bad types refused") {
  auto d = NormalizeDraft(json{{"type", "user.message"},
                               {"from", {{"sub", "mallory"}}},
                               {"ts", 1},
                               {"offset", "x"},
                               {"data", {{"text", "hi"}}}});
  REQUIRE(d.ok());
  CHECK_FALSE(d->contains("from"));
  CHECK_FALSE(d->contains("ts"));
  CHECK_FALSE(d->contains("offset"));
  CHECK_FALSE(NormalizeDraft(json::array()).ok());
  CHECK_FALSE(NormalizeDraft(json{{"data", json::object()}}).ok());
  CHECK_FALSE(NormalizeDraft(json{{"type", "x"}, {"color", "red"}}).ok());
  CHECK_FALSE(NormalizeDraft(json{{"type", "x"}, {"data", "text"}}).ok());
  CHECK_FALSE(NormalizeDraft(json{{"type", 3}}).ok());
  auto e = NormalizeDraft(json{{"type", "x"}});
  REQUIRE(e.ok());
  CHECK((*e)["data"] == json::object());
}

TEST_CASE("stamping: from comes from the principal, never from the payload") {
  json ev = Stamp(json{{"type", "user.message"}, {"from", {{"sub", "mallory"}}}}, From{"alice", "phone"}, 1234);
  CHECK(ev["from"]["sub"] == "alice");
  CHECK(ev["from"]["device"] == "phone");
  CHECK(ev["ts"] == 1234);
  CHECK(Stamp(json{{"type", "x"}}, From{"bob", ""}, 1)["from"] == json{{"sub", "bob"}});
}

TEST_CASE("lane filter keeps listed lanes and lane-less events") {
  LaneFilter f = LaneFilter::Parse("main,tools");
  CHECK(f.Accepts(json{{"lane", "main"}}));
  CHECK(f.Accepts(json{{"lane", "tools"}}));
  CHECK_FALSE(f.Accepts(json{{"lane", "other"}}));
  CHECK(f.Accepts(json{{"type", "user.message"}}));
  CHECK(LaneFilter::Parse("").Accepts(json{{"lane", "x"}}));
}

TEST_CASE("merging fragments joins consecutive appends of one message only") {
  std::vector<LogEvent> ev = {
      {10, {{"type", "msg.append"}, {"run", "r"}, {"msg", "a"}, {"data", {{"text", "x"}}}}},
      {20, {{"type", "msg.append"}, {"run", "r"}, {"msg", "a"}, {"data", {{"text", "y"}}}}},
      {30, {{"type", "msg.append"}, {"run", "r"}, {"msg", "b"}, {"data", {{"text", "z"}}}}},
      {40, {{"type", "msg.append"}, {"run", "r"}, {"msg", "a"}, {"data", {{"text", "w"}}}}},
      {50, {{"type", "msg.end"}, {"run", "r"}, {"msg", "a"}}},
  };
  MergeFragments(ev);
  REQUIRE(ev.size() == 4);
  CHECK(ev[0].body["data"]["text"] == "xy");
  CHECK(ev[0].offset == 20);
  CHECK(ev[1].body["data"]["text"] == "z");
  CHECK(ev[3].type() == "msg.end");
}
