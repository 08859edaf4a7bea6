// The probe's read over the shared HTTP client, against a scripted transport: what goes on the
// wire, what comes back (lower-cased headers, the body so far), and how each ending is named.
#include <doctest/doctest.h>

#include <atomic>

#include "audit/probe/fetch.hpp"
#include "net/fake_transport.hpp"

using namespace dsx::audit::probe;
namespace net = dsx::net;
using net::testing::FakeTransport;

namespace {

RequestSpec Post() {
  return RequestSpec{"POST", "http://app.test/api/chat", {{"Content-Type", "application/json"}}, "{\"q\":1}"};
}

// connect, first byte, idle, total (seconds): each must reach the request in milliseconds.
HttpLimits Limits() { return HttpLimits{1.5, 2, 0.25, 30}; }

}  // namespace

TEST_CASE("fetch: the request, its limits in ms, headers lower-cased and the body so far at each chunk") {
  FakeTransport t;
  t.script.push_back(net::testing::SseReply({{"Content-Type", "text/event-stream"}, {"X-Resumable-Stream-Id", "s1"}},
                                            {"data: a\n\n", "data: b\n\n"}));
  std::vector<std::string> seen;
  HttpResponse r = Fetch(t, Post(), Limits(), [&](std::string_view chunk, const HttpResponse& so_far) {
    CHECK(so_far.status == 200);
    CHECK(so_far.Header("content-type") == "text/event-stream");
    seen.push_back(std::string(chunk) + "|" + so_far.body);
    return true;
  });
  REQUIRE(t.requests.size() == 1);
  const net::HttpRequest& req = t.requests[0];
  CHECK(req.method == "POST");
  CHECK(req.url == "http://app.test/api/chat");
  CHECK(req.body == "{\"q\":1}");
  CHECK(t.Header(0, "content-type") == "application/json");
  CHECK(req.connect_timeout_ms == 1500);
  CHECK(req.first_byte_timeout_ms == 2000);
  CHECK(req.idle_timeout_ms == 250);
  CHECK(req.timeout_ms == 30000);
  CHECK(req.cancel == nullptr);

  CHECK(r.outcome == HttpOutcome::kComplete);
  CHECK(r.Answered());
  CHECK(r.status == 200);
  CHECK(r.Header("x-resumable-stream-id") == "s1");
  CHECK(r.headers.front().first == "content-type");
  CHECK(r.body == "data: a\n\ndata: b\n\n");
  CHECK(r.error.empty());
  CHECK(seen == std::vector<std::string>{"data: a\n\n|data: a\n\n", "data: b\n\n|data: a\n\ndata: b\n\n"});
}

TEST_CASE("fetch: a drop from the body callback is 'dropped', with what arrived kept") {
  FakeTransport t;
  t.script.push_back(net::testing::SseReply({}, {"one ", "two ", "three"}));
  int calls = 0;
  HttpResponse r = Fetch(t, Post(), Limits(), [&](std::string_view, const HttpResponse&) { return ++calls < 2; });
  CHECK(calls == 2);
  CHECK(r.outcome == HttpOutcome::kAborted);
  CHECK(std::string(HttpOutcomeName(r.outcome)) == "dropped");
  CHECK(r.body == "one two ");
  CHECK(r.error.empty());
}

TEST_CASE("fetch: the abort flag set from elsewhere is a drop too") {
  FakeTransport t;
  t.script.push_back(net::testing::SseReply({}, {"one ", "two "}));
  std::atomic<bool> abort{false};
  HttpResponse r = Fetch(
      t, Post(), Limits(),
      [&](std::string_view, const HttpResponse&) {
        abort.store(true);
        return true;
      },
      &abort);
  CHECK(t.requests[0].cancel == &abort);
  CHECK(r.outcome == HttpOutcome::kAborted);
  CHECK(std::string(HttpOutcomeName(r.outcome)) == "dropped");
  CHECK(r.body == "one ");
}

TEST_CASE("fetch: failures keep their kind, a reason and the body so far") {
  FakeTransport t;
  t.script.push_back(net::testing::TimedOut(net::Outcome::kTimeoutIdle, 200, {"tok-0001 "}));
  HttpResponse r = Fetch(t, Post(), Limits());
  CHECK(r.outcome == HttpOutcome::kTimeoutIdle);
  CHECK(r.Answered());
  CHECK(r.body == "tok-0001 ");
  CHECK(!r.error.empty());

  t.script.push_back(net::testing::NetError(/*delivered=*/false, "cannot connect to server"));
  r = Fetch(t, Post(), Limits());
  CHECK(r.outcome == HttpOutcome::kConnectFailed);
  CHECK(!r.Answered());
  CHECK(r.error == "cannot connect to server");

  t.script.push_back(net::testing::TimedOut(net::Outcome::kTimeoutFirstByte));
  r = Fetch(t, Post(), Limits());
  CHECK(r.outcome == HttpOutcome::kTimeoutFirstByte);
  CHECK(!r.Answered());
}

TEST_CASE("fetch: outcome names are the probe's report wording") {
  CHECK(std::string(HttpOutcomeName(HttpOutcome::kComplete)) == "complete");
  CHECK(std::string(HttpOutcomeName(HttpOutcome::kAborted)) == "dropped");
  CHECK(std::string(HttpOutcomeName(HttpOutcome::kCancelled)) == "dropped");
  CHECK(std::string(HttpOutcomeName(HttpOutcome::kConnectFailed)) == "connect failed");
  CHECK(std::string(HttpOutcomeName(HttpOutcome::kTimeoutConnect)) == "connect timed out");
  CHECK(std::string(HttpOutcomeName(HttpOutcome::kTimeoutFirstByte)) == "no response in time");
  CHECK(std::string(HttpOutcomeName(HttpOutcome::kTimeoutIdle)) == "stream stalled");
  CHECK(std::string(HttpOutcomeName(HttpOutcome::kTimeoutTotal)) == "read time limit reached");
  CHECK(std::string(HttpOutcomeName(HttpOutcome::kError)) == "transfer error");
}
