// Offsets a client made up: inside a JSON message (streams and session logs) or past a session
// log's tail are refused with 400, where they used to read as "200, up to date" and later
// skip data (issue 11, item 9). A raw stream past its tail stays 200 (the protocol's answer).
#include <doctest/doctest.h>

#include "hub_fixture.hpp"
#include "session/live/live_cursor.hpp"
#include "session/model/offset.hpp"

using namespace dsx;
using namespace dsx::session;
using dsx::session::live::testing::HubFixture;

namespace {

StreamService& JsonStream(StreamService& svc) {
  CreateArgs c;
  c.path = "/j";
  c.content_type = "application/json";
  std::optional<Reply> created;
  svc.Create(c, [&](Reply r) { created = r; });
  REQUIRE(created);
  REQUIRE(created->status == 201);
  AppendArgs a;
  a.path = "/j";
  a.content_type = "application/json";
  a.body = R"([{"a":1},{"b":22}])";  // messages of 7 and 8 bytes: boundaries 0, 7, 15
  std::optional<Reply> appended;
  svc.Append(a, [&](Reply r) { appended = r; });
  REQUIRE(appended);
  REQUIRE(appended->status == 204);
  return svc;
}

OffsetParam At(std::uint64_t p) {
  OffsetParam o;
  o.kind = OffsetParam::Kind::kAt;
  o.position = p;
  return o;
}

}  // namespace

TEST_CASE("JSON stream: an offset inside a message is 400, boundaries read") {
  StreamService svc(MakeMemoryStore(), ServiceOptions{});
  REQUIRE(svc.Open().ok());
  JsonStream(svc);
  for (std::uint64_t inside : {1u, 3u, 6u, 8u, 14u}) {
    ReadReply r = svc.Read("/j", At(inside));
    CHECK_MESSAGE(r.reply.status == 400, "offset ", inside);
    CHECK(r.reply.error.find("inside a message") != std::string::npos);
  }
  ReadReply r = svc.Read("/j", At(7));
  CHECK(r.reply.status == 200);
  CHECK(r.body == R"([{"b":22}])");
  r = svc.Read("/j", At(0));
  CHECK(r.reply.status == 200);
  CHECK(r.messages == 2);
  r = svc.Read("/j", At(15));
  CHECK(r.reply.status == 200);
  CHECK(r.up_to_date);
  r = svc.Read("/j", At(1000));  // past the tail: the protocol's 200, empty, up to date
  CHECK(r.reply.status == 200);
  CHECK(r.up_to_date);
  CHECK(r.body == "[]");
}

TEST_CASE("binary stream: an offset inside a message reads the rest (no visible boundaries)") {
  StreamService svc(MakeMemoryStore(), ServiceOptions{});
  REQUIRE(svc.Open().ok());
  CreateArgs c;
  c.path = "/b";
  c.content_type = "text/plain";
  svc.Create(c, [](Reply) {});
  AppendArgs a;
  a.path = "/b";
  a.content_type = "text/plain";
  a.body = "hello";
  svc.Append(a, [](Reply) {});
  ReadReply r = svc.Read("/b", At(2));
  CHECK(r.reply.status == 200);
  CHECK(r.body == "llo");
}

TEST_CASE("session log: inside a message or past the tail is 400, the tail is up to date") {
  HubFixture f;
  REQUIRE(f.Post({{"type", "msg"}, {"data", {{"text", "hello"}}}}).status < 300);
  const auto events = f.All();
  REQUIRE(!events.empty());
  const std::uint64_t tail = events.back().offset;

  live::LiveCursor past(f.hub->pages(), f.Stream(), tail + 10, {});
  auto p = past.Next();
  CHECK(p.status == 400);
  CHECK(p.error.find("past the end") != std::string::npos);

  live::LiveCursor beyond(f.hub->pages(), f.Stream(), kOffsetBeyond, {});
  CHECK(beyond.Next().status == 400);

  live::LiveCursor inside(f.hub->pages(), f.Stream(), tail - 2, {});
  CHECK(inside.Next().status == 400);

  live::LiveCursor at(f.hub->pages(), f.Stream(), tail, {});
  auto ok = at.Next();
  CHECK(ok.status == 200);
  CHECK_FALSE(ok.more);

  live::LiveCursor start(f.hub->pages(), f.Stream(), 0, {});
  auto all = start.Next();
  CHECK(all.status == 200);
  CHECK(all.events().size() == events.size());
}
