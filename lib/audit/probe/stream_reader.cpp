#include "audit/probe/stream_reader.hpp"

#include <algorithm>

#include "audit/probe/fingerprint.hpp"
#include "core/clock.hpp"

namespace dsx::audit::probe {

StreamReader::StreamReader(RequestSpec request, HttpLimits limits, int drop_after, std::string end_marker)
    : request_(std::move(request)), limits_(limits), drop_after_(drop_after), end_marker_(std::move(end_marker)) {}

StreamReader::~StreamReader() {
  if (thread_.joinable()) {
    Drop();
    thread_.join();
  }
}

void StreamReader::Start() {
  thread_ = std::thread([this] {
    HttpResponse r = Fetch(
        request_, limits_,
        [this](std::string_view, const HttpResponse& so_far) {
          // Bodies are small (a few KiB of numbered tokens), so rescanning is cheap and never
          // miscounts a token split across two chunks.
          std::vector<int> toks = ExtractTokens(so_far.body);
          bool drop = false;
          {
            std::lock_guard lock(mu_);
            partial_ = so_far;
            tokens_ = static_cast<int>(toks.size());
            max_token_ = toks.empty() ? 0 : *std::max_element(toks.begin(), toks.end());
            drop = drop_after_ > 0 && tokens_ >= drop_after_;
          }
          cv_.notify_all();
          if (drop) drop_ms_.store(NowMs());
          if (!drop && !end_marker_.empty() && so_far.body.find(end_marker_) != std::string::npos) {
            ended_by_marker_.store(true);
            return false;
          }
          return !drop;
        },
        &abort_);
    std::lock_guard lock(mu_);
    response_ = std::move(r);
    done_ = true;
    cv_.notify_all();
  });
}

bool StreamReader::WaitTokens(int n, double timeout_s) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::duration<double>(timeout_s), [&] { return tokens_ >= n || done_; });
  return tokens_ >= n;
}

const HttpResponse& StreamReader::Join() {
  if (thread_.joinable()) thread_.join();
  return response_;
}

HttpResponse StreamReader::Snapshot() const {
  std::lock_guard lock(mu_);
  return done_ ? response_ : partial_;
}

int StreamReader::tokens() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

int StreamReader::max_token() const {
  std::lock_guard lock(mu_);
  return max_token_;
}

}  // namespace dsx::audit::probe
