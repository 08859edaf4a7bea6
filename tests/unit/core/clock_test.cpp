#include <doctest/doctest.h>

#include "core/clock.hpp"

TEST_CASE("ManualClock moves only when told, both readings together") {
  dsx::ManualClock clock(1000);
  CHECK(clock.NowMs() == 1000);
  CHECK(clock.SteadyMs() == 0);
  clock.Advance(250);
  clock.SleepMs(50);
  CHECK(clock.NowMs() == 1300);
  CHECK(clock.SteadyMs() == 300);
  CHECK(clock.sleeps() == std::vector<std::int64_t>{50});
  clock.Set(10);  // a wall-clock step does not move the steady reading
  CHECK(clock.NowMs() == 10);
  CHECK(clock.SteadyMs() == 300);
}

TEST_CASE("the system clock reads the epoch and never runs backwards on the steady reading") {
  dsx::Clock& clock = dsx::Clock::System();
  CHECK(clock.NowMs() > 1'600'000'000'000);  // after 2020
  const auto a = clock.SteadyMs();
  CHECK(clock.SteadyMs() >= a);
  CHECK(dsx::NowMs() >= clock.NowMs() - 1000);
}
