#include <doctest/doctest.h>

#include "session/model/offset.hpp"

using namespace dsx::session;

TEST_CASE("offsets format as %016d_%016d and sort like positions") {
  CHECK(FormatOffset(0) == "0000000000000000_0000000000000000");
  CHECK(FormatOffset(42) == "0000000000000000_0000000000000042");
  CHECK(FormatOffset(9) < FormatOffset(10));
  CHECK(FormatOffset(999999) < FormatOffset(1000000));
}

TEST_CASE("offset parameter accepts sentinels and concrete offsets only") {
  CHECK(ParseOffset("-1")->kind == OffsetParam::Kind::kStart);
  CHECK(ParseOffset("now")->kind == OffsetParam::Kind::kNow);
  auto at = ParseOffset("0000000000000000_0000000000000042");
  REQUIRE(at);
  CHECK(at->kind == OffsetParam::Kind::kAt);
  CHECK(at->position == 42);
  CHECK(ParseOffset("1_5")->position == kOffsetBeyond);  // a later read sequence: past any tail
  CHECK(ParseOffset("9999999999999999_9999999999999999")->position == kOffsetBeyond);
  CHECK(ParseOffset("0_99999999999999999999999")->position == kOffsetBeyond);  // overflow saturates
  for (const char* bad : {"", "0,1", "0 1", "abc", "_1", "1_", "-2", "../", "0_1\n", "0_1 ", "NOW", "0_-1", "0__1"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseOffset(bad));
  }
  CHECK_FALSE(ParseOffset(std::string_view("0_1\0", 4)));
}

TEST_CASE("strict integers for TTL and sub-offsets") {
  CHECK(ParseStrictUint("0") == 0u);
  CHECK(ParseStrictUint("3600") == 3600u);
  for (const char* bad : {"", "abc", "-1", "00060", "+60", "60.5", "1e3", " 1", "9007199254740992"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseStrictUint(bad));
  }
  CHECK(ParseStrictUint("9007199254740991") == 9007199254740991u);
}

TEST_CASE("producer epoch and seq digits allow leading zeros but not signs") {
  CHECK(ParseDigits("007") == 7u);
  CHECK(ParseDigits("0") == 0u);
  CHECK_FALSE(ParseDigits("-1"));
  CHECK_FALSE(ParseDigits("1.0"));
  CHECK_FALSE(ParseDigits(""));
  CHECK_FALSE(ParseDigits("9007199254740992"));
}
