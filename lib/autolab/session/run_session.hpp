// RunSession: an AutoLab run published into the durable session "autolab/<run>" of a
// `dsx session serve` (issue 14: the reporter "publishes progress into the session autolab/<run>
// ... so the run can be watched (and stopped) from the web UI"; "stop and pause also arrive as
// control events on the run's session"). It is the driver's ProgressSink (progress.hpp).
// Modelled on jobs/session/job_session (a job as a run of "jobs/<id>"); the wire format is
// docs/formats/autolab-session.md, the protocol docs/protocol/sessions.md.
//
// What goes into the session, per invocation of `dsx autolab run` (one session run each, started
// with its first event):
//   run.start   data {lease_ms, takeover:true, command:"dsx autolab run <run>", autolab:{run}};
//               takeover ends a run that a crashed earlier invocation left active
//   msg.start   one text message for the invocation: data {role:"assistant", kind:"autolab.log"}
//   per Publish(event), one atomic batch of two drafts:
//     {"type": event.type, "run": <session run>, "data": <event without "type">}   the structure
//     msg.append  one readable line (progress_text.hpp), "e-1234 finished val_loss=0.123\n"
//   heartbeat   every lease_ms / 3: "streaming" while the run runs, "waiting" paused or stopping,
//               "idle" done
//   msg.end + run.end  at Close: reason "cancelled" after a stop ("stopped" state or an applied
//               control.cancel), "error" after a "failed"/"error" state, else "done"
// Writes carry one idempotent producer per session run, so a batch retried after a transport
// failure lands once.
//
// Never stalls the run: Publish only queues (bounded: max_queued events; when full the oldest
// intermediate point (autolab.metric) goes first, then the oldest event; counted in
// stats().dropped). One background thread sends, with jittered exponential backoff while the
// server is unreachable; when the server says the run or the session is gone (404, 409: lease
// lapsed, server restarted empty, another writer took over) it opens a new run and goes on.
//
// Control: a follower thread reads the session from the run's start. control.cancel (the web
// UI's Stop, `dsx session cancel autolab/<run>`) is Control::kStop; control.steer with the word
// "stop" / "pause" / "resume" (steer_control.hpp: `dsx session steer autolab/<run> pause`, the UI's
// steer box) is that control; any other steer is acked "rejected" at once, saying what is taken.
// TakeControl hands the driver the latest request and acks it "applied" (the driver records and
// acts on what it takes); requests it superseded are acked "rejected: superseded by <id>". A
// request never taken is acked by the server when the run ends. After an applied cancel the
// server accepts no more text for the run: the lines are dropped (stats().lines_cut) while the
// structured events still go.
//
// Secrets: the token is sent as Authorization: Bearer only; no message, log line or event
// holds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "autolab/control.hpp"
#include "autolab/progress.hpp"
#include "core/clock.hpp"
#include "core/status.hpp"
#include "net/transport.hpp"

namespace dsx::autolab {

struct RunSessionOptions {
  std::string server;      // http(s) base URL of a `dsx session serve`
  std::string token;       // bearer token (DSX_TOKEN); "" for an open server; never logged
  std::string run_name;    // the session is "autolab/<run_name>"
  std::string metric;      // the plan's objective metric, for the lines ("val_loss=0.123"); "" = "metric"
  Clock* clock = nullptr;  // nullptr = Clock::System()
  std::int64_t lease_ms = 30000;
  std::size_t max_queued = 1024;          // events waiting to be sent; beyond it the oldest are dropped
  std::size_t max_batch = 64;             // events per POST
  std::int64_t backoff_initial_ms = 250;  // reconnect and retry pacing (jittered, doubling)
  std::int64_t backoff_max_ms = 10000;
  long request_timeout_ms = 10000;     // one write or heartbeat, connect included
  std::int64_t close_flush_ms = 5000;  // Close: how long queued events may take to go out
  // With a clock that moves without waking anyone (a ManualClock), waits re-read it at least
  // this often (real ms); 0: no need (the system clock).
  std::int64_t clock_poll_ms = 0;
  std::function<std::unique_ptr<net::Transport>()> transport;  // default CurlTransport, one per thread
  std::function<void(const std::string&)> log;  // notable things (server lost, refusals); default log::Warn
};

struct RunSessionStats {
  std::uint64_t published = 0;    // Publish calls
  std::uint64_t sent = 0;         // events the server accepted
  std::uint64_t dropped = 0;      // events dropped from a full queue (server unreachable or slow)
  std::uint64_t rejected = 0;     // events refused: not an event (Publish) or by the server (400/403)
  std::uint64_t lines_cut = 0;    // text lines not sent after an applied cancel
  std::uint64_t runs_opened = 0;  // session runs started (more than 1: reconnected after a loss)
  std::uint64_t controls = 0;     // control requests seen for our runs (cancel and steer)
  std::uint64_t controls_taken = 0;
  std::size_t queued = 0;  // events waiting now
  bool connected = false;  // a session run is open now
};

class RunSession final : public ProgressSink {
 public:
  // The CLI's call: `dsx autolab run --server URL` with the token from DSX_TOKEN.
  static Result<std::unique_ptr<RunSession>> Open(const std::string& server_url, const std::string& token,
                                                  const std::string& run_name, Clock& clock);
  // Creates the session (PUT) once before returning. kUsage: no server URL (or not http(s)), a
  // run name that is not one session path segment; the server's refusal (401/403 with the
  // token's problem, 404 not a session server ...) when it refused at once: a configuration to
  // fix. An unreachable or failing (5xx) server is not an error: the session keeps trying in
  // the background and the run goes on. The session run starts with the first Publish, so an
  // invocation that publishes nothing (it found the run's lease held by a live invocation)
  // never takes the live invocation's session run over.
  static Result<std::unique_ptr<RunSession>> Open(const RunSessionOptions& options);

  // Queues one event (an object with a string "type" that is not a session type: run.*, msg.*,
  // control.*, presence.*, session.*; at most 64 KiB as JSON). Never blocks on the network.
  // A non-event is counted in stats().rejected and dropped.
  void Publish(const nlohmann::json& event) override;
  // The latest control request since the last call, acked "applied"; nullopt when none.
  std::optional<Control> TakeControl() override;

  // Sends what is queued (for at most close_flush_ms), then msg.end + run.end, and stops the
  // threads. OK when everything was delivered and the run ended; kUnavailable saying how many
  // events were not. Idempotent; the destructor calls it. Publish after Close drops.
  Status Close();

  std::string session() const;  // "autolab/<run_name>"
  std::string run() const;      // the session run now open ("r-…"), "" while none
  RunSessionStats stats() const;

  ~RunSession() override;
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  struct Impl;

 private:
  explicit RunSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsx::autolab
