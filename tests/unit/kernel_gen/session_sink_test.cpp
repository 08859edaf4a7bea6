// SessionSink over a scripted transport: the requests it makes and how each answer maps.
#include <doctest/doctest.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "kernel/gen/events.hpp"
#include "net/fake_transport.hpp"

using namespace dsx::kernel::gen;
using dsx::Code;
using dsx::net::testing::FakeTransport;
using dsx::net::testing::NetError;
using dsx::net::testing::Reply;

namespace {

constexpr const char* kToken = "tok-9d1e77a0c3";

// Opens a sink over a FakeTransport scripted with `replies`; `fake` observes it afterwards.
dsx::Result<std::unique_ptr<SessionSink>> Open(std::vector<dsx::net::testing::Scripted> replies, FakeTransport** fake) {
  auto t = std::make_unique<FakeTransport>();
  for (auto& r : replies) t->script.push_back(std::move(r));
  *fake = t.get();
  return SessionSink::Open("gen/x", "http://srv:1", kToken, std::move(t));
}

}  // namespace

TEST_CASE("session sink over a transport: create, append, bearer token") {
  FakeTransport* fake = nullptr;
  auto sink = Open({Reply(201), Reply(204)}, &fake);
  REQUIRE_MESSAGE(sink.ok(), sink.status().message());
  (*sink)->Emit({{"type", "gen.prompt"}});
  CHECK((*sink)->failed_appends() == 0);
  REQUIRE(fake->requests.size() == 2);
  CHECK(fake->requests[0].method == "PUT");
  CHECK(fake->requests[0].url == "http://srv:1/v1/stream/gen/x");
  CHECK(fake->Header(0, "Content-Type") == "application/json");
  CHECK(fake->Header(0, "Authorization") == std::string("Bearer ") + kToken);
  CHECK(fake->requests[1].method == "POST");
  CHECK(fake->Header(1, "Authorization") == std::string("Bearer ") + kToken);
  CHECK(nlohmann::json::parse(fake->requests[1].body)["type"] == "gen.prompt");
}

TEST_CASE("session sink over a transport: refusals and failures at open") {
  FakeTransport* fake = nullptr;
  auto refused = Open({Reply(401)}, &fake);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kConflict);
  CHECK(refused.status().message().find(kToken) == std::string::npos);

  auto conflict = Open({Reply(409)}, &fake);
  CHECK(conflict.status().code() == Code::kConflict);  // exit 4, as for every client (net/http_status)
  CHECK(conflict.status().message().find("another content type") != std::string::npos);

  CHECK(Open({Reply(503)}, &fake).status().code() == Code::kUnavailable);
  CHECK(Open({Reply(404)}, &fake).status().code() == Code::kNotFound);

  auto down = Open({NetError(false, "cannot connect to server")}, &fake);
  CHECK(down.status().code() == Code::kUnavailable);
  CHECK(down.status().message().find("cannot create session 'gen/x'") != std::string::npos);
  CHECK(down.status().message().find(kToken) == std::string::npos);
}

TEST_CASE("session sink over a transport: failed appends are counted, the run goes on") {
  FakeTransport* fake = nullptr;
  auto sink = Open({Reply(200), NetError(true), Reply(500), Reply(204)}, &fake);
  REQUIRE(sink.ok());
  (*sink)->Emit({{"type", "a"}});
  (*sink)->Emit({{"type", "b"}});
  (*sink)->Emit({{"type", "c"}});
  CHECK((*sink)->failed_appends() == 2);
  CHECK(fake->requests.size() == 4);
}

// issue 18: progress, metric and table go to the live session's events route (where the server
// checks them and viewers read them), the gen.* events to the stream as before.
TEST_CASE("session sink over a transport: progress, metric and table events to /v1/session/<id>/events") {
  FakeTransport* fake = nullptr;
  auto sink = Open({Reply(201), Reply(204), Reply(200), Reply(204), Reply(200), Reply(200), Reply(200)}, &fake);
  REQUIRE(sink.ok());
  (*sink)->Emit({{"type", "gen.start"}, {"task", "vector_add"}, {"planned", 4}});
  (*sink)->Emit({{"type", "gen.result"}, {"tried", 1}, {"planned", 4}, {"best_score", 1.25}});
  (*sink)->Finished({{"task", "vector_add"}, {"entries", nlohmann::json::array()}});
  CHECK((*sink)->failed_appends() == 0);
  REQUIRE(fake->requests.size() == 7);
  CHECK(fake->requests[1].url == "http://srv:1/v1/stream/gen/x");  // gen.start, as before
  for (int i : {2, 4, 5, 6}) {
    CHECK(fake->requests[i].method == "POST");
    CHECK(fake->requests[i].url.find("http://srv:1/v1/session/gen") == 0);
    CHECK(fake->requests[i].url.find("/events") != std::string::npos);
    CHECK(fake->Header(i, "Authorization") == std::string("Bearer ") + kToken);
  }
  CHECK(nlohmann::json::parse(fake->requests[2].body)["type"] == "progress");
  CHECK(nlohmann::json::parse(fake->requests[4].body)["type"] == "progress");
  CHECK(nlohmann::json::parse(fake->requests[5].body)["data"]["name"] == "best_speedup");
  CHECK(nlohmann::json::parse(fake->requests[6].body)["type"] == "table");
}
