#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "llm/sse.hpp"

using dsx::llm::SseEvent;
using dsx::llm::SseParser;

namespace {
std::vector<SseEvent> ParseInPieces(const std::string& text, size_t piece) {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  for (size_t i = 0; i < text.size(); i += piece) p.Feed(std::string_view(text).substr(i, piece));
  p.Finish();
  return out;
}
}  // namespace

TEST_CASE("sse: events with names, multi-line data and comments, any split") {
  const std::string text =
      ": keep-alive\r\n"
      "event: message_start\r\n"
      "data: {\"a\":1}\r\n"
      "\r\n"
      "data: line one\n"
      "data: line two\n"
      "\n"
      "event: ping\r"
      "data:{}\r"
      "\r";
  for (size_t piece : {1, 2, 3, 7, 64}) {
    auto ev = ParseInPieces(text, piece);
    REQUIRE(ev.size() == 3);
    CHECK(ev[0].event == "message_start");
    CHECK(ev[0].data == "{\"a\":1}");
    CHECK(ev[1].event.empty());
    CHECK(ev[1].data == "line one\nline two");
    CHECK(ev[2].event == "ping");
    CHECK(ev[2].data == "{}");
  }
}

TEST_CASE("sse: a CRLF split between two reads is one line end") {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  p.Feed("data: x\r");
  p.Feed("\n\r");
  p.Feed("\n");
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "x");
}

TEST_CASE("sse: a last event without its blank line is still delivered at the end") {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  p.Feed("data: [DONE]");
  CHECK(out.empty());
  p.Finish();
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "[DONE]");
}

TEST_CASE("sse: an event name without data dispatches nothing") {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  p.Feed("event: lonely\n\ndata: a\n\n");
  REQUIRE(out.size() == 1);
  CHECK(out[0].event.empty());  // the name does not leak into the next event
  CHECK(out[0].data == "a");
}
