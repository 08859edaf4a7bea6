#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/mutex.hpp"

namespace {

struct Shared {
  dsx::Mutex mu;
  dsx::CondVar cv{&mu};
  int value GUARDED_BY(mu) = 0;
  bool ready GUARDED_BY(mu) = false;
};

}  // namespace

TEST_CASE("MutexLock excludes: concurrent increments are not lost") {
  Shared s;
  std::thread t([&] {
    for (int i = 0; i < 10000; ++i) {
      dsx::MutexLock l(&s.mu);
      ++s.value;
    }
  });
  for (int i = 0; i < 10000; ++i) {
    dsx::MutexLock l(&s.mu);
    ++s.value;
  }
  t.join();
  dsx::MutexLock l(&s.mu);
  CHECK(s.value == 20000);
}

TEST_CASE("MutexLock::Unlock lets another thread in; Lock takes it back; the destructor releases once") {
  Shared s;
  {
    dsx::MutexLock l(&s.mu);
    l.Unlock();
    std::thread t([&] {
      dsx::MutexLock other(&s.mu);  // would deadlock if Unlock had not released
      s.value = 1;
    });
    t.join();
    l.Lock();
    CHECK(s.value == 1);
  }
  {
    dsx::MutexLock l(&s.mu);  // free again after the scope above
    l.Unlock();               // and the destructor must not unlock a second time
  }
  dsx::MutexLock l(&s.mu);
  CHECK(s.value == 1);
}

TEST_CASE("CondVar: Wait returns with the mutex held after a Signal; WaitUntil times out") {
  Shared s;
  std::thread t([&] {
    dsx::MutexLock l(&s.mu);
    s.value = 42;
    s.ready = true;
    s.cv.Signal();
  });
  {
    dsx::MutexLock l(&s.mu);
    while (!s.ready) s.cv.Wait();
    CHECK(s.value == 42);
  }
  t.join();

  dsx::MutexLock l(&s.mu);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
  bool woken = true;
  while (woken && std::chrono::steady_clock::now() < deadline) woken = s.cv.WaitUntil(deadline);
  CHECK(std::chrono::steady_clock::now() >= deadline);
  s.value = 0;  // still held: the analysis and the runtime agree
}
