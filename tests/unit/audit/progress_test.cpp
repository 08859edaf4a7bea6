// The static audit's terminal progress line (issue 18): phases and counts, redrawn in place at
// most every interval (a ManualClock stands in for time), always at a phase's last file, and
// cleared at the end.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "audit/static/progress.hpp"
#include "core/clock.hpp"

using namespace dsx::audit;

TEST_CASE("progress: the line's text") {
  CHECK(ProgressLine::Format("parsing", 1234, 20000) == "dsx audit: parsing 1234/20000 files (6%)");
  CHECK(ProgressLine::Format("finding files", 0, 0) == "dsx audit: finding files");
  CHECK(ProgressLine::Format("finding files", 42, 0) == "dsx audit: finding files: 42 files");
}

TEST_CASE("progress: throttled redraws, the last file always shown, cleared at the end") {
  dsx::ManualClock clock;
  std::vector<std::string> writes;
  ProgressLine line([&](std::string_view s) { writes.emplace_back(s); }, clock, 100);
  line.Phase("parsing", 1000);
  REQUIRE(writes.size() == 1);
  CHECK(writes[0] == "\r\033[Kdsx audit: parsing 0/1000 files (0%)");
  for (size_t i = 1; i < 500; ++i) line.Advance(i);  // no time passed: nothing new drawn
  CHECK(writes.size() == 1);
  clock.Advance(100);
  line.Advance(500);
  CHECK(writes.back() == "\r\033[Kdsx audit: parsing 500/1000 files (50%)");
  line.Advance(400);  // an older count from a slower thread is never drawn
  CHECK(writes.size() == 2);
  line.Advance(1000);  // the last one is drawn at once
  CHECK(writes.back() == "\r\033[Kdsx audit: parsing 1000/1000 files (100%)");
  line.Finish();
  CHECK(writes.back() == "\r\033[K");
  size_t n = writes.size();
  line.Finish();  // nothing left to clear
  CHECK(writes.size() == n);
}
