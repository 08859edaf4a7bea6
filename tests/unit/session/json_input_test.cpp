// Client JSON at the edge (json_input.hpp): the nesting limit and the typed field reads.
#include <doctest/doctest.h>

#include "session/model/json_input.hpp"
#include "session/model/json_mode.hpp"

using namespace dsx::session;
using nlohmann::json;

TEST_CASE("JsonDepth counts arrays and objects, not brackets inside strings") {
  CHECK(JsonDepth("1") == 0);
  CHECK(JsonDepth(R"("[[[{")") == 0);
  CHECK(JsonDepth("[]") == 1);
  CHECK(JsonDepth(R"({"a":[1,{"b":[]}]})") == 4);
  CHECK(JsonDepth(R"(["\"[[[", ["\\", ["x"]]])") == 3);  // escaped quote and backslash
  CHECK(JsonDepth("[[],[],[[]]]") == 3);
  CHECK(JsonDepth(std::string(100000, '['), 64) == 65);  // stops past the limit
  CHECK(JsonDepth(R"(["\)") == 1);                       // a dangling escape at the end
}

TEST_CASE("ParseClientJson refuses nesting past the limit, accepts it at the limit") {
  const std::string at = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  const std::string past = "[" + at + "]";
  REQUIRE(ParseClientJson(at).ok());
  auto r = ParseClientJson(past);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "JSON nested deeper than 64 levels");
  CHECK(ParseClientJson(std::string(100000, '[') + std::string(100000, ']')).status().message() ==
        "JSON nested deeper than 64 levels");
  CHECK(ParseClientJson("{").status().message() == "invalid JSON");
  CHECK(ParseClientJson("").status().message() == "invalid JSON");
  CHECK((*ParseClientJson(R"({"a":"[[["})")).at("a") == "[[[");
}

TEST_CASE("JsonFields: typed reads never throw and name the first wrong field") {
  const json body = json::parse(R"({"s":"x","n":5,"neg":-3,"big":18446744073709551615,"f":1.5,"b":true,
                                    "o":{},"a":[],"z":null})");
  JsonFields f(body, "body");
  CHECK(f.String("s") == "x");
  CHECK(f.String("missing", "dflt") == "dflt");
  CHECK(f.OptInt("n") == 5);
  CHECK(f.OptInt("neg") == -3);
  CHECK(f.OptUint("n") == 5u);
  CHECK(f.Bool("b", false));
  CHECK(f.Object("o") != nullptr);
  CHECK(f.Array("a") != nullptr);
  CHECK(f.ok());
  CHECK(f.String("n", "fallback") == "fallback");
  CHECK_FALSE(f.ok());
  CHECK(f.error() == "field 'n' must be a string (got number)");
  (void)f.Bool("s", false);
  CHECK(f.error() == "field 'n' must be a string (got number)");  // the first error stays

  JsonFields g(body, "body", "data.");
  CHECK_FALSE(g.OptInt("big"));
  CHECK(g.error() == "field 'data.big' must be an integer (got number)");
  JsonFields h(body, "body");
  CHECK_FALSE(h.OptInt("f"));
  CHECK_FALSE(h.ok());
  JsonFields u(body, "body");
  CHECK_FALSE(u.OptUint("neg"));
  CHECK(u.error() == "field 'neg' must be a non-negative integer (got number)");
  JsonFields z(body, "body");
  CHECK_FALSE(z.OptString("z"));
  CHECK(z.error() == "field 'z' must be a string (got null)");

  JsonFields not_object(json::array(), "heartbeat body");
  CHECK(not_object.String("state") == "");
  CHECK(not_object.error() == "heartbeat body must be a JSON object (got array)");
}

TEST_CASE("a JSON stream refuses a body with a raw NUL instead of storing the bytes after it") {
  // Found by fuzz_json_append: the body "5\0&" was stored as written and every read of the
  // stream from then on answered "[5\0&]", which is not JSON.
  using namespace std::string_view_literals;
  CHECK(!dsx::session::JsonBatchFromBody("5\0&"sv, false).ok());
  CHECK(!dsx::session::JsonBatchFromBody("[1,2]\0]"sv, false).ok());
  CHECK(dsx::session::JsonBatchFromBody("[1,\"\\u0000\"]"sv, false).ok());
}
