// Reconnect/retry pacing: exponential backoff with jitter. Retry loops wait on a dsx::Clock
// (core/clock.hpp), so tests run them in virtual time with a ManualClock.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace dsx::session::client {

using Millis = std::chrono::milliseconds;

// Delays grow initial, 2x, 4x ... up to `max`; each delay is drawn uniformly from
// [d/2, d] ("equal jitter") so many clients reconnecting after one server restart spread
// out while each still waits at least half the nominal delay. Reset() after a success.
class Backoff {
 public:
  struct Options {
    Millis initial{100};
    Millis max{5000};
    double multiplier = 2.0;
  };
  Backoff() : Backoff(Options{}) {}
  explicit Backoff(Options options, uint64_t seed = std::random_device{}());

  Millis Next();  // the delay to wait before the next attempt
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  Options options_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace dsx::session::client
