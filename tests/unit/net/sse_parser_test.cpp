// The one SSE parser, tested once: every WHATWG event-stream rule, every chunk split, and the
// streams dsx reads (Durable Streams, live session events, OpenAI, Anthropic, probe targets).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "net/sse_parser.hpp"

using namespace dsx::net;
using namespace std::string_literals;

namespace {

struct Parsed {
  std::vector<SseEvent> events;
  int comments = 0, field_lines = 0, other_lines = 0;
  std::string last_event_id;
  std::optional<int64_t> retry_ms;
};

Parsed ParseChunks(const std::vector<std::string>& chunks, bool finish = false) {
  Parsed out;
  SseParser p([&](const SseEvent& e) { out.events.push_back(e); });
  for (const auto& c : chunks) p.Feed(c);
  if (finish) p.Finish();
  out.comments = p.comments();
  out.field_lines = p.field_lines();
  out.other_lines = p.other_lines();
  out.last_event_id = p.last_event_id();
  out.retry_ms = p.retry_ms();
  CHECK(p.events() == static_cast<int>(out.events.size()));
  return out;
}

Parsed Parse(const std::string& wire, bool finish = false) { return ParseChunks({wire}, finish); }

void CheckSame(const Parsed& a, const Parsed& b) {
  REQUIRE(a.events.size() == b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    CAPTURE(i);
    CHECK(a.events[i].type == b.events[i].type);
    CHECK(a.events[i].data == b.events[i].data);
    CHECK(a.events[i].id == b.events[i].id);
    CHECK(a.events[i].has_own_id == b.events[i].has_own_id);
    CHECK(a.events[i].retry_ms == b.events[i].retry_ms);
  }
  CHECK(a.comments == b.comments);
  CHECK(a.field_lines == b.field_lines);
  CHECK(a.other_lines == b.other_lines);
  CHECK(a.last_event_id == b.last_event_id);
  CHECK(a.retry_ms == b.retry_ms);
}

// Whole, byte by byte, and cut at every one and every pair of split points: all the same.
void CheckEverySplit(const std::string& wire, bool finish = false) {
  CAPTURE(wire);
  Parsed whole = Parse(wire, finish);
  std::vector<std::string> bytes;
  for (char c : wire) bytes.emplace_back(1, c);
  CheckSame(whole, ParseChunks(bytes, finish));
  for (size_t i = 0; i <= wire.size(); ++i) {
    CAPTURE(i);
    CheckSame(whole, ParseChunks({wire.substr(0, i), wire.substr(i)}, finish));
    if (wire.size() > 200) continue;  // pairs of cuts only for the short streams
    for (size_t j = i; j <= wire.size(); ++j) {
      CAPTURE(j);
      CheckSame(whole, ParseChunks({wire.substr(0, i), wire.substr(i, j - i), wire.substr(j)}, finish));
    }
  }
}

const std::string kDurable =
    "event: data\ndata:hello\ndata:world\n\n"
    "event: control\ndata:{\"streamNextOffset\":\"0_11\",\"upToDate\":true}\n\n";

const std::string kMixed =
    "\xEF\xBB\xBF: comment\r\n"
    "retry: 2500\r"
    "id: 7\n"
    "event: delta\r\n"
    "data: a\r"
    "data:b\n"
    "\r\n"
    "data\r"
    "\r"
    "foo: bar\n"
    "id\n"
    "data: after empty id\r\n"
    "\n";

const std::string kOpenAI =
    ": OPENROUTER PROCESSING\n\n"
    "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
    "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
    "data: [DONE]\n\n";

const std::string kAnthropic =
    "event: message_start\r\n"
    "data: {\"type\":\"message_start\",\"message\":{\"model\":\"m\"}}\r\n\r\n"
    "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: "
    "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"\xC3\xA9t\xC3\xA9\"}}\r\n\r\n"
    "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";

}  // namespace

TEST_CASE("every chunk split of a stream gives the same events and counters") {
  CheckEverySplit(kDurable);
  CheckEverySplit(kMixed);
  CheckEverySplit(kOpenAI);
  CheckEverySplit(kAnthropic);
  CheckEverySplit("data: x\r\n\r\n\r\r\n\n");
  CheckEverySplit(
      "\xEF\xBB\xBF\xEF\xBB\xBF"
      "data: y\n\n");
  CheckEverySplit(
      "\xEF\xBB"
      "data: z\n\n");
  CheckEverySplit("data: last without blank line", /*finish=*/true);
}

TEST_CASE("durable streams framing: data lines joined with LF, control JSON intact") {
  auto ev = Parse(kDurable).events;
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == "data");
  CHECK(ev[0].data == "hello\nworld");
  CHECK(ev[1].type == "control");
  CHECK(ev[1].data == "{\"streamNextOffset\":\"0_11\",\"upToDate\":true}");
}

TEST_CASE("a mixed stream: BOM, comment, retry, id, CR/LF/CRLF, empty data, unknown field, empty id") {
  Parsed p = Parse(kMixed);
  REQUIRE(p.events.size() == 3);
  CHECK(p.events[0].type == "delta");
  CHECK(p.events[0].data == "a\nb");
  CHECK(p.events[0].id == "7");
  CHECK(p.events[0].has_own_id);
  CHECK(p.events[0].retry_ms == 2500);
  CHECK(p.events[1].type == "message");  // the type reset after the first event
  CHECK(p.events[1].data.empty());       // a lone "data" line is a data field with an empty value
  CHECK(p.events[1].id == "7");          // the id persists
  CHECK(!p.events[1].has_own_id);
  CHECK(p.events[2].data == "after empty id");
  CHECK(p.events[2].id.empty());  // "id" without a value resets the last event id
  CHECK(p.events[2].has_own_id);
  CHECK(p.comments == 1);
  CHECK(p.other_lines == 1);
  CHECK(p.field_lines == 8);
}

TEST_CASE("line ends: LF, CRLF and lone CR; a CRLF split across chunks is one line end") {
  auto ev = Parse("data: x\r\n\r\ndata: y\r\rdata: z\n\n").events;
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].data == "x");
  CHECK(ev[1].data == "y");
  CHECK(ev[2].data == "z");

  ev = ParseChunks({"data:x\r", "\ndata:y\r", "\n\r", "\n"}).events;
  REQUIRE(ev.size() == 1);  // were the LFs lines of their own, "x" would go alone
  CHECK(ev[0].data == "x\ny");

  ev = Parse("data:a\r\rdata:b\n\ndata:c\r\n\r\n").events;  // CR CR is two line ends: a blank line
  REQUIRE(ev.size() == 3);

  ev = Parse("data:a\n\r\n").events;  // LF then CRLF: the CRLF is the blank line
  REQUIRE(ev.size() == 1);
  ev = Parse("data:a\r\n\r").events;  // a CR at the very end already ends the blank line
  REQUIRE(ev.size() == 1);
}

TEST_CASE("the BOM is dropped once, only at the start of the stream") {
  const std::string bom = "\xEF\xBB\xBF";
  Parsed p = Parse(bom + "data: a\n\n");
  REQUIRE(p.events.size() == 1);
  CHECK(p.events[0].data == "a");
  CHECK(p.other_lines == 0);

  p = Parse(bom + bom + "data: a\n\n");  // a second BOM is part of the field name: unknown field
  CHECK(p.events.empty());
  CHECK(p.other_lines == 1);

  p = Parse("data: a\n\n" + bom + "data: b\n\n");  // a BOM later on is not stripped
  REQUIRE(p.events.size() == 1);
  CHECK(p.other_lines == 1);

  p = Parse("data: " + bom + "c\n\n");  // inside a value it is data
  REQUIRE(p.events.size() == 1);
  CHECK(p.events[0].data == bom + "c");

  p = Parse(
      "\xEF\xBB"
      "data: d\n\n");  // half a BOM is not a BOM: the bytes stay in the line
  CHECK(p.events.empty());
  CHECK(p.other_lines == 1);

  p = ParseChunks({"\xEF", "\xBB",
                   "\xBF"
                   "data: e\n\n"});  // split across chunks still stripped
  REQUIRE(p.events.size() == 1);
  CHECK(p.events[0].data == "e");

  p = Parse(
      "\xEF\n"
      "data: f\n\n");  // a line end right after a partial BOM still ends the line
  REQUIRE(p.events.size() == 1);
  CHECK(p.other_lines == 1);
}

TEST_CASE("field parsing: first colon splits, one leading space dropped, no colon means empty value") {
  auto ev = Parse("data:  two\ndata:\ndata\ndata: a:b: c\n\n").events;
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data == " two\n\n\na:b: c");

  ev = Parse("data:\tx\n\n").events;  // only a space is dropped, not a tab
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data == "\tx");

  ev = Parse("event:type-no-space\ndata:x\n\n").events;
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == "type-no-space");

  ev = Parse("Data: x\n\ndata : y\n\n").events;  // names are case- and space-sensitive
  CHECK(ev.empty());

  Parsed p = Parse("event\ndata: z\n\n");  // "event" with no colon: an empty type, so "message"
  REQUIRE(p.events.size() == 1);
  CHECK(p.events[0].type == "message");
}

TEST_CASE("comments are ignored and counted, also between the lines of an event") {
  Parsed p = Parse(": keep-alive\n:\ndata: a\n: in between\ndata: b\n\n");
  REQUIRE(p.events.size() == 1);
  CHECK(p.events[0].data == "a\nb");
  CHECK(p.comments == 3);
  CHECK(p.other_lines == 0);
}

TEST_CASE("a blank line without data dispatches nothing and resets the type") {
  auto ev = Parse("event: lonely\n\ndata: a\n\n").events;
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == "message");
  CHECK(ev[0].data == "a");

  ev = Parse("\n\n\n").events;
  CHECK(ev.empty());

  ev = Parse("data\n\n").events;  // one empty data line is an event with empty data
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data.empty());

  ev = Parse("data\ndata\n\n").events;  // two: one LF
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data == "\n");

  ev = Parse("data: x\n\n\n\ndata: y\n\n").events;
  REQUIRE(ev.size() == 2);
}

TEST_CASE("id: persists across events, set by its own event, ignored when it holds a NUL") {
  Parsed p = Parse("id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\n");
  REQUIRE(p.events.size() == 3);
  CHECK(p.events[0].id == "1");
  CHECK(p.events[0].has_own_id);
  CHECK(p.events[1].id == "1");
  CHECK(!p.events[1].has_own_id);
  CHECK(p.events[2].id == "2");  // set by a block without data, which dispatched nothing
  CHECK(!p.events[2].has_own_id);
  CHECK(p.last_event_id == "2");

  p = Parse("id: 5\ndata: a\n\nid: 6\0x\ndata: b\n\n"s);
  REQUIRE(p.events.size() == 2);
  CHECK(p.events[1].id == "5");
  CHECK(!p.events[1].has_own_id);
  CHECK(p.last_event_id == "5");

  p = Parse("id: 3\nid: 4\ndata: x\n\n");  // the last id line of a block wins
  REQUIRE(p.events.size() == 1);
  CHECK(p.events[0].id == "4");
}

TEST_CASE("retry: only a value of ASCII digits sets the reconnection time") {
  CHECK(Parse("retry: 1500\n").retry_ms == 1500);
  CHECK(Parse("retry:0\n").retry_ms == 0);
  CHECK(Parse("retry: 1500\nretry: 15x\n").retry_ms == 1500);
  CHECK(!Parse("retry: 15x\n").retry_ms);
  CHECK(!Parse("retry: -5\n").retry_ms);
  CHECK(!Parse("retry: +5\n").retry_ms);
  CHECK(!Parse("retry:  5\n").retry_ms);  // the second space is part of the value
  CHECK(!Parse("retry: 1.5\n").retry_ms);
  CHECK(!Parse("retry:\n").retry_ms);
  CHECK(!Parse("retry: 99999999999999999999999\n").retry_ms);  // not a time we can hold
  Parsed p = Parse("retry: 10\ndata: x\n\nretry: 20\n\ndata: y\n\n");
  REQUIRE(p.events.size() == 2);
  CHECK(p.events[0].retry_ms == 10);
  CHECK(p.events[1].retry_ms == 20);
  CHECK(p.field_lines == 4);
}

TEST_CASE("unknown fields are ignored and counted; garbage is no event") {
  Parsed p = Parse("<html>oops</html>\nnot sse at all\nfoo: bar\n\n");
  CHECK(p.events.empty());
  CHECK(p.other_lines == 3);
  CHECK(p.field_lines == 0);
}

TEST_CASE("an unfinished event is not dispatched; Reset drops it, the id and the BOM check") {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  p.Feed("id: 9\n\nevent: data\ndata:partial");
  CHECK(out.empty());
  CHECK(p.pending_bytes() > 0);
  CHECK(p.last_event_id() == "9");
  p.Reset();
  CHECK(p.pending_bytes() == 0);
  CHECK(p.last_event_id().empty());
  p.Feed("\xEF\xBB\xBF\n\ndata:fresh\n\n");  // a new connection may start with a BOM again
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "fresh");
  CHECK(out[0].type == "message");
  CHECK(out[0].id.empty());
  CHECK(p.other_lines() == 0);
}

TEST_CASE("pending_bytes counts a held line and a held event") {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  CHECK(p.pending_bytes() == 0);
  p.Feed("data: abc");
  CHECK(p.pending_bytes() == 9);
  p.Feed("\n");
  CHECK(p.pending_bytes() == 4);  // "abc" and its LF in the data buffer
  p.Feed("\n");
  CHECK(p.pending_bytes() == 0);
  CHECK(out.size() == 1);
}

TEST_CASE("Finish is opt-in: without it a stream's unterminated last event is lost") {
  CHECK(Parse("data: [DONE]").events.empty());
  CHECK(Parse("data: [DONE]\n").events.empty());
  auto ev = Parse("data: [DONE]", /*finish=*/true).events;
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data == "[DONE]");
  ev = Parse("event: e\ndata: a\n", /*finish=*/true).events;
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == "e");
  CHECK(Parse("data: x\n\n", /*finish=*/true).events.size() == 1);  // nothing pending: no extra
  CHECK(Parse("event: e\n", /*finish=*/true).events.empty());
  CHECK(Parse(": only a comment", /*finish=*/true).comments == 1);
}

TEST_CASE("OpenAI-style stream: comment, chunks, [DONE]") {
  Parsed p = Parse(kOpenAI);
  REQUIRE(p.events.size() == 3);
  CHECK(p.events[0].type == "message");
  CHECK(p.events[0].data.find("\"Hel\"") != std::string::npos);
  CHECK(p.events[2].data == "[DONE]");
  CHECK(p.comments == 1);
}

TEST_CASE("Anthropic-style stream: named events over CRLF, UTF-8 bytes passed through") {
  Parsed p = Parse(kAnthropic);
  REQUIRE(p.events.size() == 4);
  CHECK(p.events[0].type == "message_start");
  CHECK(p.events[1].type == "ping");
  CHECK(p.events[1].data == "{\"type\": \"ping\"}");
  CHECK(p.events[2].data.find("\xC3\xA9t\xC3\xA9") != std::string::npos);
  CHECK(p.events[3].type == "message_stop");
}

TEST_CASE("ParseSse parses a whole body like a browser") {
  auto ev = ParseSse("event: delta\nid: 7\ndata: a\ndata: b\n\ndata: c\n\ndata: unterminated");
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == "delta");
  CHECK(ev[0].data == "a\nb");
  CHECK(ev[0].id == "7");
  CHECK(ev[1].id == "7");
  CHECK(!ev[1].has_own_id);
}

// A hostile server that never ends its line, or sends data lines without a blank line, must not
// make the client buffer everything it sends (regression: pending_bytes grew without bound).
TEST_CASE("a line or event past max_pending stops the parser; Reset starts over") {
  int dispatched = 0;
  SseParser endless_line([&](const SseEvent&) { ++dispatched; }, 1024);
  std::string piece(100, 'x');
  bool ok = endless_line.Feed("data: ");
  for (int i = 0; i < 11 && ok; ++i) ok = endless_line.Feed(piece);
  CHECK(!ok);
  CHECK(endless_line.overflowed());
  CHECK(endless_line.pending_bytes() == 0);                  // what was held is dropped
  CHECK(!endless_line.Feed("\n\ndata: late\n\n"));           // and nothing after it is parsed
  CHECK(dispatched == 0);
  CHECK(endless_line.OverflowMessage().find("1024 bytes") != std::string::npos);
  endless_line.Reset();
  CHECK(endless_line.Feed("data: fresh\n\n"));
  CHECK(dispatched == 1);

  SseParser endless_event([&](const SseEvent&) { ++dispatched; }, 1024);
  ok = true;
  for (int i = 0; i < 200 && ok; ++i) ok = endless_event.Feed("data: 0123456789\n");  // never a blank line
  CHECK(!ok);
  CHECK(dispatched == 1);

  // Under the bound nothing changes: a 1000-byte event in one line passes.
  SseParser fits([&](const SseEvent& e) { CHECK(e.data.size() == 1000); ++dispatched; }, 1024);
  CHECK(fits.Feed("data: " + std::string(1000, 'y') + "\n\n"));
  CHECK(dispatched == 2);
}
