#include "session/client/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace dsx::session::client {
namespace {

class RealClock final : public Clock {
 public:
  Millis Now() override {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
  }
  void Sleep(Millis d) override { std::this_thread::sleep_for(d); }
};

}  // namespace

Clock& Clock::Real() {
  static RealClock clock;
  return clock;
}

Backoff::Backoff(Options options, uint64_t seed) : options_(options), rng_(seed) {}

Millis Backoff::Next() {
  double nominal = static_cast<double>(options_.initial.count()) *
                   std::pow(options_.multiplier, static_cast<double>(std::min(attempt_, 62)));
  nominal = std::min(nominal, static_cast<double>(options_.max.count()));
  ++attempt_;
  std::uniform_real_distribution<double> dist(nominal / 2.0, nominal);
  return Millis(static_cast<int64_t>(std::llround(dist(rng_))));
}

}  // namespace dsx::session::client
