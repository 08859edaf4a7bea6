#include "session/model/producer.hpp"

namespace dsx::session {

ProducerCheck CheckProducer(const ProducerState* state, std::uint64_t epoch, std::uint64_t seq) {
  ProducerCheck c;
  if (state == nullptr) {
    if (seq != 0) {
      c.verdict = ProducerVerdict::kSeqGap;
      c.expected_seq = 0;
    }
    return c;
  }
  if (epoch < state->epoch) {
    c.verdict = ProducerVerdict::kStaleEpoch;
    c.current_epoch = state->epoch;
    return c;
  }
  if (epoch > state->epoch) {
    if (seq != 0) c.verdict = ProducerVerdict::kBadNewEpoch;
    return c;
  }
  if (seq <= state->last_seq) {
    c.verdict = ProducerVerdict::kDuplicate;
    c.last_seq = state->last_seq;
    return c;
  }
  if (seq != state->last_seq + 1) {
    c.verdict = ProducerVerdict::kSeqGap;
    c.expected_seq = state->last_seq + 1;
  }
  return c;
}

}  // namespace dsx::session
