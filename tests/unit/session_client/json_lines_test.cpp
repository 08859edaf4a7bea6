#include <doctest/doctest.h>

#include "session/client/json_lines.hpp"

using dsx::session::client::JsonLines;

TEST_CASE("each line is one message; arrays stay single messages; blank lines skipped") {
  JsonLines j;
  REQUIRE(j.Feed("{\"a\":1}\n\n  [1,2]  \n\"s\"\r\n").ok());
  REQUIRE(j.Finish().ok());
  size_t n = 0;
  CHECK(j.TakeBatch(1 << 20, &n) == "[{\"a\":1},[1,2],\"s\"]");
  CHECK(n == 3);
  CHECK(j.TakeBatch(1 << 20, &n).empty());
  CHECK(n == 0);
}

TEST_CASE("lines split across feeds are joined; a last line without newline counts") {
  JsonLines j;
  REQUIRE(j.Feed("{\"k\":").ok());
  CHECK(j.pending_messages() == 0);
  REQUIRE(j.Feed("\"v\"}\n12").ok());
  CHECK(j.pending_messages() == 1);
  REQUIRE(j.Finish().ok());
  CHECK(j.pending_messages() == 2);
}

TEST_CASE("invalid JSON names the line (counting blank lines) and column") {
  JsonLines j;
  auto s = j.Feed("{\"ok\":true}\n\n{\"broken\": nope}\n{\"after\":1}\n");
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("invalid JSON on line 3, column") == 0);
  CHECK(j.pending_messages() == 1);  // only what came before the bad line
  CHECK_FALSE(j.Feed("1\n").ok());   // rejected input stays rejected
}

TEST_CASE("a truncated last line is an error at Finish") {
  JsonLines j;
  REQUIRE(j.Feed("1\n{\"a\":").ok());
  auto s = j.Finish();
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("line 2") != std::string::npos);
}

TEST_CASE("numbers keep their exact spelling") {
  JsonLines j;
  REQUIRE(j.Feed("12345678901234567890123\n1.10\n").ok());
  size_t n = 0;
  CHECK(j.TakeBatch(1 << 20, &n) == "[12345678901234567890123,1.10]");
}

TEST_CASE("batches respect the byte budget but always carry at least one message") {
  JsonLines j;
  REQUIRE(j.Feed("\"aaaaaaaaaa\"\n\"bbbbbbbbbb\"\n\"cccccccccc\"\n").ok());
  size_t n = 0;
  CHECK(j.TakeBatch(30, &n) == "[\"aaaaaaaaaa\",\"bbbbbbbbbb\"]");
  CHECK(n == 2);
  CHECK(j.TakeBatch(5, &n) == "[\"cccccccccc\"]");
  CHECK(n == 1);
}
