// Session events: PUT to create the JSON stream, one POST per event, tokens batched.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "../llm/fake_server.hpp"
#include "kernel/gen/events.hpp"

using namespace dsx::kernel::gen;
using dsx::testing::FakeServer;
using dsx::testing::StatusReply;

TEST_CASE("session stream names") {
  CHECK(*SessionStreamUrl("gen/rmsnorm-1", "http://h:1/") == "http://h:1/v1/stream/gen/rmsnorm-1");
  CHECK(*SessionStreamUrl("a", "") == "http://127.0.0.1:4437/v1/stream/a");
  CHECK(*SessionStreamUrl("https://x/v1/stream/y", "http://h:1") == "https://x/v1/stream/y");
  for (const char* bad : {"", "a b", "../x", "a//b", "/a", "a?b"}) CHECK_FALSE(SessionStreamUrl(bad, "").ok());
  CHECK(SessionStreamUrl("a", "ftp://x").status().code() == dsx::Code::kUsage);
}

TEST_CASE("session sink: create, events, batched tokens") {
  FakeServer server;
  server.Push(StatusReply(201, "Created", ""));
  for (int i = 0; i < 10; ++i) server.Push(StatusReply(204, "No Content", ""));
  {
    auto sink = SessionSink::Open("gen/test", server.url(), "tok-secret");
    REQUIRE_MESSAGE(sink.ok(), sink.status().message());
    (*sink)->Emit({{"type", "gen.start"}, {"task", "t"}});
    (*sink)->Token("r1-c1", "Hel");
    (*sink)->Token("r1-c1", "lo");
    (*sink)->Emit({{"type", "gen.reply"}, {"candidate", "r1-c1"}});
    CHECK((*sink)->failed_appends() == 0);
  }
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 5);
  CHECK(reqs[0].method == "PUT");
  CHECK(reqs[0].path == "/v1/stream/gen/test");
  CHECK(reqs[0].headers.find("Content-Type: application/json") != std::string::npos);
  CHECK(reqs[0].headers.find("Authorization: Bearer tok-secret") != std::string::npos);
  CHECK(reqs[1].method == "POST");
  CHECK(nlohmann::json::parse(reqs[1].body)["type"] == "gen.start");
  // gen.start's progress event, on the session's events route (issue 18).
  CHECK(reqs[2].method == "POST");
  CHECK(reqs[2].path.rfind("/v1/session/gen", 0) == 0);
  CHECK(nlohmann::json::parse(reqs[2].body)["type"] == "progress");
  auto tok = nlohmann::json::parse(reqs[3].body);
  CHECK(tok["type"] == "gen.token");
  CHECK(tok["text"] == "Hello");  // two pieces, one append
  CHECK(nlohmann::json::parse(reqs[4].body)["type"] == "gen.reply");
}

TEST_CASE("session sink: a conflicting stream is refused at open; a failed append only warns") {
  FakeServer server;
  server.Push(StatusReply(409, "Conflict", ""));
  auto s = SessionSink::Open("x", server.url(), "");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("another content type") != std::string::npos);

  FakeServer ok;
  ok.Push(StatusReply(200, "OK", ""));
  ok.Push(StatusReply(500, "Oops", ""));
  auto sink = SessionSink::Open("x", ok.url(), "");
  REQUIRE(sink.ok());
  (*sink)->Emit({{"type", "gen.reply"}});
  CHECK((*sink)->failed_appends() == 1);
}
