#include <doctest/doctest.h>

#include "session/client/backoff.hpp"

using namespace dsx::session::client;

TEST_CASE("delays double from the initial value, jittered within [d/2, d], capped at max") {
  Backoff b(Backoff::Options{Millis(100), Millis(1000), 2.0}, 42);
  const long nominal[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (long n : nominal) {
    Millis d = b.Next();
    CAPTURE(n);
    CHECK(d.count() >= n / 2);
    CHECK(d.count() <= n);
  }
  CHECK(b.attempts() == 7);
}

TEST_CASE("reset starts again from the initial delay") {
  Backoff b(Backoff::Options{Millis(100), Millis(5000), 2.0}, 1);
  for (int i = 0; i < 10; ++i) (void)b.Next();
  b.Reset();
  CHECK(b.attempts() == 0);
  CHECK(b.Next().count() <= 100);
}

TEST_CASE("the same seed gives the same delays; jitter actually varies") {
  Backoff a(Backoff::Options{Millis(1000), Millis(1000), 2.0}, 7);
  Backoff b(Backoff::Options{Millis(1000), Millis(1000), 2.0}, 7);
  bool varied = false;
  Millis first = a.Next();
  CHECK(first == b.Next());
  for (int i = 0; i < 20; ++i) {
    Millis x = a.Next();
    CHECK(x == b.Next());
    varied = varied || x != first;
  }
  CHECK(varied);
}

TEST_CASE("huge attempt counts do not overflow") {
  Backoff b(Backoff::Options{Millis(100), Millis(3000), 2.0}, 3);
  for (int i = 0; i < 500; ++i) {
    Millis d = b.Next();
    CHECK(d.count() >= 0);
    CHECK(d.count() <= 3000);
  }
}
