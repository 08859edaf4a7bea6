// ProcessGroup: a child process started as the leader of a new process group, so that it and
// everything it starts (a shell's `sleep`, a pipeline, helpers) is signalled as one with
// kill(-pgid, sig). Signalling only the child is not enough: `bash -c '...; sleep 1; ...'`
// defers SIGINT/SIGTERM until its foreground `sleep` ends, and processes started with `&`
// ignore SIGINT. POSIX; written for `dsx session run` agents (lib/session/client/agent_process)
// and meant to be reused as is by the jobs layer for the processes it runs.
//
// Stop() is the one way to end a group: SIGTERM (+ SIGCONT, so stopped members see it) to the
// whole group, then SIGKILL to the whole group after `grace` unless it is empty by then.
// SIGTERM rather than SIGINT: SIGINT means "the user at the keyboard" and many agent CLIs take
// it as "abort this step" and keep running, and non-interactive shells start `&` children
// with SIGINT ignored; SIGTERM means "terminate" to every process manager (systemd, docker,
// Kubernetes use SIGTERM then SIGKILL the same way).
//
// Pid reuse: the group id is the leader's pid. It cannot be handed out again while the leader
// is an unreaped zombie or any member lives, so kill(-pgid) is safe until the group has been
// seen empty; after that the group is never signalled again.
//
// Thread safety: Signal, Kill, Stop, PollExit and Empty may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/mutex.hpp"
#include "core/status.hpp"

namespace dsx::proc {

struct ExitInfo {
  bool exited = false;  // normal exit (then `code`), else killed by `signal`
  int code = 0;
  int signal = 0;
  std::string Describe() const;  // "exit 0", "exit 3", "signal 15 (Terminated)"
};

// File descriptors the child gets as its stdin, stdout and stderr (-1: inherit the parent's).
// They are dup2'ed in the child; the caller closes its copies.
struct SpawnIo {
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

class ProcessGroup {
 public:
  // Kills what may be left of the group (SIGKILL) and reaps the leader: nothing started by
  // Spawn outlives this object.
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  // Starts argv[0] (PATH lookup) as the leader of a new process group, with every signal
  // unblocked and at its default action (an ignored SIGINT is not inherited). On Linux the
  // leader also gets SIGKILL when the thread that called Spawn dies (PR_SET_PDEATHSIG), so a
  // runner killed with SIGKILL does not leave the leader running; call Spawn from a thread
  // that lives as long as the group. kNotFound if it cannot be run.
  static Result<std::unique_ptr<ProcessGroup>> Spawn(const std::vector<std::string>& argv, const SpawnIo& io);

  pid_t pid() const { return pid_; }   // the leader
  pid_t pgid() const { return pid_; }  // == pid()

  // kill(-pgid, sig) unless the group was seen empty. False if nothing was signalled.
  bool Signal(int sig);
  // SIGKILL to the group now (a second Ctrl-C): does not wait.
  void Kill();
  // SIGTERM to the group, SIGKILL to the group after `grace` unless every member has exited;
  // returns when the group is empty (or, after SIGKILL, after at most 2 s more: a member in
  // uninterruptible sleep dies when it wakes).
  // Idempotent; concurrent calls wait for the first.
  void Stop(std::chrono::milliseconds grace);
  // Reaps the leader without blocking; true once it has exited.
  bool PollExit();
  // True when the leader has exited and no live process is left in the group (zombies of
  // members whose parent died do not count; Linux reads /proc to tell them apart).
  bool Empty();
  // Waits for the leader to exit (not for the rest of the group: see Stop).
  ExitInfo Wait();
  bool exited() const { return exited_.load(); }
  ExitInfo exit_info();

 private:
  ProcessGroup() = default;

  pid_t pid_ = -1;
  Mutex mu_;                            // reaping, exit_, group_gone_
  Mutex stop_mu_ ACQUIRED_BEFORE(mu_);  // one Stop at a time
  std::atomic<bool> exited_{false};
  bool group_gone_ GUARDED_BY(mu_) = false;  // seen empty: never signal again (the id may be reused)
  ExitInfo exit_ GUARDED_BY(mu_);
};

}  // namespace dsx::proc
