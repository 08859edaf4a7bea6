#include <doctest/doctest.h>

#include <vector>

#include "net/sse_parser.hpp"

using namespace dsx::net;

namespace {
std::vector<SseEvent> ParseAll(const std::vector<std::string>& chunks) {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  for (const auto& c : chunks) p.Feed(c);
  return out;
}

const std::string kWire =
    "event: data\ndata:hello\ndata:world\n\n"
    "event: control\ndata:{\"streamNextOffset\":\"0_11\",\"upToDate\":true}\n\n";
}  // namespace

TEST_CASE("durable streams framing: data lines joined with newline, control JSON intact") {
  auto ev = ParseAll({kWire});
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == "data");
  CHECK(ev[0].data == "hello\nworld");
  CHECK(ev[1].type == "control");
  CHECK(ev[1].data == "{\"streamNextOffset\":\"0_11\",\"upToDate\":true}");
}

TEST_CASE("every split of the wire bytes into two chunks gives the same events") {
  auto whole = ParseAll({kWire});
  for (size_t cut = 0; cut <= kWire.size(); ++cut) {
    CAPTURE(cut);
    auto ev = ParseAll({kWire.substr(0, cut), kWire.substr(cut)});
    REQUIRE(ev.size() == whole.size());
    for (size_t i = 0; i < ev.size(); ++i) {
      CHECK(ev[i].type == whole[i].type);
      CHECK(ev[i].data == whole[i].data);
    }
  }
}

TEST_CASE("byte-at-a-time feeding works, with CRLF line ends") {
  std::string wire = "event: data\r\ndata:a\r\ndata:b\r\n\r\nevent: control\r\ndata:{}\r\n\r\n";
  std::vector<std::string> bytes;
  for (char c : wire) bytes.emplace_back(1, c);
  auto ev = ParseAll(bytes);
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].data == "a\nb");
  CHECK(ev[1].type == "control");
}

TEST_CASE("a CRLF split between chunks is one line end, not two") {
  auto ev = ParseAll({"data:x\r", "\ndata:y\r", "\n\r", "\n"});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data == "x\ny");
}

TEST_CASE("bare CR ends lines too") {
  auto ev = ParseAll({"event: data\rdata:p\r\r"});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == "data");
  CHECK(ev[0].data == "p");
}

TEST_CASE("one leading space after the colon is dropped, a second is kept; empty data lines count") {
  auto ev = ParseAll({"data:  two\ndata:\ndata\n\n"});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data == " two\n\n");
}

TEST_CASE("comments, unknown fields and events without data are ignored; type resets per event") {
  auto ev = ParseAll({": keep-alive\n\nevent: control\nretry: 10\nfoo: bar\n\ndata:x\n\n"});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].type == "message");
  CHECK(ev[0].data == "x");
}

TEST_CASE("an unfinished event is not dispatched; Reset drops it") {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  p.Feed("event: data\ndata:partial");
  CHECK(out.empty());
  CHECK(p.pending_bytes() > 0);
  p.Reset();
  p.Feed("\n\ndata:fresh\n\n");
  REQUIRE(out.size() == 1);
  CHECK(out[0].data == "fresh");
  CHECK(out[0].type == "message");
}
