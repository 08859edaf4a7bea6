// A streaming read on its own thread, so the probe can act while it runs (drop it at a
// token count, send a stop request, attach a second reader) and know when each mock token
// arrived.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "audit/probe/fetch.hpp"

namespace dsx::audit::probe {

class StreamReader {
 public:
  // drop_after > 0: drop the connection hard as soon as that many tokens arrived.
  // end_marker: stop reading (close) once this text arrives: the generation is over in a
  // stream that stays open after it.
  StreamReader(RequestSpec request, HttpLimits limits, int drop_after = 0, std::string end_marker = "");
  ~StreamReader();  // drops and joins if still running
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  void Start();
  // Wait until `n` tokens arrived; false if the read ended first or `timeout_s` passed.
  bool WaitTokens(int n, double timeout_s);
  void Drop() { abort_.store(true); }
  const HttpResponse& Join();  // waits for the read to end

  // A copy of what has arrived so far (status, headers, body).
  HttpResponse Snapshot() const;
  int tokens() const;                                  // tokens received so far (count)
  int max_token() const;                               // highest token number received so far
  int64_t drop_ms() const { return drop_ms_.load(); }  // when drop_after fired (0 = never)
  bool ended_by_marker() const { return ended_by_marker_.load(); }

 private:
  RequestSpec request_;
  HttpLimits limits_;
  int drop_after_;
  std::string end_marker_;
  std::thread thread_;
  std::atomic<bool> abort_{false};
  std::atomic<int64_t> drop_ms_{0};
  std::atomic<bool> ended_by_marker_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int tokens_ = 0, max_token_ = 0;  // GUARDED_BY(mu_)
  bool done_ = false;               // GUARDED_BY(mu_)
  HttpResponse response_;           // final; partial_ while running (GUARDED_BY(mu_))
  HttpResponse partial_;
};

}  // namespace dsx::audit::probe
