// AgentProcess: the child that `dsx session run` runs as a run's agent. Its stdin and stdout
// are pipes (stdout is streamed as msg.append fragments; steer text is written to stdin);
// stderr is inherited. Stop() escalates SIGINT -> SIGTERM -> SIGKILL with a grace period
// between steps. POSIX only; not thread-safe except Stop/WriteStdin/Signal, which may be
// called from another thread than the one reading stdout.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::session::live {

struct ExitInfo {
  bool exited = false;  // normal exit (then `code`), else killed by `signal`
  int code = 0;
  int signal = 0;
  std::string Describe() const;  // "exit 0", "exit 3", "signal 15 (Terminated)"
};

class AgentProcess {
 public:
  ~AgentProcess();
  // Starts argv[0] (PATH lookup) with the given arguments. Fails (kNotFound) if it cannot run.
  static Result<std::unique_ptr<AgentProcess>> Start(const std::vector<std::string>& argv);

  // Reads some stdout bytes; "" at EOF. Blocks. kFailed on a read error.
  Result<std::string> ReadStdout();
  // Writes text to the child's stdin. kConflict if stdin is closed (the child exited or closed it).
  Status WriteStdin(std::string_view text);
  // SIGINT, then SIGTERM after `grace`, then SIGKILL after another `grace`, stopping as soon
  // as the child has exited. Blocks up to 2 * grace (+ a little). Idempotent.
  void Stop(std::chrono::milliseconds grace);
  void Signal(int sig);
  // Waits for the child to exit (after stdout EOF) and returns how it ended.
  ExitInfo Wait();
  pid_t pid() const { return pid_; }
  bool exited() const { return exited_.load(); }

 private:
  AgentProcess() = default;
  bool PollExit();  // reaps without blocking; true if the child has exited

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::mutex mu_;  // guards stdin_fd_ writes, reaping
  std::atomic<bool> exited_{false};
  ExitInfo exit_;
};

}  // namespace dsx::session::live
