// AgentProcess: the child that `dsx session run` runs as a run's agent, as the leader of its
// own process group (core/process_group.hpp), so a cancel stops the agent and everything it
// started. Its stdin and stdout are pipes (stdout is streamed as msg.append fragments; steer
// text is written to stdin); stderr is inherited. POSIX only; not thread-safe except Stop,
// Kill and WriteStdin, which may be called from another thread than the one reading stdout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/process_group.hpp"
#include "core/status.hpp"

namespace dsx::session::client {

using ExitInfo = proc::ExitInfo;

// What RunAgent needs of its agent (agent_runner.hpp): the seam its unit tests replace with a
// scripted agent. AgentProcess is the real one. Thread-safety as AgentProcess's.
class Agent {
 public:
  virtual ~Agent() = default;
  virtual Result<std::string> ReadStdout() = 0;  // some bytes; "" at EOF; blocks
  virtual Status WriteStdin(std::string_view text) = 0;
  virtual void Stop(std::chrono::milliseconds grace) = 0;
  virtual void RequestStop() = 0;
  virtual void Kill() = 0;
  virtual ExitInfo Wait() = 0;
};

class AgentProcess final : public Agent {
 public:
  ~AgentProcess() override;  // closes the pipes; SIGKILL to whatever is left of the group
  // Starts argv[0] (PATH lookup) with the given arguments in a new process group. `grace` is
  // what ReadStdout gives leftovers of the group (see there). Fails (kNotFound) if it cannot run.
  static Result<std::unique_ptr<AgentProcess>> Start(const std::vector<std::string>& argv,
                                                     std::chrono::milliseconds grace = std::chrono::seconds(3));

  // Reads some stdout bytes; "" at EOF. Blocks. When the agent has exited but its stdout stays
  // open (something it started, e.g. `sleep 100 &`, still holds it), the rest of its group is
  // stopped (Stop(grace)) so the run can end; a holder outside the group (it called setsid)
  // cannot be stopped, so then "" comes after 100 ms without output. kFailed on a read error.
  Result<std::string> ReadStdout() override;
  // Writes text to the child's stdin. kConflict if stdin is closed (the child exited or closed it).
  Status WriteStdin(std::string_view text) override;
  // The whole group: SIGTERM, then SIGKILL after `grace` unless all have exited. Blocks up to
  // grace (+ a little). Idempotent.
  void Stop(std::chrono::milliseconds grace) override { group_->Stop(grace); }
  // Stop(grace given to Start) on a thread of its own: returns at once, so the caller (the
  // thread following control requests, the one reading stdout) is not held for the grace.
  // Idempotent.
  void RequestStop() override;
  // SIGKILL to the whole group at once.
  void Kill() override { group_->Kill(); }
  // Waits for the agent (the group's leader) to exit and returns how it ended.
  ExitInfo Wait() override { return group_->Wait(); }
  pid_t pid() const { return group_->pid(); }
  pid_t pgid() const { return group_->pgid(); }
  bool exited() const { return group_->exited(); }

 private:
  AgentProcess() = default;

  std::unique_ptr<proc::ProcessGroup> group_;
  std::chrono::milliseconds grace_{3000};
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  bool leftovers_stopped_ = false;  // ReadStdout stopped the group after the agent exited
  std::mutex mu_;                   // guards stdin_fd_ writes (which may block on a full pipe)
  std::mutex stop_mu_;              // guards stopper_
  std::thread stopper_;             // RequestStop's
};

}  // namespace dsx::session::client
