// The router is a pure function over the service: these tests drive it with Beast request
// objects and the memory store, no sockets.
#include <doctest/doctest.h>

#include <new>
#include <stdexcept>

#include "core/clock.hpp"
#include "session/model/offset.hpp"
#include "session/server/router.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::server;

namespace {

struct Fixture {
  dsx::ManualClock clock;  // 2023-11-14T22:13:20Z until a test advances it
  StreamService service{MakeMemoryStore(), ServiceOptions{}, clock};
  RouterOptions options;
  Fixture() { REQUIRE(service.Open().ok()); }

  RouteOutcome Do(http::verb method, const std::string& target,
                  std::initializer_list<std::pair<const char*, const char*>> headers = {}, std::string body = "") {
    Request req{method, target, 11};
    req.set(http::field::host, "example.test:4437");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    std::optional<RouteOutcome> out;
    Route(service, options, std::move(req), [&out](RouteOutcome o) { out = std::move(o); });
    REQUIRE(out);  // the memory store answers synchronously
    return std::move(*out);
  }
  Response Res(http::verb method, const std::string& target,
               std::initializer_list<std::pair<const char*, const char*>> headers = {}, std::string body = "") {
    RouteOutcome o = Do(method, target, headers, std::move(body));
    REQUIRE(o.kind == RouteOutcome::Kind::kResponse);
    return std::move(o.response);
  }
};

std::string H(const Response& r, const char* name) { return std::string(r[name]); }

}  // namespace

TEST_CASE("create, append, read back with offsets") {
  Fixture f;
  auto put = f.Res(http::verb::put, "/v1/stream/a", {{"Content-Type", "text/plain"}}, "hello");
  CHECK(put.result_int() == 201);
  CHECK(H(put, "Location") == "http://example.test:4437/v1/stream/a");
  CHECK(H(put, "Stream-Next-Offset") == FormatOffset(5));
  CHECK(H(put, "X-Content-Type-Options") == "nosniff");
  auto again = f.Res(http::verb::put, "/v1/stream/a", {{"Content-Type", "TEXT/PLAIN"}});
  CHECK(again.result_int() == 200);
  auto other = f.Res(http::verb::put, "/v1/stream/a", {{"Content-Type", "application/json"}});
  CHECK(other.result_int() == 409);

  auto post = f.Res(http::verb::post, "/v1/stream/a", {{"Content-Type", "text/plain"}}, " world");
  CHECK(post.result_int() == 204);
  CHECK(H(post, "Stream-Next-Offset") == FormatOffset(11));

  auto all = f.Res(http::verb::get, "/v1/stream/a");
  CHECK(all.result_int() == 200);
  CHECK(all.body() == "hello world");
  CHECK(H(all, "Stream-Up-To-Date") == "true");
  CHECK(H(all, "Content-Type") == "text/plain");
  auto tail = f.Res(http::verb::get, "/v1/stream/a?offset=" + FormatOffset(5));
  CHECK(tail.body() == " world");
  auto etag = H(all, "ETag");
  auto cached = f.Res(http::verb::get, "/v1/stream/a", {{"If-None-Match", etag.c_str()}});
  CHECK(cached.result_int() == 304);
  auto now = f.Res(http::verb::get, "/v1/stream/a?offset=now");
  CHECK(now.body().empty());
  CHECK(H(now, "Cache-Control") == "no-store");
  CHECK(H(now, "Stream-Next-Offset") == FormatOffset(11));
}

TEST_CASE("request validation answers 400, unknown streams 404") {
  Fixture f;
  CHECK(f.Res(http::verb::get, "/v1/stream/none").result_int() == 404);
  f.Res(http::verb::put, "/v1/stream/b", {{"Content-Type", "text/plain"}});
  CHECK(f.Res(http::verb::get, "/v1/stream/b?offset=").result_int() == 400);
  CHECK(f.Res(http::verb::get, "/v1/stream/b?offset=0,1").result_int() == 400);
  CHECK(f.Res(http::verb::get, "/v1/stream/b?offset=-1&offset=now").result_int() == 400);
  CHECK(f.Res(http::verb::get, "/v1/stream/b?offset=%0A").result_int() == 400);
  CHECK(f.Res(http::verb::get, "/v1/stream/b?live=long-poll").result_int() == 400);
  CHECK(f.Res(http::verb::post, "/v1/stream/b", {{"Content-Type", "text/plain"}}).result_int() == 400);
  CHECK(f.Res(http::verb::post, "/v1/stream/b", {}, "x").result_int() == 400);
  CHECK(f.Res(http::verb::put, "/v1/stream/c", {{"Stream-TTL", "00060"}}).result_int() == 400);
  CHECK(f.Res(http::verb::put, "/v1/stream/c", {{"Stream-TTL", "60"}, {"Stream-Expires-At", "2030-01-01T00:00:00Z"}})
            .result_int() == 400);
  CHECK(f.Res(http::verb::put, "/v1/stream/c", {{"Stream-Fork-Sub-Offset", "0"}}).result_int() == 400);
  CHECK(f.Res(http::verb::post, "/v1/stream/b", {{"Content-Type", "text/plain"}, {"Producer-Id", "p"}}, "x")
            .result_int() == 400);
  CHECK(f.Res(http::verb::patch, "/v1/stream/b").result_int() == 405);
  CHECK(f.Res(http::verb::options, "/v1/stream/b").result_int() == 204);
  CHECK(f.Res(http::verb::get, "/health").result_int() == 200);
}

TEST_CASE("JSON mode flattens one array level and reads back arrays") {
  Fixture f;
  CHECK(f.Res(http::verb::put, "/v1/stream/j", {{"Content-Type", "application/json"}}, "[]").result_int() == 201);
  CHECK(f.Res(http::verb::get, "/v1/stream/j").body() == "[]");
  CHECK(f.Res(http::verb::post, "/v1/stream/j", {{"Content-Type", "application/json"}}, "[]").result_int() == 400);
  CHECK(f.Res(http::verb::post, "/v1/stream/j", {{"Content-Type", "application/json"}}, "{bad").result_int() == 400);
  CHECK(f.Res(http::verb::post, "/v1/stream/j", {{"Content-Type", "application/json"}}, R"([{"a": 1}, [2, 3]])")
            .result_int() == 204);
  CHECK(f.Res(http::verb::post, "/v1/stream/j", {{"Content-Type", "application/json"}}, "\"s\"").result_int() == 204);
  // Each message as written (issue 18: they used to be re-serialized, spacing gone, keys sorted).
  CHECK(f.Res(http::verb::get, "/v1/stream/j").body() == R"([{"a": 1},[2, 3],"s"])");
}

TEST_CASE("idempotent producers: accept, duplicate, gap, stale epoch") {
  Fixture f;
  f.Res(http::verb::put, "/v1/stream/p", {{"Content-Type", "text/plain"}});
  auto send = [&](const char* epoch, const char* seq) {
    return f.Res(
        http::verb::post, "/v1/stream/p",
        {{"Content-Type", "text/plain"}, {"Producer-Id", "w"}, {"Producer-Epoch", epoch}, {"Producer-Seq", seq}}, "x");
  };
  CHECK(send("0", "0").result_int() == 200);
  CHECK(send("0", "1").result_int() == 200);
  auto dup = send("0", "0");
  CHECK(dup.result_int() == 204);
  CHECK(H(dup, "Producer-Seq") == "1");
  auto gap = send("0", "5");
  CHECK(gap.result_int() == 409);
  CHECK(H(gap, "Producer-Expected-Seq") == "2");
  CHECK(send("1", "0").result_int() == 200);
  auto stale = send("0", "2");
  CHECK(stale.result_int() == 403);
  CHECK(H(stale, "Producer-Epoch") == "1");
  CHECK(send("2", "3").result_int() == 400);
  CHECK(f.Res(http::verb::get, "/v1/stream/p").body() == "xxx");
}

TEST_CASE("closure: close-only, 409 after close, EOF on reads") {
  Fixture f;
  f.Res(http::verb::put, "/v1/stream/c", {{"Content-Type", "text/plain"}}, "a");
  auto close = f.Res(http::verb::post, "/v1/stream/c", {{"Stream-Closed", "true"}});
  CHECK(close.result_int() == 204);
  CHECK(H(close, "Stream-Closed") == "true");
  CHECK(f.Res(http::verb::post, "/v1/stream/c", {{"Stream-Closed", "true"}}).result_int() == 204);
  auto late = f.Res(http::verb::post, "/v1/stream/c", {{"Content-Type", "text/plain"}}, "b");
  CHECK(late.result_int() == 409);
  CHECK(H(late, "Stream-Next-Offset") == FormatOffset(1));
  auto read = f.Res(http::verb::get, "/v1/stream/c");
  CHECK(H(read, "Stream-Closed") == "true");
  auto lp = f.Res(http::verb::get, "/v1/stream/c?offset=" + FormatOffset(1) + "&live=long-poll");
  CHECK(lp.result_int() == 204);
  CHECK(H(lp, "Stream-Closed") == "true");
  auto head = f.Res(http::verb::head, "/v1/stream/c");
  CHECK(H(head, "Stream-Closed") == "true");
  CHECK(H(head, "Cache-Control") == "no-store");
}

TEST_CASE("live reads at the tail become waits") {
  Fixture f;
  f.Res(http::verb::put, "/v1/stream/l", {{"Content-Type", "text/plain"}});
  auto o = f.Do(http::verb::get, "/v1/stream/l?offset=now&live=long-poll");
  REQUIRE(o.kind == RouteOutcome::Kind::kLongPoll);
  bool woke = false;
  StreamService::WaitToken token;
  CHECK(f.service.Wait(
      o.live.stream, o.live.offset, [&woke] { woke = true; }, &token));
  f.Res(http::verb::post, "/v1/stream/l", {{"Content-Type", "text/plain"}}, "data");
  CHECK(woke);
  auto res = LongPollResponse(f.service, o.live, false);
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "data");
  CHECK_FALSE(std::string(res["Stream-Cursor"]).empty());

  auto sse = f.Do(http::verb::get, "/v1/stream/l?offset=-1&live=sse");
  REQUIRE(sse.kind == RouteOutcome::Kind::kSse);
  bool done = false, more = false;
  const std::string chunk = SseNextChunk(f.service, sse.live, &done, &more);
  CHECK(chunk.find("event: data\ndata:data\n\nevent: control\ndata:{\"streamNextOffset\"") != std::string::npos);
  CHECK(chunk.find("\"upToDate\":true") != std::string::npos);
  CHECK_FALSE(done);
}

TEST_CASE("forks read through the source; deleting the source soft-deletes it") {
  Fixture f;
  f.Res(http::verb::put, "/v1/stream/src", {{"Content-Type", "text/plain"}}, "abc");
  f.Res(http::verb::post, "/v1/stream/src", {{"Content-Type", "text/plain"}}, "def");
  auto fork = f.Res(http::verb::put, "/v1/stream/fork",
                    {{"Stream-Forked-From", "/v1/stream/src"},
                     {"Stream-Fork-Offset", "0000000000000000_0000000000000003"},
                     {"Stream-Fork-Sub-Offset", "2"}});
  CHECK(fork.result_int() == 201);
  CHECK(H(fork, "Content-Type") == "text/plain");
  f.Res(http::verb::post, "/v1/stream/fork", {{"Content-Type", "text/plain"}}, "XY");
  CHECK(f.Res(http::verb::get, "/v1/stream/fork").body() == "abcdeXY");
  CHECK(f.Res(http::verb::get, "/v1/stream/src").body() == "abcdef");
  CHECK(f.Res(http::verb::delete_, "/v1/stream/src").result_int() == 204);
  CHECK(f.Res(http::verb::get, "/v1/stream/src").result_int() == 410);
  CHECK(f.Res(http::verb::put, "/v1/stream/src").result_int() == 409);
  CHECK(f.Res(http::verb::get, "/v1/stream/fork").body() == "abcdeXY");
  CHECK(f.Res(http::verb::delete_, "/v1/stream/fork").result_int() == 204);
  CHECK(f.Res(http::verb::get, "/v1/stream/src").result_int() == 404);  // cascaded
  CHECK(f.Res(http::verb::put, "/v1/stream/src").result_int() == 201);
}

TEST_CASE("sliding TTL expires streams; HEAD does not renew") {
  Fixture f;
  f.Res(http::verb::put, "/v1/stream/t", {{"Stream-TTL", "1"}});
  auto head = f.Res(http::verb::head, "/v1/stream/t");
  CHECK(H(head, "Stream-TTL") == "1");
  f.clock.Advance(999);
  CHECK(f.Res(http::verb::get, "/v1/stream/t").result_int() == 200);  // renews: lapses at 999 + 1000
  f.clock.Advance(999);
  CHECK(f.Res(http::verb::head, "/v1/stream/t").result_int() == 200);  // 1998: not yet
  f.clock.Advance(1);
  CHECK(f.Res(http::verb::head, "/v1/stream/t").result_int() == 404);  // 1999: a second after the GET
  CHECK(f.Res(http::verb::put, "/v1/stream/t").result_int() == 201);
}

TEST_CASE("Stream-Expires-At is an absolute time on the service's clock") {
  Fixture f;
  // One second after the ManualClock's start (1'700'000'000'000 ms).
  CHECK(f.Res(http::verb::put, "/v1/stream/e", {{"Stream-Expires-At", "2023-11-14T22:13:21Z"}}).result_int() == 201);
  f.clock.Advance(999);
  CHECK(f.Res(http::verb::get, "/v1/stream/e").result_int() == 200);  // reads do not move an absolute expiry
  f.clock.Advance(1);
  CHECK(f.Res(http::verb::get, "/v1/stream/e").result_int() == 404);
}

TEST_CASE("a handler's exception becomes a 500, never process death (issue 11)") {
  Fixture f;
  int mode = 0;
  f.options.intercept = [&mode](Request&, RouteDone& done) -> bool {
    switch (mode) {
      case 0: throw std::runtime_error("boom");
      case 1: throw std::bad_alloc();
      case 2: throw 42;  // not even a std::exception
      case 3:
        done({RouteOutcome::Kind::kResponse, ErrorResponse(Request{}, http::status::ok, "fine"), {}});
        throw std::runtime_error("after the answer");
      default: return false;
    }
  };
  for (mode = 0; mode < 3; ++mode) {
    CAPTURE(mode);
    int calls = 0;
    std::optional<RouteOutcome> out;
    Request req{http::verb::get, "/v1/stream/x?access_token=secret", 11};
    CHECK_NOTHROW(Route(f.service, f.options, std::move(req), [&](RouteOutcome o) {
      ++calls;
      out = std::move(o);
    }));
    REQUIRE(out);
    CHECK(calls == 1);
    CHECK(out->response.result_int() == 500);
    CHECK_FALSE(out->response.keep_alive());
  }
  // Answered before the throw: that answer stands, and `done` is not called twice.
  mode = 3;
  int calls = 0;
  int status = 0;
  CHECK_NOTHROW(Route(f.service, f.options, Request{http::verb::get, "/x", 11}, [&](RouteOutcome o) {
    ++calls;
    status = o.response.result_int();
  }));
  CHECK(calls == 1);
  CHECK(status == 200);
}
