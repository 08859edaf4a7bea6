#include <doctest/doctest.h>

#include "audit/probe/mock_log.hpp"

using namespace dsx::audit::probe;

TEST_CASE("mock log: requests folded from events; torn and foreign lines skipped") {
  std::string text =
      R"({"ms":1000,"event":"request","req":"r000001","stream":true,"tokens":10,"marker":"dsx-probe-aa"})"
      "\n"
      R"({"ms":1100,"event":"token","req":"r000001","n":1,"text":"tok-0001 "})"
      "\n"
      R"({"ms":1200,"event":"token","req":"r000001","n":2,"text":"tok-0002 "})"
      "\n"
      R"({"ms":1250,"event":"cancel","req":"r000001","sent":2,"why":"client closed the connection"})"
      "\n"
      R"({"ms":2000,"event":"request","req":"r000002","stream":false,"tokens":3})"
      "\n"
      "not json\n"
      R"({"ms":2100,"event":"token"})"
      "\n"
      R"({"ms":2100,"event":"token","req":"r000002","n":1})"
      "\n"
      R"({"ms":2200,"event":"token","req":"r000002","n":2})"
      "\n"
      R"({"ms":2300,"event":"token","req":"r000002","n":3})"
      "\n"
      R"({"ms":2300,"event":"done","req":"r000002","sent":3})"
      "\n"
      R"({"ms":2400,"event":"tok)";  // torn tail of a log being written
  MockLog log = MockLog::Parse(text);
  CHECK(log.malformed_lines() == 3);
  auto reqs = log.Requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].marker == "dsx-probe-aa");
  CHECK(reqs[0].cancelled);
  CHECK(!reqs[0].done);
  CHECK(reqs[0].tokens_sent == 2);
  CHECK(reqs[0].tokens_total == 10);
  CHECK(reqs[0].end_ms == 1250);
  CHECK(reqs[1].done);
  CHECK(reqs[1].TokensAfter(2150) == 2);
  CHECK(reqs[1].TokensAfter(2300) == 0);
}

TEST_CASE("mock log: match by marker first, else by start time") {
  std::string text = R"({"ms":1000,"event":"request","req":"a","marker":"dsx-probe-x"})"
                     "\n"
                     R"({"ms":5000,"event":"request","req":"b"})"
                     "\n"
                     R"({"ms":9000,"event":"request","req":"c","marker":"dsx-probe-y"})"
                     "\n";
  MockLog log = MockLog::Parse(text);
  auto m = log.Match("dsx-probe-y", 0, 10000);
  REQUIRE(m.size() == 1);
  CHECK(m[0].req == "c");
  auto t = log.Match("dsx-probe-zz", 4000, 6000);  // no marker match: unmarked requests in the window
  REQUIRE(t.size() == 1);
  CHECK(t[0].req == "b");
  CHECK(log.Match("dsx-probe-zz", 6000, 8000).empty());
}

TEST_CASE("mock log: a missing file is an error with the path") {
  auto r = MockLog::Load("/nonexistent/dsx-mock.log");
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("/nonexistent/dsx-mock.log") != std::string::npos);
}
