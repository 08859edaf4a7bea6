// AgentRunner: `dsx session run SESSION -- COMMAND...` as a library call. Opens a run in the
// session, runs COMMAND as its agent and reports through the session:
//   - stdout is streamed as msg.append fragments of one message (UTF-8 sequences never split),
//     each append exactly once (idempotent producer; retried across server restarts);
//   - the lease is renewed by heartbeats while the command lives;
//   - COMMAND runs in a process group of its own; control.cancel stops the whole group
//     (SIGTERM, then SIGKILL after `grace`: core/process_group.hpp says why SIGTERM) and is
//     acknowledged (applied). From that ack on the server refuses the run's output (409 "run
//     'r-…' was cancelled"): the runner takes that as the end of the reply and drops what the
//     dying command still prints. control.steer text (or JSON, one line) goes to its stdin
//     and is acknowledged (rejected when stdin is closed);
//   - its exit ends the run: done (exit 0), cancelled (after a cancel), error (otherwise).
//     Whatever is left of its group then gets the same SIGTERM/SIGKILL: nothing it started
//     outlives the run;
//   - with stop_on_signals, SIGINT/SIGTERM/SIGHUP to the runner (Ctrl-C: the terminal no
//     longer reaches the command's group) stop the group the same way and end the run
//     `interrupted` (data.interrupted names the signal); a second one sends SIGKILL to the group
//     at once, a third exits the runner. Signals are watched from before the session is
//     created, so one that comes while the run starts still ends it at once.
// If the server ends the run itself (lease lost), the command is stopped and Run fails.
// Refusals get their exit codes from net::StatusFromHttp (net/http_status.hpp).
//
// Everything it talks to is injected through AgentRunEnv (left empty: libcurl, the system
// clock, a real AgentProcess), so tests/unit/session_client/agent_runner_test.cpp runs it
// against a fake server, a scripted agent and a ManualClock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "net/transport.hpp"
#include "session/client/agent_process.hpp"

namespace dsx::session::client {

struct AgentRunOptions {
  std::string server;
  std::string session;
  std::string token;
  std::vector<std::string> argv;
  std::string lane;  // "" = main
  std::int64_t lease_ms = 15000;
  std::chrono::milliseconds grace{3000};           // between SIGTERM and SIGKILL to the command's group
  bool stop_on_signals = false;                    // handle SIGINT/SIGTERM/SIGHUP (the CLI; see above)
  long retry_for_ms = 120000;                      // how long appends ride out a server outage
  std::function<void(const std::string&)> notice;  // one-line progress notes (stderr)
};

struct AgentRunResult {
  std::string run;
  std::string msg;
  std::string reason;  // done | cancelled | interrupted | error | agent_lost
  ExitInfo exit;
  std::uint64_t bytes = 0;  // stdout bytes streamed
  std::uint64_t fragments = 0;
  std::uint64_t dropped = 0;  // stdout bytes not sent: printed after the cancel took effect
  int cancels = 0;
  int steers = 0;
};

// What RunAgent talks to; an empty field means the real one.
struct AgentRunEnv {
  // A new transport for one thread: the runner's writes, the control follower, the control acks
  // and the heartbeats are each in flight on a transport of their own. Default: CurlTransport.
  std::function<std::unique_ptr<net::Transport>()> transport;
  // Paces heartbeats and retries, stamps producer epochs. Default: Clock::System().
  Clock* clock = nullptr;
  // Starts the agent. Default: AgentProcess::Start.
  std::function<Result<std::unique_ptr<Agent>>(const std::vector<std::string>& argv, std::chrono::milliseconds grace)>
      start_agent;
  // The heartbeat thread sleeps on a condition variable (so the command's exit wakes it at once)
  // until the next heartbeat is due. With a clock that moves without waking anyone (a test's
  // ManualClock), set this to read it again at least every so many real milliseconds; 0: no.
  std::int64_t clock_poll_ms = 0;
};

Result<AgentRunResult> RunAgent(const AgentRunOptions& options, const AgentRunEnv& env = {});

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence.
std::size_t CompleteUtf8Prefix(std::string_view s);

}  // namespace dsx::session::client
