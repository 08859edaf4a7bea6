// Progress of a static audit (issue 18: a 20,000-file tree printed nothing for 8 s). The audit
// reports phases and counts to an AuditProgress; ProgressLine draws them as one line on a
// terminal (cmd_audit passes one only when stderr is a TTY and --quiet is not given).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/mutex.hpp"
#include "core/thread_annotations.hpp"

namespace dsx::audit {

// Receives the audit's progress. Advance() is called from the parser threads, once per file, so
// implementations must be thread-safe and cheap.
class AuditProgress {
 public:
  virtual ~AuditProgress() = default;
  // A phase starts: "finding files" (total 0: not known in advance), "parsing" (total = the
  // source files), "scoring".
  virtual void Phase(std::string_view phase, size_t total) = 0;
  // `done` units of the current phase are finished (files found, files parsed).
  virtual void Advance(size_t done) = 0;
  // The audit is over (or failed): take the line away before the report is printed.
  virtual void Finish() = 0;
};

// One self-overwriting line: "dsx audit: parsing 1234/20000 files (6%)". Redrawn at most every
// `interval_ms` (by `clock`, so tests need no sleeps), and always at a phase's start and its last
// unit; Finish() clears it. `write` receives the bytes (cmd_audit: stderr).
class ProgressLine final : public AuditProgress {
 public:
  ProgressLine(std::function<void(std::string_view)> write, Clock& clock, int interval_ms = 100)
      : write_(std::move(write)), clock_(clock), interval_ms_(interval_ms) {}
  void Phase(std::string_view phase, size_t total) override;
  void Advance(size_t done) override;
  void Finish() override;

  // The text of the line for a phase and count (no control characters).
  static std::string Format(std::string_view phase, size_t done, size_t total);

 private:
  void DrawLocked(size_t done) REQUIRES(mu_);

  std::function<void(std::string_view)> write_;
  Clock& clock_;
  const int interval_ms_;
  Mutex mu_;
  std::string phase_ GUARDED_BY(mu_);
  size_t total_ GUARDED_BY(mu_) = 0;
  size_t shown_ GUARDED_BY(mu_) = 0;  // the count last drawn
  std::int64_t last_ms_ GUARDED_BY(mu_) = 0;
  bool drawn_ GUARDED_BY(mu_) = false;  // something is on the line (Finish clears it)
};

}  // namespace dsx::audit
