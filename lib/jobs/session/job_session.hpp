// JobSession: a job reported as a run of the session "jobs/<id>" (issue 13, section 1, Sessions),
// so that `dsx session tail jobs/<id>` and the web UI follow it from anywhere, and Stop in the
// UI / `dsx session cancel jobs/<id>` cancels the job through its backend.
//
// What goes into the session (the events: docs/protocol/sessions.md):
//   run.start   data {lease_ms, takeover:true, command:"<argv, at most 200 bytes>",
//               job:{id, backend, name, kind, backend_id, url}}. The run id is minted here (so a
//               retried run.start is a duplicate, not a second run); takeover ends a run a
//               previous watcher of the same job left active (it crashed, its lease not yet out)
//   msg.start   one message for the whole job: data {role:"assistant", kind:"job.log"}
//   msg.append  log lines, coalesced into fragments of at most max_fragment_bytes (whole lines
//               unless one line alone is longer; UTF-8 never split), in order, flushed at least
//               every flush_ms (on the clock). State changes are lines of the same message,
//               "[dsx] <state>[: <detail>][ (exit N)]", so `dsx session tail` and the web UI show
//               them in place among the log lines (an application event would sit after the whole
//               message in the compacted view the UI renders)
//   heartbeat   every lease_ms / 3 with the presence state the server takes for the job's:
//               {"state": "waiting"} queued, "streaming" running, "idle" ended
//   msg.end + run.end  data {reason: done | cancelled | error, state, backend_state, exit_code?,
//               error?}
// Every write carries one idempotent producer (Producer-Id/Epoch/Seq) and is retried for
// retry_for_ms across transport failures and 502/503/504, so each fragment lands exactly once.
//
// Cancel: a control thread follows the session from the run's start. control.cancel for this run
// calls on_cancel (which asks the backend); the request is acked "applied" when it returns OK,
// "rejected" with its message otherwise, and "rejected" with "job already <state>" without
// calling it once the job reached a terminal state. After an applied cancel the server refuses
// the run's output (409 "was cancelled"): what the dying job still prints is dropped, counted,
// not an error. control.steer is acked "rejected" (jobs take no steering).
//
// Threads: the caller's (State/Log/Flush/End, one caller at a time) and a flusher (the timed
// flush) share the writer's transport, one write at a time and in order; the heartbeat, the
// control follower and its acks each have their own. Transports are made in Open, in that order
// (writer, heartbeat, follower, acks), so a test can tell them apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "jobs/job.hpp"
#include "net/transport.hpp"

namespace dsx::jobs {

struct JobSessionOptions {
  std::string server, token;  // token: Authorization Bearer, never logged
  std::string session;        // "jobs/<id>"
  std::int64_t lease_ms = 15000;
  long retry_for_ms = 120000;  // appends ride out a server outage (exactly once: idempotent producer)
  std::function<std::unique_ptr<net::Transport>()> transport;  // default CurlTransport, one per thread
  Clock* clock = nullptr;                                      // default Clock::System()
  // As AgentRunEnv::clock_poll_ms: with a clock that moves without waking anyone (a test's
  // ManualClock), the flusher and heartbeat threads re-read it at least this often (real ms); 0: no.
  std::int64_t clock_poll_ms = 0;
  // Called (on the control thread) for control.cancel: ask the backend and return OK only when
  // it confirmed the job is stopping/stopped; the request is acked "applied" on OK, "rejected"
  // with the message otherwise. Unset: every cancel is rejected ("this job cannot be cancelled
  // from its session"). Called once per job: later cancels are acked "applied" without it. It
  // must not call End (End waits for the control thread).
  std::function<Status(const std::string& reason)> on_cancel;
  // Log batching: a fragment holds at most this many bytes (whole lines unless one line alone is
  // longer; UTF-8 sequences never split), and buffered lines go out at most flush_ms after the
  // first of them was logged.
  std::size_t max_fragment_bytes = 64 * 1024;
  std::int64_t flush_ms = 200;
  // Unsent log bytes held while the server is slow; beyond it Log blocks until a flush makes room
  // (back-pressure, nothing dropped).
  std::size_t max_buffered_bytes = 4 * 1024 * 1024;
};

// What a JobSession has done so far (tests, `dsx jobs` notices).
struct JobSessionStats {
  std::uint64_t lines = 0;      // Log calls
  std::uint64_t fragments = 0;  // msg.append events accepted
  std::uint64_t bytes = 0;      // text bytes accepted in them
  std::uint64_t dropped = 0;    // log bytes not sent: logged after an applied cancel cut the output
  int cancels = 0;              // control.cancel requests seen for this run
  int cancels_applied = 0;
};

class JobSession {
 public:
  // Creates the session if missing, opens a run (run.start, with {job id, backend, name, kind} in
  // its data), starts the heartbeat and control threads. Refusals map through net::StatusFromHttp.
  static Result<std::unique_ptr<JobSession>> Open(const JobSessionOptions& options, const JobRecord& record);

  // A state change, visible in the session: the line "[dsx] <state>[: <detail>][ (exit N)]" in
  // the job's message, after the lines logged before it, sent at once; the heartbeats report the
  // state from then on. A terminal state makes later cancels "rejected: job already <state>".
  Status State(const JobStatus& status);
  // One log line as (part of) a message fragment, newline added (a trailing "\n" or "\r\n" of
  // its own is dropped first); buffered, exactly once, in order. After an applied cancel the line
  // is dropped (stats().dropped) and Log still returns OK. Fails when the server refused a write,
  // stayed unreachable past retry_for_ms or ended the run (lease): the session is then broken and
  // later calls return the same error; the job itself is not affected.
  Status Log(std::string_view line);
  // Sends what is buffered now (State and End do it themselves).
  Status Flush();
  // Flushes, writes the final state line (unless State already did), msg.end + run.end: reason
  // done (succeeded) | cancelled (cancelled) | error (other), data.state = final state. Stops the
  // threads. Idempotent: a second call returns the first one's status. Conflict (exit 4) when the
  // server had ended the run (lease lost): no run.end is sent then.
  Status End(const JobStatus& final);

  const std::string& run() const;  // "r-…"
  const std::string& msg() const;  // "m-…"
  JobSessionStats stats() const;

  // Stops the threads; sends nothing (buffered lines are lost: call End, or Flush), ends nothing
  // (without End the lease lapses and the server ends the run agent_lost).
  ~JobSession();

  JobSession(const JobSession&) = delete;
  JobSession& operator=(const JobSession&) = delete;

  struct Impl;

 private:
  explicit JobSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsx::jobs
