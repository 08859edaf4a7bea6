#include <doctest/doctest.h>

#include "session/client/json_array.hpp"

using dsx::session::client::SplitJsonArray;

TEST_CASE("elements are split at top-level commas only, text kept as is") {
  auto r = SplitJsonArray(R"( [ {"a":[1,2],"s":"x,]}\"y"} , [[]], "q\\\",", -1.50e3 ,null ] )");
  REQUIRE(r);
  REQUIRE(r->size() == 5);
  CHECK((*r)[0] == R"({"a":[1,2],"s":"x,]}\"y"})");
  CHECK((*r)[1] == "[[]]");
  CHECK((*r)[2] == R"("q\\\",")");
  CHECK((*r)[3] == "-1.50e3");
  CHECK((*r)[4] == "null");
}

TEST_CASE("empty arrays have no elements; a non-array is one element; invalid JSON is refused") {
  REQUIRE(SplitJsonArray("[]"));
  CHECK(SplitJsonArray(" [ ] ")->empty());
  auto one = SplitJsonArray(" {\"k\":1} ");
  REQUIRE(one);
  CHECK(one->size() == 1);
  CHECK((*one)[0] == "{\"k\":1}");
  CHECK_FALSE(SplitJsonArray("[1,]"));
  CHECK_FALSE(SplitJsonArray("[1"));
  CHECK_FALSE(SplitJsonArray(""));
}
