#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "session/client/base64.hpp"
#include "session/client/tail_output.hpp"

using namespace dsx::session::client;

namespace {
Chunk Make(std::string data, bool json, std::string next = "0_9") {
  Chunk c;
  c.data = std::move(data);
  c.json = json;
  c.next_offset = std::move(next);
  return c;
}
}  // namespace

TEST_CASE("raw output is the stored bytes, exactly") {
  std::string bytes("a\r\n\0b", 5);
  auto r = TailOutput::Format(Make(bytes, false), TailFormat::kRaw, "application/octet-stream");
  REQUIRE(r.ok());
  CHECK(*r == bytes);
}

TEST_CASE("JSON streams print one message per line, as the server sent it, in raw and jsonl modes") {
  for (auto fmt : {TailFormat::kRaw, TailFormat::kJsonl}) {
    auto r = TailOutput::Format(Make("[{\"b\":1,\"a\": 1.10}, [1, 2], \"s\"]", true), fmt, "application/json");
    REQUIRE(r.ok());
    CHECK(*r == "{\"b\":1,\"a\": 1.10}\n[1, 2]\n\"s\"\n");
  }
}

TEST_CASE("a message the server pretty-printed over several lines still prints as one line") {
  auto r = TailOutput::Format(Make("[{\n  \"z\": 1,\n  \"a\": 2\n}]", true), TailFormat::kJsonl, "application/json");
  REQUIRE(r.ok());
  CHECK(*r == "{\"z\":1,\"a\":2}\n");
}

TEST_CASE("--jsonl refuses non-JSON streams") {
  auto r = TailOutput::Format(Make("x", false), TailFormat::kJsonl, "text/plain");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("--jsonl") == 0);
}

TEST_CASE("--json records: array for JSON, string for UTF-8 text, base64 otherwise") {
  auto j1 = nlohmann::json::parse(*TailOutput::Format(Make("[1,2]", true), TailFormat::kJson, "application/json"));
  CHECK(j1["offset"] == "0_9");
  CHECK(j1["data"] == nlohmann::json::array({1, 2}));
  auto j2 = nlohmann::json::parse(*TailOutput::Format(Make("héllo\n", false), TailFormat::kJson, "text/plain"));
  CHECK(j2["data"] == "héllo\n");
  CHECK_FALSE(j2.contains("encoding"));
  auto j3 = nlohmann::json::parse(
      *TailOutput::Format(Make(std::string("\xff\x00", 2), false), TailFormat::kJson, "application/octet-stream"));
  CHECK(j3["encoding"] == "base64");
  CHECK(*Base64Decode(j3["data"].get<std::string>()) == std::string("\xff\x00", 2));
  auto j4 = nlohmann::json::parse(*TailOutput::Format(Make("\xc3(", false), TailFormat::kJson, "text/plain"));
  CHECK(j4["encoding"] == "base64");  // invalid UTF-8 in a text stream
}

TEST_CASE("base64 round-trips and matches RFC 4648 vectors") {
  const char* vec[][2] = {{"", ""},
                          {"f", "Zg=="},
                          {"fo", "Zm8="},
                          {"foo", "Zm9v"},
                          {"foob", "Zm9vYg=="},
                          {"fooba", "Zm9vYmE="},
                          {"foobar", "Zm9vYmFy"}};
  for (auto& v : vec) {
    CHECK(Base64Encode(v[0]) == v[1]);
    CHECK(*Base64Decode(v[1]) == v[0]);
  }
  CHECK(*Base64Decode("Zm9v\nYmFy") == "foobar");
  CHECK_FALSE(Base64Decode("Zm9").has_value());
  CHECK_FALSE(Base64Decode("Z=9v").has_value());
  CHECK_FALSE(Base64Decode("Zm9v!A==").has_value());
}
