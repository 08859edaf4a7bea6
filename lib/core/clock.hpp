// The one source of time. Code that decides by time (TTLs, expiry, leases, retention, retry and
// reconnect pacing) takes a Clock&, so tests drive it with a ManualClock and run instantly
// instead of sleeping past a deadline. Production code passes Clock::System().
#pragma once

#include <cstdint>
#include <vector>

#include "core/mutex.hpp"

namespace dsx {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch (Expires-At, lease and token expiry).
  virtual std::int64_t NowMs() = 0;
  // Monotonic milliseconds from an arbitrary epoch: durations and deadlines inside a process.
  virtual std::int64_t SteadyMs() = 0;
  // Waits `ms` (a ManualClock advances instead).
  virtual void SleepMs(std::int64_t ms) = 0;

  // The real clock (system_clock, steady_clock, this_thread::sleep_for). Thread-safe.
  static Clock& System();
};

// Clock::System().NowMs(): for code with no decision to test (log stamps, producer epochs).
std::int64_t NowMs();

// A clock that moves only when told: Advance() or SleepMs() move both readings by the same amount
// and record the sleeps. Thread-safe, so a test thread can advance it while the code under test
// reads it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms) {}
  std::int64_t NowMs() override;
  std::int64_t SteadyMs() override;
  void SleepMs(std::int64_t ms) override;
  void Advance(std::int64_t ms);
  void Set(std::int64_t now_ms);  // jumps the wall clock only (a clock step), not the steady one
  std::vector<std::int64_t> sleeps() const;

 private:
  mutable Mutex mu_;
  std::int64_t now_ms_ GUARDED_BY(mu_);
  std::int64_t steady_ms_ GUARDED_BY(mu_) = 0;
  std::vector<std::int64_t> sleeps_ GUARDED_BY(mu_);
};

}  // namespace dsx
