// AgentRunner: `dsx session run SESSION -- COMMAND...` as a library call. Opens a run in the
// session, runs COMMAND as its agent and reports through the session:
//   - stdout is streamed as msg.append fragments of one message (UTF-8 sequences never split),
//     each append exactly once (idempotent producer; retried across server restarts);
//   - the lease is renewed by heartbeats while the command lives;
//   - control.cancel is acknowledged (applied) and stops the command: SIGINT, then SIGTERM,
//     then SIGKILL, `grace` apart; control.steer text (or JSON, one line) goes to its stdin
//     and is acknowledged (rejected when stdin is closed);
//   - its exit ends the run: done (exit 0), cancelled (after a cancel), error (otherwise).
// If the server ends the run itself (lease lost), the command is stopped and Run fails.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "session/live/agent_process.hpp"

namespace dsx::session::live {

struct AgentRunOptions {
  std::string server;
  std::string session;
  std::string token;
  std::vector<std::string> argv;
  std::string lane;                         // "" = main
  std::int64_t lease_ms = 15000;
  std::chrono::milliseconds grace{3000};    // between SIGINT, SIGTERM and SIGKILL
  long retry_for_ms = 120000;               // how long appends ride out a server outage
  std::function<void(const std::string&)> notice;  // one-line progress notes (stderr)
};

struct AgentRunResult {
  std::string run;
  std::string msg;
  std::string reason;        // done | cancelled | error | agent_lost
  ExitInfo exit;
  std::uint64_t bytes = 0;   // stdout bytes streamed
  std::uint64_t fragments = 0;
  int cancels = 0;
  int steers = 0;
};

Result<AgentRunResult> RunAgent(const AgentRunOptions& options);

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence.
std::size_t CompleteUtf8Prefix(std::string_view s);

}  // namespace dsx::session::live
