#include "core/json_limits.hpp"

#include <doctest/doctest.h>

#include <string>

TEST_CASE("JsonDepth counts nesting outside strings and stops past the limit") {
  CHECK(dsx::JsonDepth("1") == 0);
  CHECK(dsx::JsonDepth("[{\"a\": [1]}]") == 3);
  CHECK(dsx::JsonDepth("\"[[[[\\\"[[\"") == 0);  // brackets inside a string, an escaped quote
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(dsx::JsonDepth(deep, 64) == 65);
}

// Regression: text nested 100,000 deep parsed fine and then overflowed the stack when copied or
// printed (`dsx jobs status` on a job.json with such a meta segfaulted).
TEST_CASE("ParseJsonBounded refuses deep text before building it; ParseJsonOrDiscarded is a drop-in") {
  const std::string deep = "{\"x\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto r = dsx::ParseJsonBounded(deep);
  REQUIRE(!r.ok());
  CHECK(r.status().message() == "JSON nested deeper than 64 levels");
  CHECK(dsx::ParseJsonOrDiscarded(deep).is_discarded());
  CHECK(dsx::ParseJsonOrDiscarded("{oops").is_discarded());
  auto ok = dsx::ParseJsonOrDiscarded("{\"a\": [1, 2]}");
  REQUIRE(!ok.is_discarded());
  CHECK(ok["a"][1] == 2);
  std::string at_limit = std::string(64, '[') + std::string(64, ']');
  CHECK(dsx::ParseJsonBounded(at_limit).ok());
  CHECK(!dsx::ParseJsonBounded("[" + at_limit + "]").ok());
}

TEST_CASE("a raw NUL byte is invalid JSON, not the end of the input (found by fuzz_json_append)") {
  // nlohmann stops at a NUL: "5\0&" parsed as 5, and the JSON stream, which stores the text as
  // written, kept "5\0&", so every later read of the stream was not JSON.
  using namespace std::string_view_literals;
  auto r = dsx::ParseJsonBounded("5\0&"sv, 64);
  REQUIRE(!r.ok());
  CHECK(r.status().message() == "invalid JSON: a NUL byte at offset 1");
  CHECK(!dsx::ParseJsonBounded("{\"a\":1}\0"sv, 64).ok());
  CHECK(!dsx::ParseJsonBounded("\"a\0b\""sv, 64).ok());
  CHECK(dsx::ParseJsonBounded("\"a\\u0000b\""sv, 64).ok());  // an escaped NUL is fine
}
