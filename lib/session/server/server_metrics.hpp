// Counters the HTTP layer keeps for GET /metrics (Prometheus text, see metrics.cpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "session/model/stream_service.hpp"
#include "session/server/connection_count.hpp"

namespace dsx::session::server {

struct ServerMetrics {
  std::atomic<std::int64_t> http_connections{0};   // open HTTP connections (incl. long-poll)
  std::atomic<std::int64_t> sse_subscribers{0};    // open SSE responses
  std::atomic<std::int64_t> long_poll_waiters{0};  // long-polls parked waiting for data
  std::atomic<std::uint64_t> requests{0};
  ConnectionGauge connections;                         // open connections of every kind (--max-connections)
  std::atomic<std::uint64_t> rejected_connections{0};  // 503 at accept (over the limit, out of descriptors)
  std::atomic<std::uint64_t> accept_errors{0};         // failed accept() calls (EMFILE and the like)
  std::array<std::atomic<std::uint64_t>, 600> responses_by_status{};  // index = HTTP status
  // fsync latency histogram (store SyncObserver), buckets in seconds.
  static constexpr std::array<double, 12> kSyncBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                          0.01,   0.025,   0.05,   0.1,   0.25,   1.0};
  std::array<std::atomic<std::uint64_t>, 13> sync_buckets{};  // last = +Inf
  std::atomic<std::uint64_t> sync_count{0};
  std::atomic<std::uint64_t> sync_nanos{0};
  std::atomic<std::uint64_t> synced_appends{0};

  void CountStatus(unsigned status) {
    if (status < responses_by_status.size()) responses_by_status[status].fetch_add(1, std::memory_order_relaxed);
  }
  void ObserveSync(std::uint64_t nanos, std::size_t appends);
};

// Prometheus text exposition (version 0.0.4) of service + server counters.
std::string MetricsText(const ServerMetrics& m, const StreamService& service, const char* store_name);

}  // namespace dsx::session::server
