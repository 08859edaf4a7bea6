// StreamService::Append (POST): validation in the protocol's precedence order, then one
// atomic store append; the reply waits for durability.
#include <atomic>
#include <mutex>

#include "core/handoff_batch.hpp"
#include "session/model/json_mode.hpp"
#include "session/model/producer.hpp"
#include "session/model/protocol_values.hpp"
#include "session/model/stream_record.hpp"
#include "session/model/stream_service.hpp"

namespace dsx::session {
namespace {

Reply Error(int status, std::string why) {
  Reply r;
  r.status = status;
  r.error = std::move(why);
  return r;
}

// Answers a refusal with the stream's write lock released: a caller may append to the same
// stream again from its callback (the SessionHub retries a changed_elsewhere refusal; answered
// under the lock, that deadlocked on a shared store).
void Refuse(std::unique_lock<std::mutex>& wl, ReplyCallback& done, Reply r) {
  wl.unlock();
  done(std::move(r));
}

}  // namespace

void StreamService::AfterDurable(const StreamHandle& s, std::function<void()> fn) {
  const std::uint64_t n = s->submitted;  // caller holds write_mu
  {
    std::lock_guard rl(s->read_mu);
    if (s->completed < n) {
      s->barriers.emplace_back(n, std::move(fn));
      return;
    }
  }
  fn();
}

bool StreamService::RefetchBeforeRefusing(const StreamHandle& s, AppendArgs& args, ReplyCallback& done) {
  // On a shared store this server's view may be behind (another server took the producer's
  // next seqs or started its epoch): a refusal only it could get wrong is decided again on the
  // store's state, once. Accepting needs no such care: the store's version check catches it.
  if (!shared_ || args.view_fetched) return false;
  args.view_fetched = true;
  s->resyncing = true;
  s->parked.emplace_back(std::move(args), std::move(done));
  MaybeStartResync(s);
  return true;
}

bool StreamService::RedecideAfterInFlight(const StreamHandle& s, AppendArgs& args, ReplyCallback& done) {
  // A retry of a request still in flight. On one server the original cannot fail without the
  // store failing for good; on a shared store it can (lost race, Redis away), so the retry is
  // decided again once the original has its answer, instead of being promised its success.
  if (!shared_) return false;
  {
    std::lock_guard rl(s->read_mu);
    if (s->completed >= s->submitted) return false;  // all durable: answer now
    s->barriers.emplace_back(s->submitted, [this, a = std::move(args), d = std::move(done)]() mutable {
      Append(std::move(a), std::move(d));
    });
  }
  return true;
}

void StreamService::CompleteAppend(const StreamHandle& s, const Result<AppendResult>& r, bool close,
                                   std::optional<ProducerTuple> closer) {
  (void)closer;
  std::vector<Waiter> waiters;
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard rl(s->read_mu);
    s->completed++;
    if (r.ok()) {
      s->tail = r->tail;
      if (close) s->closed = true;
      waiters.swap(s->waiters);
      s->live_waiters_at_purge = 0;
    }
    if (!s->barriers.empty()) {
      auto& b = s->barriers;
      for (auto it = b.begin(); it != b.end();) {
        if (it->first <= s->completed) {
          ready.push_back(std::move(it->second));
          it = b.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  // Every reader parked at the old tail wakes: one hand-off per I/O thread, not one per reader
  // (core/handoff_batch.hpp); inside the file store's completer this joins its batch.
  HandoffBatch handoffs;
  WakeArmed(waiters);
  for (auto& fn : ready) fn();
}

void StreamService::Append(AppendArgs args, ReplyCallback done) {
  const bool close_only = args.body.empty() && args.close;
  if (!close_only) {
    if (args.body.empty()) return done(Error(400, "empty body"));
    if (!args.content_type) return done(Error(400, "missing Content-Type"));
  }
  if (closing_) return done(Error(503, "server is shutting down"));
  const std::int64_t now = clock_.NowMs();
  Reply err;
  StreamHandle s = Find(args.path, now, &err);
  if (!s) return done(std::move(err));
  NoteAccess(s, now);

  std::unique_lock wl(s->write_mu);
  if (s->failed) return Refuse(wl, done, Error(503, "stream store failed; restart the server"));
  if (s->resyncing) {
    // A shared store: this server's view lost a race (stream_sync.cpp); decide once it is in.
    s->parked.emplace_back(std::move(args), std::move(done));
    MaybeStartResync(s);
    return;
  }
  if (args.expect_remote_changes && *args.expect_remote_changes != s->remote_changes.load()) {
    Reply moved = Error(409, "the stream changed on another server; read it again");
    moved.changed_elsewhere = true;
    return Refuse(wl, done, std::move(moved));
  }

  Reply r;
  r.has_info = true;
  r.info.content_type = s->meta.content_type;
  std::optional<ProducerTuple> tuple;
  if (args.producer) tuple = ProducerTuple{args.producer->id, args.producer->epoch, args.producer->seq};
  if (args.only_if_duplicate) {
    auto it = tuple ? s->producers.find(tuple->id) : s->producers.end();
    const bool retry = it != s->producers.end() &&
                       CheckProducer(&it->second, tuple->epoch, tuple->seq).verdict == ProducerVerdict::kDuplicate;
    if (!retry) return Refuse(wl, done, Error(409, "not a retry of an accepted append"));
    // A duplicate: step 7 answers it (204 once the original is durable) and writes nothing.
  }

  // 5. Closed stream: only an exact retry of the closing request (or a plain re-close)
  //    succeeds; everything else is 409 with the final offset.
  if (s->pending_closed) {
    r.closed_header = true;
    r.next_offset = s->pending_tail;
    if ((tuple && s->pending_closed_by && *tuple == *s->pending_closed_by) || (close_only && !tuple)) {
      r.status = 204;
      if (tuple) {
        r.producer_epoch = tuple->epoch;
        r.producer_seq = tuple->seq;
      }
      if (RedecideAfterInFlight(s, args, done)) return;
      AfterDurable(s, [r = std::move(r), done = std::move(done)]() mutable { done(std::move(r)); });
      return;
    }
    if (tuple) {
      auto it = s->producers.find(tuple->id);
      if (it != s->producers.end() && tuple->epoch < it->second.epoch) {
        r.status = 403;
        r.error = "stale producer epoch";
        r.producer_epoch = it->second.epoch;
        return Refuse(wl, done, std::move(r));
      }
    }
    r.status = 409;
    r.error = "stream is closed";
    return Refuse(wl, done, std::move(r));
  }
  // 6. Content type must match the stream's.
  if (!close_only && NormalizeContentType(*args.content_type) != s->ct_normalized) {
    return Refuse(wl, done, Error(409, "content type does not match the stream's"));
  }
  // 7. Producer fencing and dedupe (before Stream-Seq, so a retried request is a duplicate).
  if (tuple) {
    auto it = s->producers.find(tuple->id);
    const ProducerCheck pc = CheckProducer(it == s->producers.end() ? nullptr : &it->second, tuple->epoch, tuple->seq);
    switch (pc.verdict) {
      case ProducerVerdict::kAccept: break;
      case ProducerVerdict::kDuplicate:
        r.status = 204;
        r.producer_epoch = tuple->epoch;
        r.producer_seq = pc.last_seq;
        r.next_offset = s->pending_tail;
        if (RedecideAfterInFlight(s, args, done)) return;
        AfterDurable(s, [r = std::move(r), done = std::move(done)]() mutable { done(std::move(r)); });
        return;
      case ProducerVerdict::kStaleEpoch:
        r.status = 403;
        r.error = "stale producer epoch";
        r.producer_epoch = pc.current_epoch;
        return Refuse(wl, done, std::move(r));
      case ProducerVerdict::kSeqGap:
        if (RefetchBeforeRefusing(s, args, done)) return;
        r.status = 409;
        r.error = "producer sequence gap";
        r.expected_seq = pc.expected_seq;
        r.received_seq = tuple->seq;
        return Refuse(wl, done, std::move(r));
      case ProducerVerdict::kBadNewEpoch:
        if (RefetchBeforeRefusing(s, args, done)) return;
        return Refuse(wl, done, Error(400, "a new producer epoch must start at Producer-Seq 0"));
    }
  }
  // 8. Stream-Seq: strictly increasing, byte-wise.
  if (args.stream_seq && s->pending_seq && *args.stream_seq <= *s->pending_seq) {
    return Refuse(wl, done, Error(409, "Stream-Seq is not greater than the last one"));
  }
  // 9. Body framing. A shared store may refuse the append (another server got there first):
  //    then it is decided again from these arguments.
  std::optional<AppendArgs> retry;
  if (shared_) retry = args;
  AppendOp op;
  op.id = s->meta.id;
  if (!close_only) {
    if (s->json) {
      auto batch = JsonBatchFromBody(args.body, /*allow_empty=*/false);
      if (!batch.ok()) return Refuse(wl, done, Error(400, batch.status().message()));
      op.batch = std::move(batch).value();
    } else {
      op.batch.sizes.push_back(static_cast<std::uint32_t>(args.body.size()));
      op.batch.payload = std::move(args.body);
    }
  }
  const std::size_t bytes = op.batch.payload.size();
  s->pending_tail += bytes;
  if (tuple) s->producers[tuple->id] = ProducerState{tuple->epoch, tuple->seq};
  if (args.stream_seq) s->pending_seq = args.stream_seq;
  if (args.close) {
    s->pending_closed = true;
    s->pending_closed_by = tuple;
  }
  s->submitted++;
  if (shared_) {
    op.expect_version = s->pending_version;
    op.new_version = s->pending_version = NextVersion();
  }
  op.producer = tuple;
  op.stream_seq = std::move(args.stream_seq);
  op.close = args.close;

  r.status = (tuple && !close_only) ? 200 : 204;
  r.closed_header = args.close;
  if (tuple) {
    r.producer_epoch = tuple->epoch;
    r.producer_seq = tuple->seq;
  }
  stats_.appends.fetch_add(1, std::memory_order_relaxed);
  stats_.append_bytes.fetch_add(bytes, std::memory_order_relaxed);
  const bool close = args.close;
  // The reply must not be sent while write_mu is held (a synchronous store, like memory,
  // completes inside Append): whoever comes second of "callback ran" and "Append returned"
  // delivers it, so sends never serialize appends to one stream.
  struct Handoff {
    std::atomic<int> state{0};  // 1: reply ready; 2: submission returned
    Reply reply;
    ReplyCallback done;
  };
  auto handoff = std::make_shared<Handoff>();
  handoff->done = std::move(done);
  const std::uint64_t version = op.new_version;
  store_->Append(std::move(op), [this, s, close, tuple, handoff, version, retry = std::move(retry),
                                 r = std::move(r)](Result<AppendResult> res) mutable {
    if (!res.ok() && shared_) {
      // The pending view is wrong now: resync before anything (a retry waiting on this append
      // in a barrier is decided again when CompleteAppend runs it, and must park, not decide).
      const bool lost_race = res.status().code() == Code::kConflict;
      {
        std::lock_guard wl(s->write_mu);
        s->resyncing = true;
        if (lost_race) {
          // Nothing was applied: decided again on the store's state, answered then.
          s->parked.emplace_back(std::move(*retry), [handoff](Reply again) {
            handoff->reply = std::move(again);
            if (handoff->state.exchange(1, std::memory_order_acq_rel) == 2) handoff->done(std::move(handoff->reply));
          });
        }
      }
      CompleteAppend(s, res, false, std::nullopt);
      {
        std::lock_guard wl(s->write_mu);
        MaybeStartResync(s);
      }
      if (lost_race) return;
      // Unreachable or timed out: it may or may not have been applied. Not sticky (the store
      // comes back); the resync tells which.
      handoff->reply = Error(503, "cannot append: " + res.status().message());
    } else if (!res.ok()) {
      s->failed = true;  // the store's state is unknown now (sticky)
      CompleteAppend(s, res, false, std::nullopt);
      handoff->reply = Error(503, "cannot append: " + res.status().message());
    } else {
      if (shared_) {
        std::lock_guard rl(s->read_mu);
        s->version = version;
      }
      r.next_offset = res->tail;
      r.info.tail = res->tail;
      r.info.closed = close;
      CompleteAppend(s, res, close, tuple);
      if (shared_) {
        std::lock_guard wl(s->write_mu);
        MaybeStartResync(s);  // a refusal parked behind this append waits for it (RefetchBeforeRefusing)
      }
      handoff->reply = std::move(r);
    }
    if (handoff->state.exchange(1, std::memory_order_acq_rel) == 2) handoff->done(std::move(handoff->reply));
  });
  wl.unlock();
  if (handoff->state.exchange(2, std::memory_order_acq_rel) == 1) handoff->done(std::move(handoff->reply));
}

}  // namespace dsx::session
