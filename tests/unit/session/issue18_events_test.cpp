// Issue 18, server side: progress/metric/table events are validated (400 naming the field,
// nothing stored) and follow their run's rules; the compacted view carries them as
// "progress"/"metrics"/"tables"; run.end takes the reason `interrupted`; a refused cancel of
// another principal's run names the right that is missing (cancel_any); JSON streams keep each
// message's bytes as written, and session reads still find every event's offset.
#include <doctest/doctest.h>

#include <limits>
#include <optional>

#include "session/live/compactor.hpp"
#include "session/live/progress_events.hpp"
#include "session/live/session_state.hpp"
#include "session/model/json_mode.hpp"
#include "session/model/offset.hpp"
#include "session/model/stream_service.hpp"
#include "session/store/memory_store.hpp"

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

const auth::Principal kAgent = Who("agent", {auth::Right::kRun, auth::Right::kAppend});
const auth::Principal kBob = Who("bob", {auth::Right::kRead});
const auth::Principal kCarol = Who("carol", {auth::Right::kCancelOwn});

struct Machine {
  SessionState st;
  LeaseLimits limits;
  Checked Do(const auth::Principal& who, const json& draft) {
    auto d = NormalizeDraft(draft);
    if (!d.ok()) {
      Checked c;
      c.status = 400;
      c.error = d.status().message();
      return c;
    }
    Checked c = CheckDraft(st, who, "chat/1", *d, 1000, limits);
    if (c.status == 200) {
      for (const auto& e : c.events) ApplyEffects(st, e, 1000);
    }
    return c;
  }
};

std::string Why(const json& draft) {
  auto d = NormalizeDraft(draft);
  return d.ok() ? "" : d.status().message();
}

json Ev(const char* type, json data) { return json{{"type", type}, {"data", std::move(data)}}; }

}  // namespace

TEST_CASE("progress: good drafts pass; each wrong field is a 400 that names it") {
  CHECK(Why(Ev("progress", {{"done", 3}})).empty());
  CHECK(Why(Ev("progress", {{"done", 2.5}, {"total", 10}, {"unit", "steps"}, {"label", "x"}, {"key", "a"}})).empty());
  CHECK(Why(Ev("progress", json::object())) == "event field 'data.done' is required (a number >= 0)");
  CHECK(Why(Ev("progress", {{"done", "3"}})) == "event field 'data.done' must be a number >= 0 (got string)");
  CHECK(Why(Ev("progress", {{"done", -1}})).find("'data.done'") != std::string::npos);
  CHECK(Why(Ev("progress", {{"done", 1}, {"total", 0}})).find("'data.total' must be a number > 0") !=
        std::string::npos);
  CHECK(Why(Ev("progress", {{"done", 1}, {"total", true}})).find("(got boolean)") != std::string::npos);
  CHECK(Why(Ev("progress", {{"done", 1}, {"unit", std::string(33, 'u')}})).find("'data.unit'") != std::string::npos);
  CHECK(Why(Ev("progress", {{"done", 1}, {"label", std::string(201, 'l')}})).find("'data.label'") !=
        std::string::npos);
  CHECK(Why(Ev("progress", {{"done", 1}, {"key", json::array()}})) ==
        "event field 'data.key' must be a string of at most 64 bytes (got array)");
  // A non-finite number (the server's parser refuses 1e999 already; a value built in memory may hold one).
  CHECK(Why(Ev("progress", {{"done", std::numeric_limits<double>::infinity()}})).find("'data.done'") !=
        std::string::npos);
}

TEST_CASE("metric and table: required fields, types and bounds") {
  CHECK(Why(Ev("metric", {{"name", "loss"}, {"step", 1}, {"value", 0.5}})).empty());
  CHECK(Why(Ev("metric", {{"step", 1}, {"value", 0.5}})).find("'data.name' is required") != std::string::npos);
  CHECK(Why(Ev("metric", {{"name", ""}, {"step", 1}, {"value", 0.5}})).find("'data.name'") != std::string::npos);
  CHECK(Why(Ev("metric", {{"name", std::string(101, 'n')}, {"step", 1}, {"value", 0.5}})).find("'data.name'") !=
        std::string::npos);
  CHECK(Why(Ev("metric", {{"name", "l"}, {"step", -2}, {"value", 0.5}})).find("'data.step'") != std::string::npos);
  CHECK(Why(Ev("metric", {{"name", "l"}, {"step", 1}, {"value", nullptr}})) ==
        "event field 'data.value' must be a finite number (got null)");

  const json cols = {"name", "score"};
  CHECK(Why(Ev("table", {{"columns", cols}, {"rows", {{"a", 1}, {"b", nullptr}, {true, 2.5}}}, {"title", "t"}}))
            .empty());
  CHECK(Why(Ev("table", {{"rows", json::array()}})).find("'data.columns' is required") != std::string::npos);
  CHECK(Why(Ev("table", {{"columns", json::array()}, {"rows", json::array()}})).find("'data.columns'") !=
        std::string::npos);
  CHECK(Why(Ev("table", {{"columns", {"a", 1}}, {"rows", json::array()}})) ==
        "event field 'data.columns[1]' must be a string (got number)");
  CHECK(Why(Ev("table", {{"columns", cols}, {"rows", {{"a"}}}})) ==
        "event field 'data.rows[0]' must be an array of 2 cells (one per column) (got 1)");
  CHECK(Why(Ev("table", {{"columns", cols}, {"rows", json::array({json::array({"a", json::object()})})}})) ==
        "event field 'data.rows[0][1]' must be a string, a finite number, a boolean or null (got object)");
  CHECK(Why(Ev("table", {{"columns", cols}, {"rows", "x"}})).find("'data.rows' must be") != std::string::npos);
  json many = json::array();
  for (int i = 0; i < 1001; ++i) many.push_back({"a", i});
  CHECK(Why(Ev("table", {{"columns", cols}, {"rows", many}})).find("at most 1000 rows (got 1001)") !=
        std::string::npos);
  json wide = json::array();
  for (int i = 0; i < 65; ++i) wide.push_back("c");
  CHECK(Why(Ev("table", {{"columns", wide}, {"rows", json::array()}})).find("(got 65)") != std::string::npos);
  // Other application types are the application's business: not checked.
  CHECK(Why(Ev("user.message", {{"done", "x"}})).empty());
}

TEST_CASE("progress of a run: known run, lane copied, refused after run.end; without run: append right only") {
  Machine m;
  CHECK(m.Do(kAgent, Ev("progress", {{"done", 1}})).status == 200);
  CHECK(m.Do(kBob, Ev("progress", {{"done", 1}})).status == 403);  // no append right
  json p = Ev("metric", {{"name", "loss"}, {"step", 0}, {"value", 1}});
  p["run"] = "r-1";
  CHECK(m.Do(kAgent, p).status == 404);
  REQUIRE(m.Do(kAgent, {{"type", "run.start"}, {"run", "r-1"}, {"lane", "tools"}}).status == 200);
  Checked ok = m.Do(kAgent, p);
  REQUIRE(ok.status == 200);
  CHECK(ok.events[0]["lane"] == "tools");
  REQUIRE(m.Do(kAgent, {{"type", "run.end"}, {"run", "r-1"}, {"data", {{"reason", "done"}}}}).status == 200);
  Checked late = m.Do(kAgent, p);
  CHECK(late.status == 409);
  CHECK(late.error == "run 'r-1' has ended (done)");
  CHECK(late.events.empty());
}

TEST_CASE("run.end takes the reason interrupted (dsx session run stopped by Ctrl-C)") {
  Machine m;
  REQUIRE(m.Do(kAgent, {{"type", "run.start"}, {"run", "r-1"}}).status == 200);
  Checked c = m.Do(kAgent, {{"type", "run.end"}, {"run", "r-1"}, {"data", {{"reason", "interrupted"}}}});
  CHECK(c.status == 200);
  CHECK(m.st.runs["r-1"].end_reason == "interrupted");
}

TEST_CASE("a refused cancel of another's run names cancel_any, the right that is missing") {
  Machine m;
  REQUIRE(m.Do(kAgent, {{"type", "run.start"}, {"run", "r-1"}}).status == 200);
  Checked bob = m.Do(kBob, {{"type", "control.cancel"}, {"run", "r-1"}});
  CHECK(bob.status == 403);
  CHECK(bob.error == "token for 'bob' lacks 'cancel_any' on 'chat/1' (run 'r-1' was started by 'agent')");
  Checked carol = m.Do(kCarol, {{"type", "control.cancel"}, {"run", "r-1"}});
  CHECK(carol.status == 403);
  CHECK(carol.error ==
        "'carol' may cancel only runs it started (run 'r-1' was started by 'agent'): token for 'carol' lacks "
        "'cancel_any' on 'chat/1'");
  // One's own run without cancel_own: that is the right it lacks.
  Checked own = m.Do(kAgent, {{"type", "control.cancel"}, {"run", "r-1"}});
  CHECK(own.error == "token for 'agent' lacks 'cancel_own' on 'chat/1'");
}

TEST_CASE("compacted view: latest progress and table per key, metric series; not repeated in items") {
  Compactor c;
  std::uint64_t pos = 0;
  auto add = [&](json body) {
    pos += 10;
    body["ts"] = static_cast<std::int64_t>(pos);
    c.Add(LogEvent{pos, std::move(body)});
  };
  add({{"type", "run.start"}, {"run", "r-1"}, {"lane", "main"}, {"data", json::object()}});
  add({{"type", "progress"}, {"run", "r-1"}, {"data", {{"done", 1}, {"total", 10}, {"unit", "steps"}}}});
  add({{"type", "progress"}, {"data", {{"done", 5}, {"key", "b"}, {"label", "other"}}}});
  add({{"type", "progress"}, {"run", "r-1"}, {"data", {{"done", 4}, {"total", 10}, {"unit", "steps"}}}});
  add({{"type", "metric"}, {"data", {{"name", "loss"}, {"step", 0}, {"value", 2.0}}}});
  add({{"type", "metric"}, {"data", {{"name", "loss"}, {"step", 1}, {"value", 1.5}}}});
  add({{"type", "metric"}, {"data", {{"name", "acc"}, {"step", 1}, {"value", 0.5}}}});
  add({{"type", "table"}, {"data", {{"columns", {"a"}}, {"rows", {{1}}}, {"title", "first"}}}});
  add({{"type", "table"}, {"data", {{"columns", {"a"}}, {"rows", {{2}}}}}});
  add({{"type", "progress"}, {"data", {{"done", "bad"}}}});  // a raw write of the wrong shape: skipped
  const json progress = c.Progress();
  REQUIRE(progress.size() == 2);
  CHECK(progress[0] == json{{"key", ""}, {"label", ""}, {"done", 4}, {"total", 10}, {"unit", "steps"},
                            {"run", "r-1"}, {"ts", 40}});
  CHECK(progress[1]["key"] == "b");
  CHECK(progress[1]["total"].is_null());
  CHECK(progress[1]["run"].is_null());
  CHECK(c.Metrics() == json{{"loss", {{0, 2.0}, {1, 1.5}}}, {"acc", {{1, 0.5}}}});
  REQUIRE(c.Tables().size() == 1);
  CHECK(c.Tables()[0]["rows"] == json{{2}});
  CHECK(c.Tables()[0]["title"] == "");
  CHECK(c.Items().size() == 1);  // only the run.start
  CHECK(c.offset() == pos);
}

TEST_CASE("compacted view: a long metric series is thinned, never losing its newest point") {
  Compactor c;
  const std::size_t n = Compactor::kMaxMetricPoints * 3;
  for (std::size_t i = 0; i < n; ++i) {
    c.Add(LogEvent{i + 1, {{"type", "metric"}, {"data", {{"name", "x"}, {"step", i}, {"value", 1}}}}});
  }
  const json points = c.Metrics()["x"];
  CHECK(points.size() <= Compactor::kMaxMetricPoints);
  CHECK(points.size() > Compactor::kMaxMetricPoints / 4);
  CHECK(points.front()[0] == 0);
  CHECK(points.back()[0] == n - 1);
  for (std::size_t i = 1; i < points.size(); ++i) CHECK(points[i - 1][0].get<std::size_t>() < points[i][0].get<std::size_t>());
}

TEST_CASE("JSON mode stores each message's bytes as written (key order, spacing, number spelling)") {
  auto one = JsonBatchFromBody("  {\"b\": 1, \"a\": [1.50, 2e3]}\n", false);
  REQUIRE(one.ok());
  CHECK(one->payload == "{\"b\": 1, \"a\": [1.50, 2e3]}");
  auto batch = JsonBatchFromBody("[ {\"z\":\"a,]\\\"}\"} ,\n 7,\"x\" , [1,[2]] ]", false);
  REQUIRE(batch.ok());
  REQUIRE(batch->sizes.size() == 4);
  CHECK(batch->payload == "{\"z\":\"a,]\\\"}\"}7\"x\"[1,[2]]");
  CHECK(batch->sizes[0] == 14);
  CHECK(JsonBatchFromBody("\xEF\xBB\xBF{\"a\":1}", false)->payload == "{\"a\":1}");
  CHECK_FALSE(JsonBatchFromBody("[]", false).ok());
  CHECK(JsonBatchFromBody("[ ]", true)->sizes.empty());
  CHECK_FALSE(JsonBatchFromBody("{\"a\":1} x", false).ok());
  CHECK(SplitValidJsonArray("[]").empty());
}

TEST_CASE("a session log written raw with spacing still reads back with each event's true offset") {
  StreamService svc(MakeMemoryStore(), ServiceOptions{});
  REQUIRE(svc.Open().ok());
  CreateArgs c;
  c.path = "/v1/stream/chat/1";
  c.content_type = "application/json";
  svc.Create(c, [](Reply r) { REQUIRE(r.status == 201); });
  AppendArgs a;
  a.path = c.path;
  a.content_type = "application/json";
  a.body = R"([{"type": "user.message", "data": {"text": "hi"}}, {"data":{},"type":"note"}])";
  svc.Append(a, [](Reply r) { REQUIRE(r.status == 204); });
  ReadReply rr = svc.Read(c.path, {});
  REQUIRE(rr.reply.status == 200);
  CHECK(rr.body == R"([{"type": "user.message", "data": {"text": "hi"}},{"data":{},"type":"note"}])");
  EventPage page = ReadEvents(svc, rr.stream, 0);
  REQUIRE(page.status == 200);
  REQUIRE(page.events.size() == 2);
  const std::uint64_t first = std::string(R"({"type": "user.message", "data": {"text": "hi"}})").size();
  CHECK(page.events[0].offset == first);
  CHECK(page.events[1].offset == page.next);
  CHECK(page.events[1].offset == first + std::string(R"({"data":{},"type":"note"})").size());
}
