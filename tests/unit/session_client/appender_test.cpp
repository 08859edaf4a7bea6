// The producer retry rules against a scripted transport, in virtual time.
#include <doctest/doctest.h>

#include "core/clock.hpp"
#include "net/fake_transport.hpp"
#include "session/client/appender.hpp"

using namespace dsx::session::client;
using namespace dsx::net;
using namespace dsx::net::testing;

namespace {

struct Fixture {
  FakeTransport transport;
  dsx::ManualClock clock;
  StreamClient client{transport, StreamRef{"http://h:1/v1/stream/s", "s"}, "secret-token"};

  Appender::Options Options(bool producer, uint64_t epoch = 5, bool auto_epoch = true) {
    Appender::Options o;
    o.content_type = "text/plain";
    o.clock = &clock;
    o.retry_for = Millis(10000);
    if (producer) o.producer = ProducerId{"p1", epoch, auto_epoch};
    return o;
  }
};

HeaderList Ok(const std::string& offset) { return {{"Stream-Next-Offset", offset}}; }

}  // namespace

TEST_CASE("producer appends carry id, epoch and increasing seq, and the bearer token") {
  Fixture f;
  f.transport.script = {Reply(200, Ok("0_1")), Reply(200, Ok("0_2"))};
  Appender a(f.client, f.Options(true));
  REQUIRE(a.Append("a").ok());
  REQUIRE(a.Append("b").ok());
  REQUIRE(f.transport.requests.size() == 2);
  CHECK(f.transport.requests[0].method == "POST");
  CHECK(f.transport.Header(0, "Producer-Id") == "p1");
  CHECK(f.transport.Header(0, "Producer-Epoch") == "5");
  CHECK(f.transport.Header(0, "Producer-Seq") == "0");
  CHECK(f.transport.Header(1, "Producer-Seq") == "1");
  CHECK(f.transport.Header(0, "Content-Type") == "text/plain");
  CHECK(f.transport.Header(0, "Authorization") == "Bearer secret-token");
  CHECK(a.next_seq() == 2);
}

TEST_CASE("after a network error the same seq and body are re-sent; a 204 duplicate counts as success") {
  Fixture f;
  // The first try reached the server (applied) but the answer was lost; the retry is a dup.
  f.transport.script = {NetError(true), NetError(false, "couldn't connect to server"), Reply(204, {}),
                        Reply(200, Ok("0_2"))};
  Appender a(f.client, f.Options(true));
  auto r = a.Append("a");
  REQUIRE(r.ok());
  CHECK(r->duplicate);
  REQUIRE(f.transport.requests.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(f.transport.Header(i, "Producer-Seq") == "0");
    CHECK(f.transport.requests[i].body == "a");
  }
  CHECK(f.clock.sleeps().size() == 2);
  REQUIRE(a.Append("b").ok());
  CHECK(f.transport.Header(3, "Producer-Seq") == "1");
  CHECK(a.retries() == 2);
}

TEST_CASE("502/503/504 are retried; other errors are not") {
  Fixture f;
  f.transport.script = {Reply(503, {}), Reply(502, {}), Reply(200, Ok("0_1")), Reply(400, {}, "bad json")};
  Appender a(f.client, f.Options(true));
  REQUIRE(a.Append("x").ok());
  auto r = a.Append("y");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kFailed);
  CHECK(f.transport.requests.size() == 4);
}

TEST_CASE("retries stop when the retry budget is spent: unavailable") {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.transport.script.push_back(NetError(true));
  auto o = f.Options(true);
  o.retry_for = Millis(2000);
  Appender a(f.client, o);
  auto r = a.Append("x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kUnavailable);
  // Waited on the injected clock (virtual time), and no longer than the budget.
  CHECK(f.clock.sleeps().size() >= 4);
  CHECK(f.clock.SteadyMs() > 700);
  CHECK(f.clock.SteadyMs() <= 2000);
  CHECK(f.transport.requests.size() > 3);
  CHECK(f.transport.requests.size() < 100);
}

TEST_CASE("without a producer, a request that may have been delivered is not retried") {
  Fixture f;
  f.transport.script = {NetError(true), Reply(204, Ok("0_1"))};
  Appender a(f.client, f.Options(false));
  auto r = a.Append("x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kUnavailable);
  CHECK(r.status().message().find("--producer") != std::string::npos);
  CHECK(f.transport.requests.size() == 1);
  CHECK(f.transport.Header(0, "Producer-Id").empty());
}

TEST_CASE("without a producer, connection refused (never delivered) is retried") {
  Fixture f;
  f.transport.script = {NetError(false), NetError(false), Reply(204, Ok("0_1"))};
  Appender a(f.client, f.Options(false));
  auto r = a.Append("x");
  REQUIRE(r.ok());
  CHECK(r->next_offset == "0_1");
  CHECK_FALSE(r->duplicate);
  CHECK(f.transport.requests.size() == 3);
}

TEST_CASE("a close-only request is retried even without a producer (closing is idempotent)") {
  Fixture f;
  f.transport.script = {NetError(true), Reply(204, {{"Stream-Closed", "true"}, {"Stream-Next-Offset", "0_9"}})};
  Appender a(f.client, f.Options(false));
  auto r = a.Close();
  REQUIRE(r.ok());
  CHECK(r->closed);
  CHECK(f.transport.Header(1, "Stream-Closed") == "true");
  CHECK(f.transport.requests[1].body.empty());
}

TEST_CASE("auto epoch: a 403 on the first append moves past the server's epoch and restarts at seq 0") {
  Fixture f;
  f.transport.script = {Reply(403, {{"Producer-Epoch", "9"}}), Reply(200, Ok("0_1")), Reply(200, Ok("0_2"))};
  Appender a(f.client, f.Options(true, 5));
  REQUIRE(a.Append("x").ok());
  CHECK(f.transport.Header(1, "Producer-Epoch") == "10");
  CHECK(f.transport.Header(1, "Producer-Seq") == "0");
  REQUIRE(a.Append("y").ok());
  CHECK(f.transport.Header(2, "Producer-Seq") == "1");
  CHECK(a.epoch() == 10);
}

TEST_CASE("a 403 after data was accepted means a newer instance fenced us: conflict") {
  Fixture f;
  f.transport.script = {Reply(200, Ok("0_1")), Reply(403, {{"Producer-Epoch", "99"}})};
  Appender a(f.client, f.Options(true));
  REQUIRE(a.Append("x").ok());
  auto r = a.Append("y");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kConflict);
  CHECK(r.status().message().find("fenced") != std::string::npos);
}

TEST_CASE("an explicit epoch is never bumped") {
  Fixture f;
  f.transport.script = {Reply(403, {{"Producer-Epoch", "9"}})};
  Appender a(f.client, f.Options(true, 5, false));
  auto r = a.Append("x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kConflict);
}

TEST_CASE("a server that forgot acknowledged appends is reported, not papered over") {
  Fixture f;
  f.transport.script = {Reply(200, Ok("0_1")), Reply(200, Ok("0_2")),
                        Reply(409, {{"Producer-Expected-Seq", "0"}, {"Producer-Received-Seq", "2"}})};
  Appender a(f.client, f.Options(true));
  REQUIRE(a.Append("x").ok());
  REQUIRE(a.Append("y").ok());
  auto r = a.Append("z");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kConflict);
  CHECK(r.status().message().find("lost producer state") != std::string::npos);
}

TEST_CASE("HTTP errors map to exit-code classes") {
  Fixture f;
  f.transport.script = {Reply(404, {}), Reply(409, {{"Stream-Closed", "true"}}), Reply(410, {})};
  Appender a(f.client, f.Options(false));
  auto r1 = a.Append("x");
  CHECK(r1.status().code() == dsx::Code::kNotFound);
  auto r2 = a.Append("x");
  CHECK(r2.status().code() == dsx::Code::kConflict);
  CHECK(r2.status().message() == "stream is closed");
  auto r3 = a.Append("x");
  CHECK(r3.status().code() == dsx::Code::kNotFound);
}

TEST_CASE("the token never appears in error messages") {
  Fixture f;
  f.transport.script = {Reply(401, {}, "bad token secret-token")};
  Appender a(f.client, f.Options(false));
  auto r = a.Append("x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("secret-token") == std::string::npos);
}
