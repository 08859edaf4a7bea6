#include <cstdio>

#include "session/server/server_metrics.hpp"

namespace dsx::session::server {
namespace {

void Line(std::string& out, const char* name, const char* type, const char* help, double value) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
  out += buf;
}

}  // namespace

void ServerMetrics::ObserveSync(std::uint64_t nanos, std::size_t appends) {
  const double seconds = static_cast<double>(nanos) / 1e9;
  std::size_t i = 0;
  while (i < kSyncBuckets.size() && seconds > kSyncBuckets[i]) ++i;
  sync_buckets[i].fetch_add(1, std::memory_order_relaxed);
  sync_count.fetch_add(1, std::memory_order_relaxed);
  sync_nanos.fetch_add(nanos, std::memory_order_relaxed);
  synced_appends.fetch_add(appends, std::memory_order_relaxed);
}

std::string MetricsText(const ServerMetrics& m, const StreamService& service, const char* store_name) {
  const ServiceStats& s = service.stats();
  std::string out;
  out.reserve(4096);
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "# HELP dsx_store_info The stream store in use.\n# TYPE dsx_store_info gauge\ndsx_store_info{store=\"%s\"} 1\n",
      store_name);
  out += buf;
  Line(out, "dsx_streams", "gauge", "Streams that exist (not deleted).", static_cast<double>(s.streams.load()));
  Line(out, "dsx_appends_total", "counter", "Appends accepted.", static_cast<double>(s.appends.load()));
  Line(out, "dsx_append_bytes_total", "counter", "Payload bytes appended.", static_cast<double>(s.append_bytes.load()));
  Line(out, "dsx_streams_created_total", "counter", "Streams created.", static_cast<double>(s.creates.load()));
  Line(out, "dsx_streams_deleted_total", "counter", "Streams deleted.", static_cast<double>(s.deletes.load()));
  Line(out, "dsx_http_requests_total", "counter", "HTTP requests handled.", static_cast<double>(m.requests.load()));
  out += "# HELP dsx_open_connections Open client connections by transport.\n# TYPE dsx_open_connections gauge\n";
  std::snprintf(buf, sizeof buf,
                "dsx_open_connections{transport=\"http\"} %lld\ndsx_open_connections{transport=\"sse\"} %lld\n",
                static_cast<long long>(m.http_connections.load()), static_cast<long long>(m.sse_subscribers.load()));
  out += buf;
  Line(out, "dsx_connections", "gauge",
       "Open client connections of every kind (HTTP, SSE, WebSocket); capped by --max-connections.",
       static_cast<double>(m.connections.open.load()));
  Line(out, "dsx_connections_rejected_total", "counter",
       "Connections answered 503 at once (over --max-connections, out of descriptors).",
       static_cast<double>(m.rejected_connections.load()));
  Line(out, "dsx_accept_errors_total", "counter", "Failed accepts (out of file descriptors and the like).",
       static_cast<double>(m.accept_errors.load()));
  out += "# HELP dsx_subscribers Live readers by transport.\n# TYPE dsx_subscribers gauge\n";
  std::snprintf(buf, sizeof buf,
                "dsx_subscribers{transport=\"sse\"} %lld\ndsx_subscribers{transport=\"long-poll\"} %lld\n",
                static_cast<long long>(m.sse_subscribers.load()), static_cast<long long>(m.long_poll_waiters.load()));
  out += buf;
  Line(out, "dsx_long_poll_waiters", "gauge", "Long-poll requests waiting for data.",
       static_cast<double>(m.long_poll_waiters.load()));
  out += "# HELP dsx_http_responses_total HTTP responses by status code.\n# TYPE dsx_http_responses_total counter\n";
  for (std::size_t code = 100; code < m.responses_by_status.size(); ++code) {
    const auto n = m.responses_by_status[code].load();
    if (n == 0) continue;
    std::snprintf(buf, sizeof buf, "dsx_http_responses_total{code=\"%zu\"} %llu\n", code,
                  static_cast<unsigned long long>(n));
    out += buf;
  }
  out +=
      "# HELP dsx_http_errors_total HTTP error responses (4xx/5xx) by status code.\n# TYPE dsx_http_errors_total "
      "counter\n";
  for (std::size_t code = 400; code < m.responses_by_status.size(); ++code) {
    const auto n = m.responses_by_status[code].load();
    if (n == 0) continue;
    std::snprintf(buf, sizeof buf, "dsx_http_errors_total{code=\"%zu\"} %llu\n", code,
                  static_cast<unsigned long long>(n));
    out += buf;
  }
  out += "# HELP dsx_fsync_seconds Store sync (fdatasync) latency.\n# TYPE dsx_fsync_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < m.sync_buckets.size(); ++i) {
    cumulative += m.sync_buckets[i].load();
    if (i < ServerMetrics::kSyncBuckets.size()) {
      std::snprintf(buf, sizeof buf, "dsx_fsync_seconds_bucket{le=\"%g\"} %llu\n", ServerMetrics::kSyncBuckets[i],
                    static_cast<unsigned long long>(cumulative));
    } else {
      std::snprintf(buf, sizeof buf, "dsx_fsync_seconds_bucket{le=\"+Inf\"} %llu\n",
                    static_cast<unsigned long long>(cumulative));
    }
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "dsx_fsync_seconds_sum %.9f\ndsx_fsync_seconds_count %llu\n",
                static_cast<double>(m.sync_nanos.load()) / 1e9, static_cast<unsigned long long>(m.sync_count.load()));
  out += buf;
  Line(out, "dsx_fsync_appends_total", "counter", "Appends covered by store syncs (group commit).",
       static_cast<double>(m.synced_appends.load()));
  return out;
}

}  // namespace dsx::session::server
