#include "session/client/appender.hpp"

#include <cstdlib>

namespace dsx::session::client {
namespace {

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::strtoull(s.c_str(), nullptr, 10);
  return true;
}

bool Retryable(int http_status) { return http_status == 502 || http_status == 503 || http_status == 504; }

}  // namespace

Appender::Appender(StreamClient& client, Options options)
    : client_(client),
      options_(std::move(options)),
      producer_(options_.producer),
      backoff_(options_.backoff, options_.seed),
      failover_(client.server_count()) {}

Result<AppendResult> Appender::Append(std::string_view body, bool close) {
  if (body.empty()) return Status::Failed("empty append");
  return Send(body, close);
}

Result<AppendResult> Appender::Close() { return Send({}, true); }

Result<AppendResult> Appender::Send(std::string_view body, bool close) {
  Clock& clock = *options_.clock;
  const std::int64_t start_ms = clock.SteadyMs();
  backoff_.Reset();
  // Retry after `why`, or give up with it when the budget is spent.
  auto retry = [&](const Status& why) -> bool {
    // Publish learned the stream through this client (HEAD) first: a failure here is an outage.
    const Failover::Action action = failover_.OnFailure(why, /*contacted=*/true);
    if (action == Failover::Action::kGiveUp) return false;
    const Millis delay = action == Failover::Action::kSwitchNow ? Millis(0) : backoff_.Next();
    if (clock.SteadyMs() + delay.count() - start_ms > options_.retry_for.count()) return false;
    ++retries_;
    if (action != Failover::Action::kRetryLater) {
      client_.UseServer(client_.active_server() + 1);
      if (options_.on_retry)
        options_.on_retry(Status::Unavailable(why.message() + "; trying " + client_.server()), delay);
    } else if (options_.on_retry) {
      options_.on_retry(why, delay);
    }
    if (delay.count() > 0) clock.SleepMs(delay.count());
    return true;
  };

  for (;;) {
    net::HttpRequest req = client_.MakeRequest("POST");
    req.timeout_ms = 60000;
    req.body.assign(body);
    if (!body.empty()) req.headers.emplace_back("Content-Type", options_.content_type);
    if (close) req.headers.emplace_back("Stream-Closed", "true");
    if (producer_) {
      req.headers.emplace_back("Producer-Id", producer_->id);
      req.headers.emplace_back("Producer-Epoch", std::to_string(producer_->epoch));
      req.headers.emplace_back("Producer-Seq", std::to_string(seq_));
    }
    net::Exchange ex = client_.transport().Send(req);

    if (!ex.ok()) {
      Status why = client_.TransportError(ex);
      // Safe to resend: with a producer the server deduplicates; a close is idempotent; a
      // request that never left cannot have been applied.
      const bool safe = producer_ || (close && body.empty()) || !ex.maybe_delivered;
      if (!safe) {
        return Status::Unavailable(why.message() +
                                   "; the append may or may not have been applied (use --producer for safe retries)");
      }
      if (retry(why)) continue;
      return why;
    }

    const net::HttpResponse& r = ex.response;
    if (r.status == 200 || r.status == 204) {
      failover_.OnSuccess();
      AppendResult out;
      out.next_offset = r.Header("Stream-Next-Offset");
      out.closed = net::EqualsIgnoreCase(r.Header("Stream-Closed"), "true");
      // With a producer, 204 on a data append is the server's "already have this seq".
      out.duplicate = producer_ && r.status == 204 && !body.empty();
      if (producer_) ++seq_;
      accepted_any_ = true;
      return out;
    }
    if (Retryable(r.status)) {
      if (retry(StatusFromResponse(r))) continue;
      return StatusFromResponse(r);
    }
    if (producer_ && r.status == 403 && r.Has("Producer-Epoch")) {
      uint64_t server_epoch = 0;
      if (producer_->auto_epoch && !accepted_any_ && ParseU64(r.Header("Producer-Epoch"), &server_epoch) &&
          server_epoch >= producer_->epoch && server_epoch < (uint64_t{1} << 53) - 1) {
        producer_->epoch = server_epoch + 1;  // nothing of ours accepted yet: take over cleanly
        seq_ = 0;
        continue;
      }
      return Status::Conflict("producer '" + producer_->id + "' was fenced: the server has a newer epoch " +
                              r.Header("Producer-Epoch") + " (another publisher with the same --producer?)");
    }
    if (producer_ && r.status == 409 && r.Has("Producer-Expected-Seq")) {
      uint64_t expected = 0;
      ParseU64(r.Header("Producer-Expected-Seq"), &expected);
      if (expected < seq_) {
        return Status::Conflict("server lost producer state for '" + producer_->id + "' (expected seq " +
                                std::to_string(expected) + ", this run is at " + std::to_string(seq_) +
                                "): appends acknowledged earlier are missing");
      }
      return Status::Conflict("producer '" + producer_->id + "' sequence conflict: server expected seq " +
                              std::to_string(expected) + ", sent " + std::to_string(seq_) +
                              " (another publisher with the same --producer and epoch?)");
    }
    return StatusFromResponse(r);
  }
}

}  // namespace dsx::session::client
