// `dsx session cancel|steer` as a library call against a scripted transport, in virtual time:
// the requests it posts, the acks it polls for, and its exit codes.
#include <doctest/doctest.h>

#include "core/clock.hpp"
#include "net/fake_transport.hpp"
#include "session/client/run_control.hpp"

using namespace dsx::session::client;
using namespace dsx::net;
using namespace dsx::net::testing;
using nlohmann::json;

namespace {

struct Fixture {
  FakeTransport transport;
  dsx::ManualClock clock;
  SessionClient session{transport, "http://h:1", "s1", "secret-token", clock};

  static Scripted Json(int status, const json& body) { return Reply(status, {}, body.dump()); }
  static Scripted Posted(const std::string& id, const std::string& offset) {
    return Json(200, {{"offset", offset}, {"outcome", {{"id", id}, {"outcome", "pending"}}}});
  }
  static Scripted Page(const json& events, const std::string& offset) {
    return Json(200, {{"events", events}, {"offset", offset}});
  }
  static json Ack(const std::string& id, const std::string& outcome, const std::string& reason = "") {
    json d = {{"outcome", outcome}};
    if (!reason.empty()) d["reason"] = reason;
    return {{"type", "control.ack"}, {"id", id}, {"data", d}};
  }
  json Body(size_t i) const { return json::parse(transport.requests.at(i).body); }
};

ControlRequest Cancel(const std::string& run = "", std::int64_t wait_ms = 10000) {
  ControlRequest q;
  q.run = run;
  q.wait_ms = wait_ms;
  return q;
}

}  // namespace

TEST_CASE("cancel a named run: posts control.cancel, polls the log from its answer until the ack") {
  Fixture f;
  f.transport.script = {Fixture::Posted("k-1", "0_5"), Fixture::Page(json::array(), "0_5"),
                        Fixture::Page(json::array({Fixture::Ack("k-1", "applied")}), "0_6")};
  ControlRequest q = Cancel("r-1");
  q.reason = "too slow";
  auto r = SendControl(f.session, f.clock, q);
  REQUIRE(r.ok());
  CHECK(r->status.ok());
  REQUIRE(r->results.size() == 1);
  CHECK(r->results[0].run == "r-1");
  CHECK(r->results[0].id == "k-1");
  CHECK(r->results[0].outcome == "applied");
  REQUIRE(f.transport.requests.size() == 3);
  CHECK(f.transport.requests[0].method == "POST");
  CHECK(f.transport.requests[0].url == "http://h:1/v1/session/s1/events");
  CHECK(f.Body(0) == json{{"type", "control.cancel"}, {"run", "r-1"}, {"data", {{"reason", "too slow"}}}});
  CHECK(f.transport.Header(0, "Authorization") == "Bearer secret-token");
  CHECK(f.transport.requests[1].url == "http://h:1/v1/session/s1/events?offset=0_5");
  CHECK(f.transport.Header(1, "Authorization") == "Bearer secret-token");
  CHECK(f.clock.sleeps() == std::vector<std::int64_t>{100});  // one poll interval, virtual
}

TEST_CASE("cancel without a run asks every active run; a rejection is exit 4") {
  Fixture f;
  f.transport.script = {
      Fixture::Json(200, {{"runs", {{{"run", "r-1"}}, {{"run", "r-2"}}}}}), Fixture::Posted("k-1", "0_7"),
      Fixture::Posted("k-2", "0_8"),
      Fixture::Page(json::array({Fixture::Ack("k-2", "rejected", "busy"), Fixture::Ack("k-1", "applied")}), "0_9")};
  auto r = SendControl(f.session, f.clock, Cancel());
  REQUIRE(r.ok());
  REQUIRE(r->results.size() == 2);
  CHECK(r->results[0].outcome == "applied");
  CHECK(r->results[1].outcome == "rejected");
  CHECK(r->results[1].reason == "busy");
  CHECK(r->status.exit_code() == 4);
  CHECK(r->status.message() == "cancel of run 'r-2' rejected: busy");
  CHECK(f.transport.requests[0].method == "GET");
  CHECK(f.transport.requests[0].url == "http://h:1/v1/session/s1");
  CHECK(f.transport.requests[3].url == "http://h:1/v1/session/s1/events?offset=0_7");  // the earliest answer
}

TEST_CASE("no ack within --wait: pending, exit 5, after exactly the wait in virtual time") {
  Fixture f;
  f.transport.script = {Fixture::Posted("k-1", "0_5"), Fixture::Page(json::array(), "0_5"),
                        Fixture::Page(json::array(), "0_5"), Fixture::Page(json::array(), "0_5")};
  auto r = SendControl(f.session, f.clock, Cancel("r-1", 300));
  REQUIRE(r.ok());
  CHECK(r->results[0].outcome == "pending");
  CHECK(r->status.exit_code() == 5);
  CHECK(r->status.message() == "no answer to the cancel of run 'r-1' within 0 s (request k-1 stays pending)");
  CHECK(f.transport.requests.size() == 4);  // the post and polls at 0, 100 and 200 ms
  CHECK(f.clock.SteadyMs() == 300);
}

TEST_CASE("steer: data goes out as given; several active runs need a name; none is exit 3") {
  Fixture f;
  f.transport.script = {Fixture::Posted("k-1", "0_1"),
                        Fixture::Page(json::array({Fixture::Ack("k-1", "applied")}), "0_2")};
  ControlRequest q;
  q.steer = true;
  q.run = "r-1";
  q.data = {{"json", {{"go", "left"}}}};
  auto r = SendControl(f.session, f.clock, q);
  REQUIRE(r.ok());
  CHECK(r->status.ok());
  CHECK(f.Body(0) == json{{"type", "control.steer"}, {"run", "r-1"}, {"data", {{"json", {{"go", "left"}}}}}});

  Fixture two;
  two.transport.script = {Fixture::Json(200, {{"runs", {{{"run", "r-1"}}, {{"run", "r-2"}}}}})};
  q.run = "";
  auto many = SendControl(two.session, two.clock, q);
  REQUIRE_FALSE(many.ok());
  CHECK(many.status().exit_code() == 2);
  CHECK(many.status().message() == "'s1' has 2 active runs: name one (dsx session who)");

  Fixture none;
  none.transport.script = {Fixture::Json(200, {{"runs", json::array()}})};
  auto idle = SendControl(none.session, none.clock, Cancel());
  REQUIRE_FALSE(idle.ok());
  CHECK(idle.status().exit_code() == 3);
  CHECK(idle.status().message() == "no active run in 's1'");
}

TEST_CASE("refusals take their exit codes from the one HTTP table: 503 is 5, 500 is 1, 403 is 4, 404 is 3") {
  struct Row {
    int http;
    int exit;
  };
  for (Row row : {Row{503, 5}, Row{502, 5}, Row{500, 1}, Row{403, 4}, Row{409, 4}, Row{404, 3}, Row{400, 1}}) {
    CAPTURE(row.http);
    Fixture f;
    f.transport.script = {Fixture::Json(row.http, {{"error", "nope"}})};
    auto r = SendControl(f.session, f.clock, Cancel("r-1"));
    REQUIRE(r.ok());
    CHECK(r->results[0].outcome == "refused");
    CHECK(r->results[0].reason == "nope");
    CHECK(r->status.exit_code() == row.exit);
    CHECK(r->status.message() == "cannot cancel run 'r-1': nope");
    CHECK(f.transport.requests.size() == 1);  // nothing to wait for

    Fixture info;  // the same answer to the session lookup
    info.transport.script = {Fixture::Json(row.http, {{"error", "nope"}})};
    auto i = SendControl(info.session, info.clock, Cancel());
    REQUIRE_FALSE(i.ok());
    CHECK(i.status().exit_code() == row.exit);
    CHECK(i.status().message() == "cannot cancel in 's1': nope");
  }
}

TEST_CASE("an unreachable server is exit 5 and names the server") {
  Fixture f;
  f.transport.script = {NetError(false, "Connection refused")};
  auto r = SendControl(f.session, f.clock, Cancel("r-1"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().exit_code() == 5);
  CHECK(r.status().message() == "cannot cancel run 'r-1': Connection refused (http://h:1)");
}
