// JobLock: an exclusive flock on <jobdir>/.lock held while one process reads a job's record, asks
// its backend and writes the result back. `dsx jobs status` in a shell, the watcher and a cancel
// may all refresh one job at once; without the lock two of them could both see queued->running
// and append the event twice, or an older answer could overwrite a newer state.json.
#pragma once

#include <string>

#include "core/status.hpp"

namespace dsx::jobs {

class JobLock {
 public:
  // Blocks until the lock is held. kUnavailable when the lock file cannot be opened.
  static Result<JobLock> Acquire(const std::string& jobdir);
  JobLock(JobLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  JobLock& operator=(JobLock&&) = delete;
  JobLock(const JobLock&) = delete;
  ~JobLock();

 private:
  explicit JobLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace dsx::jobs
