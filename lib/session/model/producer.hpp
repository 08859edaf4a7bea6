// Idempotent producers (Producer-Id / Producer-Epoch / Producer-Seq), Kafka-style fencing.
// A pure decision over the producer's current state; the service applies it.
#pragma once

#include <cstdint>

#include "session/store/stream_store.hpp"

namespace dsx::session {

enum class ProducerVerdict {
  kAccept,      // append it; new state = {epoch, seq}                    (HTTP 200)
  kDuplicate,   // already accepted: answer without writing               (HTTP 204)
  kStaleEpoch,  // epoch below the current one: fenced zombie             (HTTP 403)
  kSeqGap,      // seq is not the next one                                (HTTP 409)
  kBadNewEpoch  // a new epoch must start at seq 0                        (HTTP 400)
};

struct ProducerCheck {
  ProducerVerdict verdict = ProducerVerdict::kAccept;
  std::uint64_t current_epoch = 0;  // kStaleEpoch: the epoch in force
  std::uint64_t last_seq = 0;       // kDuplicate: highest accepted seq
  std::uint64_t expected_seq = 0;   // kSeqGap: the seq the server expects
};

// `state` is null for a producer the stream has not seen.
ProducerCheck CheckProducer(const ProducerState* state, std::uint64_t epoch, std::uint64_t seq);

}  // namespace dsx::session
