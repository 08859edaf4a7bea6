// Virtual time for client tests (retry and reconnect loops run without sleeping).
#pragma once

#include <vector>

#include "session/client/backoff.hpp"

namespace dsx::session::client::testing {

// Virtual time: Sleep() advances Now() and records the delays.
class FakeClock final : public Clock {
 public:
  Millis now{0};
  std::vector<Millis> sleeps;
  Millis Now() override { return now; }
  void Sleep(Millis d) override {
    sleeps.push_back(d);
    now += d;
  }
};

}  // namespace dsx::session::client::testing
