// Appending to a stream, with or without an idempotent producer, and the retry policy that
// makes `publish` survive network errors and server restarts.
//
// With a producer (Producer-Id/Epoch/Seq) every append carries a sequence number; after a
// transport failure the same (epoch, seq, body) is re-sent until the server answers, and the
// server's deduplication (204 for a seq it already has) makes the retry safe: nothing is
// duplicated, nothing is lost. Without a producer only requests that provably never reached
// the server (connection refused, host unresolvable) and 502/503/504 answers are retried; a
// failure after the request may have been delivered is reported, because retrying could
// append twice.
//
// Epochs: a new Appender starts at `epoch` (callers pass the Unix time in milliseconds, so a
// later run of the same producer id fences an earlier, possibly zombie, one). If the server
// answers the first append with 403 and a higher Producer-Epoch, nothing of this run has been
// accepted yet, so the appender moves to that epoch + 1 and starts again at seq 0. A 403
// after data was accepted means a newer instance took over: a kConflict error.
//
// Several servers (StreamClient with a list): a retry goes to the next server (at once while
// some server has not failed since the last success, then after the backoff). The same rule of
// what is safe to resend holds: the producer's (epoch, seq) is deduplicated by the shared store
// whichever node receives the retry, so an append that landed on the dead node before it died is
// answered 204 (duplicate) by the next one; without a producer only a request that never left
// (or got 502/503/504) is resent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "session/client/backoff.hpp"
#include "session/client/server_list.hpp"
#include "session/client/stream_client.hpp"

namespace dsx::session::client {

struct ProducerId {
  std::string id;
  uint64_t epoch = 0;
  bool auto_epoch = true;  // may move past a higher server epoch before the first accepted append
};

struct AppendResult {
  std::string next_offset;  // "" when the server sent none (a duplicate may omit it)
  bool duplicate = false;   // the server already had this producer seq (an earlier try landed)
  bool closed = false;
};

class Appender {
 public:
  struct Options {
    std::string content_type;            // must match the stream's
    std::optional<ProducerId> producer;  // none: plain appends
    Millis retry_for{120000};            // give up retrying after this long without success
    Backoff::Options backoff;
    Clock* clock = &Clock::System();  // steady readings bound retry_for; sleeps between tries
    uint64_t seed = 0x5eed;           // backoff jitter seed
    // Called once per retry with the reason (for "retrying" notices); may be empty.
    std::function<void(const Status& why, Millis delay)> on_retry;
  };

  Appender(StreamClient& client, Options options);

  // Appends `body` (non-empty). With close=true the same request closes the stream.
  Result<AppendResult> Append(std::string_view body, bool close = false);
  // Closes the stream without data (idempotent on the server, safe to retry).
  Result<AppendResult> Close();

  uint64_t epoch() const { return producer_ ? producer_->epoch : 0; }
  uint64_t next_seq() const { return seq_; }
  int retries() const { return retries_; }

 private:
  Result<AppendResult> Send(std::string_view body, bool close);

  StreamClient& client_;
  Options options_;
  std::optional<ProducerId> producer_;
  uint64_t seq_ = 0;
  bool accepted_any_ = false;
  int retries_ = 0;
  Backoff backoff_;
  Failover failover_;
};

}  // namespace dsx::session::client
