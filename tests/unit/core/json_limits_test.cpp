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
