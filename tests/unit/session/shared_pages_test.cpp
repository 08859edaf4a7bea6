// Fan-out sharing (PageCache, SharedPages, SseNext): readers at the same offset share one
// page; what each reader ends up with equals an unshared read; stale pages never hide data,
// closure, or deletion; empty pages are never cached.
#include <doctest/doctest.h>

#include "hub_fixture.hpp"
#include "session/live/live_cursor.hpp"
#include "session/live/session_hub.hpp"
#include "session/model/page_cache.hpp"
#include "session/model/stream_record.hpp"  // PageCache test: stream records of its own
#include "session/server/router.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::live;

namespace {

// chat/1 with run r1 and message m1 open; Post requires success.
struct Fixture : testing::HubFixture {
  StreamHandle stream = Stream();
  Fixture() {
    Post({{"type", "run.start"}, {"run", "r1"}});
    Post({{"type", "msg.start"}, {"run", "r1"}, {"msg", "m1"}});
  }
  void Post(json draft) { REQUIRE(HubFixture::Post(std::move(draft)).status == 200); }
  void Fragment(const std::string& text) {
    Post({{"type", "msg.append"}, {"run", "r1"}, {"msg", "m1"}, {"data", {{"text", text}}}});
  }
  std::uint64_t Tail() { return service.Peek(stream).tail; }
};

// Everything a cursor delivers until caught up, as text of msg.append fragments.
std::string Drain(LiveCursor& c) {
  std::string text;
  for (int i = 0; i < 100; ++i) {
    auto p = c.Next();
    REQUIRE(p.status == 200);
    for (const auto& e : p.events()) {
      if (e.type() == "msg.append") text += e.body["data"]["text"].get<std::string>();
    }
    if (!p.more) break;
  }
  return text;
}

}  // namespace

TEST_CASE("readers at one offset share one page; its bytes equal an unshared rendering") {
  Fixture f;
  const std::uint64_t at = f.Tail();
  f.Fragment("hel");
  f.Fragment("lo");
  LiveCursor a(f.hub->pages(), f.stream, at, {});
  LiveCursor b(f.hub->pages(), f.stream, at, {});
  auto pa = a.Next();
  auto pb = b.Next();
  REQUIRE(pa.page);
  CHECK(pa.page == pb.page);  // the same object: built once
  CHECK(f.hub->pages().hits() == 1);
  REQUIRE(pa.events().size() == 1);  // the two fragments merged
  CHECK(pa.events()[0].body["data"]["text"] == "hello");
  CHECK(pa.page->ws_frame == WsEventsFrame(pa.events(), f.Tail()));
  CHECK(pa.page->sse_text == SseEventsText(pa.events()));
  CHECK_FALSE(pa.more);
  CHECK(a.offset() == f.Tail());
}

TEST_CASE("a page built before later appends: the next reader is told there is more") {
  Fixture f;
  const std::uint64_t at = f.Tail();
  f.Fragment("one ");
  LiveCursor a(f.hub->pages(), f.stream, at, {});
  CHECK(Drain(a) == "one ");
  f.Fragment("two ");
  f.Fragment("three");
  LiveCursor b(f.hub->pages(), f.stream, at, {});
  auto first = b.Next();  // the cached page [at, one)
  CHECK(first.more);      // ... and the cursor knows it is behind
  std::string text = first.events()[0].body["data"]["text"].get<std::string>();
  text += Drain(b);
  CHECK(text == "one two three");
  CHECK(b.offset() == f.Tail());
}

TEST_CASE("an empty read is never cached") {
  Fixture f;
  const std::uint64_t at = f.Tail();
  LiveCursor a(f.hub->pages(), f.stream, at, {});
  CHECK(a.Next().empty());
  f.Fragment("x");
  LiveCursor b(f.hub->pages(), f.stream, at, {});
  CHECK(Drain(b) == "x");
}

TEST_CASE("lane-filtered readers get their own events from the shared page") {
  Fixture f;
  // Lanes belong to runs: one run per lane.
  f.Post({{"type", "run.start"}, {"run", "ra"}, {"lane", "a"}});
  f.Post({{"type", "run.start"}, {"run", "rb"}, {"lane", "b"}});
  f.Post({{"type", "msg.start"}, {"run", "ra"}, {"msg", "m3"}});
  f.Post({{"type", "msg.start"}, {"run", "rb"}, {"msg", "m2"}});
  const std::uint64_t at = f.Tail();
  f.Post({{"type", "msg.append"}, {"run", "ra"}, {"msg", "m3"}, {"data", {{"text", "A"}}}});
  f.Post({{"type", "msg.append"}, {"run", "rb"}, {"msg", "m2"}, {"data", {{"text", "B"}}}});
  LiveCursor all(f.hub->pages(), f.stream, at, {});
  LiveCursor only_b(f.hub->pages(), f.stream, at, LaneFilter::Parse("b"));
  CHECK(Drain(all) == "AB");
  auto p = only_b.Next();
  CHECK(p.filtered);
  REQUIRE(p.events().size() == 1);
  CHECK(p.events()[0].body["data"]["text"] == "B");
  CHECK(p.page->merged.size() == 2);  // the shared page is untouched
}

TEST_CASE("a cached page does not hide the closure or the deletion of the stream") {
  Fixture f;
  const std::uint64_t at = f.Tail();
  f.Fragment("x");
  LiveCursor a(f.hub->pages(), f.stream, at, {});
  CHECK_FALSE(a.Next().closed);
  // Close the stream (no data): a later reader of the cached page learns it at once.
  Reply closed;
  AppendArgs close;
  close.path = StreamPathFor("chat/1");
  close.close = true;
  close.content_type = "application/json";
  f.service.Append(close, [&](Reply r) { closed = r; });
  REQUIRE(closed.status < 300);
  LiveCursor b(f.hub->pages(), f.stream, at, {});
  auto p = b.Next();
  CHECK(p.page->merged.size() == 1);
  CHECK(p.closed);
  // Deleted: the cached page is still delivered once, then the cursor reads the 404.
  Reply deleted;
  f.service.Delete(StreamPathFor("chat/1"), [&](Reply r) { deleted = r; });
  REQUIRE(deleted.status == 204);
  LiveCursor c(f.hub->pages(), f.stream, at, {});
  auto q = c.Next();
  CHECK(q.more);
  CHECK(c.Next().status == 404);
}

TEST_CASE("PageCache: least recently used pages go first, within a byte and a page budget") {
  PageCache<int> cache(/*max_bytes=*/300, /*max_pages=*/3);
  auto s1 = std::make_shared<Stream>();
  int builds = 0;
  auto build = [&](int v, std::size_t bytes = 100) {
    return [&builds, v, bytes] {
      builds++;
      return std::pair<std::shared_ptr<const int>, std::size_t>(std::make_shared<int>(v), bytes);
    };
  };
  CHECK(*cache.Get(s1, 0, 0, build(1)) == 1);
  CHECK(*cache.Get(s1, 0, 0, build(2)) == 1);  // hit
  CHECK(*cache.Get(s1, 0, 1, build(3)) == 3);  // another variant
  CHECK(*cache.Get(s1, 7, 0, build(4)) == 4);
  CHECK(*cache.Get(s1, 0, 0, build(5)) == 1);  // hit: now the most recently used
  CHECK(*cache.Get(s1, 9, 0, build(6)) == 6);  // over 3 pages: evicts (0, variant 1)
  CHECK(cache.bytes() == 300);
  CHECK(*cache.Get(s1, 0, 0, build(7)) == 1);
  CHECK(*cache.Get(s1, 0, 1, build(8)) == 8);  // was evicted: built again
  CHECK(builds == 5);
  CHECK(*cache.Get(s1, 11, 0, build(9, 250)) == 9);  // a big page pushes out the older ones
  CHECK(cache.bytes() <= 300);
  CHECK(*cache.Get(s1, 11, 0, build(10)) == 9);
  CHECK(*cache.Get(s1, 13, 0, build(11, 0)) == 11);  // bytes 0: not cached
  CHECK(*cache.Get(s1, 13, 0, build(12, 0)) == 12);
  CHECK(*cache.Get(s1, 15, 0, build(13, 301)) == 13);  // bigger than the whole budget: not cached
  CHECK(*cache.Get(s1, 15, 0, build(14, 50)) == 14);
  // A page over the per-page limit (a long catch-up) is not kept, whatever the budget.
  PageCache<int> small_pages(/*max_bytes=*/1000, /*max_pages=*/10, /*max_page_bytes=*/100);
  CHECK(*small_pages.Get(s1, 0, 0, build(15, 101)) == 15);
  CHECK(*small_pages.Get(s1, 0, 0, build(16, 100)) == 16);
  CHECK(*small_pages.Get(s1, 0, 0, build(17, 100)) == 16);
}

TEST_CASE("PageCache: pages of a dead stream are never served for a new one") {
  PageCache<int> cache;
  auto s1 = std::make_shared<Stream>();
  auto page = [](int v) {
    return [v] { return std::pair<std::shared_ptr<const int>, std::size_t>(std::make_shared<int>(v), 8); };
  };
  CHECK(*cache.Get(s1, 0, 0, page(1)) == 1);
  s1.reset();
  auto s2 = std::make_shared<Stream>();  // may reuse the address; must not get s1's page
  CHECK(*cache.Get(s2, 0, 0, page(2)) == 2);
  CHECK(*cache.Get(s2, 0, 0, page(3)) == 2);
}

TEST_CASE("SSE fan-out: subscribers at one offset share the data events; control events are each their own") {
  StreamService service{MakeMemoryStore(), ServiceOptions{}};
  REQUIRE(service.Open().ok());
  Reply r;
  CreateArgs c;
  c.path = "/v1/stream/s";
  c.content_type = "text/plain";
  service.Create(c, [&](Reply x) { r = x; });
  REQUIRE(r.status == 201);
  auto append = [&](const std::string& body) {
    AppendArgs a;
    a.path = "/v1/stream/s";
    a.content_type = "text/plain";
    a.body = body;
    Reply out;
    service.Append(a, [&](Reply x) { out = x; });
    REQUIRE(out.status < 300);
  };
  append("abc");
  ReadReply first = service.Read("/v1/stream/s", OffsetParam{});
  server::SsePageCache pages;
  auto live_at = [&](std::uint64_t offset) {
    server::LiveRead live;
    live.stream = first.stream;
    live.offset = offset;
    return live;
  };
  server::LiveRead l1 = live_at(0), l2 = live_at(0);
  bool done = false, more = false;
  auto c1 = server::SseNext(service, &pages, l1, &done, &more);
  auto c2 = server::SseNext(service, &pages, l2, &done, &more);
  REQUIRE(c1.data);
  CHECK(c1.data == c2.data);
  CHECK(c1.data->events == "event: data\ndata:abc\n\n");
  CHECK(c1.tail.find("\"upToDate\":true") != std::string::npos);
  // The chunk-size line counts both pieces.
  CHECK(c1.head == ([&] {
          char line[32];
          std::snprintf(line, sizeof line, "%zx\r\n", c1.data->events.size() + c1.tail.size() - 2);
          return std::string(line);
        })());
  // A subscriber that wakes after a later append gets the shared page, told it is behind.
  append("def");
  server::LiveRead l3 = live_at(0);
  auto c3 = server::SseNext(service, &pages, l3, &done, &more);
  CHECK(c3.data == c1.data);
  CHECK(more);
  CHECK(c3.tail.find("upToDate") == std::string::npos);
  auto c4 = server::SseNext(service, &pages, l3, &done, &more);
  REQUIRE(c4.data);
  CHECK(c4.data->events == "event: data\ndata:def\n\n");
  CHECK_FALSE(more);
}
