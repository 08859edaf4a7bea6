// The terminal progress line of a static audit; see progress.hpp.
#include "audit/static/progress.hpp"

namespace dsx::audit {

std::string ProgressLine::Format(std::string_view phase, size_t done, size_t total) {
  std::string s = "dsx audit: ";
  s += phase;
  if (total > 0) {
    s += " " + std::to_string(done) + "/" + std::to_string(total) + " files (" +
         std::to_string(done * 100 / total) + "%)";
  } else if (done > 0) {
    s += ": " + std::to_string(done) + " files";
  }
  return s;
}

void ProgressLine::Phase(std::string_view phase, size_t total) {
  MutexLock lock(&mu_);
  phase_ = std::string(phase);
  total_ = total;
  DrawLocked(0);
}

void ProgressLine::Advance(size_t done) {
  MutexLock lock(&mu_);
  if (done <= shown_ && drawn_) return;  // a slower thread reporting an older count
  bool last = total_ > 0 && done >= total_;
  if (!last && clock_.SteadyMs() - last_ms_ < interval_ms_) return;
  DrawLocked(done);
}

void ProgressLine::Finish() {
  MutexLock lock(&mu_);
  if (drawn_) write_("\r\033[K");
  drawn_ = false;
}

void ProgressLine::DrawLocked(size_t done) {
  // \r and erase-to-end-of-line: the line is redrawn in place; no newline until Finish() clears it.
  write_("\r\033[K" + Format(phase_, done, total_));
  shown_ = done;
  last_ms_ = clock_.SteadyMs();
  drawn_ = true;
}

}  // namespace dsx::audit
