#include <doctest/doctest.h>

#include "audit/probe/sse_parser.hpp"

using namespace dsx::audit::probe;

TEST_CASE("sse: data, event and id fields; multi-line data joined with LF") {
  auto ev = ParseSse("event: delta\nid: 7\ndata: a\ndata: b\n\ndata: c\n\n");
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].event == "delta");
  CHECK(ev[0].data == "a\nb");
  CHECK(ev[0].id == "7");
  CHECK(ev[1].event.empty());
  CHECK(!ev[1].id.has_value());
  CHECK(ev[1].last_event_id == "7");  // the id carries over to later events
}

TEST_CASE("sse: CRLF and lone CR line endings") {
  auto ev = ParseSse("data: x\r\n\r\ndata: y\r\rdata: z\n\n");
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].data == "x");
  CHECK(ev[1].data == "y");
  CHECK(ev[2].data == "z");
}

TEST_CASE("sse: bytes split anywhere give the same events") {
  std::string body = "id: 1\r\ndata: {\"type\":\"text-delta\"}\r\n\r\n: ping\n\nid: 2\ndata: tok-0002 \n\n";
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    SseParser p;
    std::vector<SseEvent> ev;
    p.Feed(std::string_view(body).substr(0, cut), &ev);
    p.Feed(std::string_view(body).substr(cut), &ev);
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].data == "{\"type\":\"text-delta\"}");
    CHECK(ev[1].id == "2");
    CHECK(p.comments() == 1);
  }
}

TEST_CASE("sse: comments, retry, unknown fields and an unterminated tail") {
  SseParser p;
  std::vector<SseEvent> ev;
  p.Feed(": hello\nretry: 1500\nfoo: bar\ndata: x\n\ndata: never dispatched", &ev);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].retry_ms == 1500);
  CHECK(p.comments() == 1);
  CHECK(p.other_lines() == 1);
  CHECK(p.pending_bytes() > 0);
}

TEST_CASE("sse: garbage behind an SSE header yields no events and counts lines") {
  SseParser p;
  std::vector<SseEvent> ev;
  p.Feed("<html>oops</html>\nnot sse at all\n\n", &ev);
  CHECK(ev.empty());
  CHECK(p.other_lines() == 2);
}

TEST_CASE("sse: a field without a colon and 'data' with no space") {
  auto ev = ParseSse("data\n\ndata:x\n\n");
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].data.empty());
  CHECK(ev[1].data == "x");
}
