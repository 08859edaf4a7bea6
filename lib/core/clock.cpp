#include "core/clock.hpp"

#include <chrono>
#include <thread>

namespace dsx {
namespace {

class SystemClock final : public Clock {
 public:
  std::int64_t NowMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::int64_t SteadyMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void SleepMs(std::int64_t ms) override {
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
};

}  // namespace

Clock& Clock::System() {
  static SystemClock clock;
  return clock;
}

std::int64_t NowMs() { return Clock::System().NowMs(); }

std::int64_t ManualClock::NowMs() {
  MutexLock lock(&mu_);
  return now_ms_;
}

std::int64_t ManualClock::SteadyMs() {
  MutexLock lock(&mu_);
  return steady_ms_;
}

void ManualClock::SleepMs(std::int64_t ms) {
  MutexLock lock(&mu_);
  sleeps_.push_back(ms);
  if (ms > 0) {
    now_ms_ += ms;
    steady_ms_ += ms;
  }
}

void ManualClock::Advance(std::int64_t ms) {
  MutexLock lock(&mu_);
  now_ms_ += ms;
  steady_ms_ += ms;
}

void ManualClock::Set(std::int64_t now_ms) {
  MutexLock lock(&mu_);
  now_ms_ = now_ms;
}

std::vector<std::int64_t> ManualClock::sleeps() const {
  MutexLock lock(&mu_);
  return sleeps_;
}

}  // namespace dsx
