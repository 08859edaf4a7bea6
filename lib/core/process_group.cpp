#include "core/process_group.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <dirent.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace dsx::proc {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(20);
constexpr auto kAfterKill = std::chrono::seconds(2);

// In the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void ExecChild(char* const* args, const SpawnIo& io, pid_t parent, int err_fd) {
  ::setpgid(0, 0);
  if (io.stdin_fd >= 0) ::dup2(io.stdin_fd, 0);
  if (io.stdout_fd >= 0) ::dup2(io.stdout_fd, 1);
  if (io.stderr_fd >= 0) ::dup2(io.stderr_fd, 2);
  // Handlers are reset by exec, ignored signals and the mask are not: a runner started with
  // SIGINT ignored (nohup, `&` in a script) or with signals blocked for its signal thread
  // must not hand that on, or the group would not stop when asked.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) (void)::sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
#ifdef __linux__
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
#else
  (void)parent;
#endif
  ::execvp(args[0], args);
  const int e = errno;
  (void)!::write(err_fd, &e, sizeof e);  // tell the parent why exec failed
  ::_exit(127);
}

// True if some process of group `pgid` is alive. Zombies do not count: they have ended, and an
// orphan's zombie may never be reaped where init does not reap (seen in containers whose
// PID 1 is not an init), which would keep kill(-pgid, 0) succeeding forever.
bool GroupHasLiveMember(pid_t pgid) {
  if (::kill(-pgid, 0) < 0 && errno == ESRCH) return false;
#ifdef __linux__
  DIR* proc = ::opendir("/proc");
  if (!proc) return true;  // cannot tell: assume someone is left
  bool live = false;
  while (const dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // gone meanwhile
    char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    // "pid (comm) S ppid pgrp ...": comm may hold spaces and ')', so parse after the last ')'.
    const char* rp = std::strrchr(buf, ')');
    if (!rp) continue;
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (std::sscanf(rp + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3) continue;
    if (pgrp == pgid && state != 'Z' && state != 'X') {
      live = true;
      break;
    }
  }
  ::closedir(proc);
  return live;
#else
  return true;
#endif
}

}  // namespace

std::string ExitInfo::Describe() const {
  if (exited) return "exit " + std::to_string(code);
  return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

ProcessGroup::~ProcessGroup() {
  if (pid_ <= 0) return;
  if (Empty()) return;
  Signal(SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + kAfterKill;
  while (!Empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(kPoll);
}

Result<std::unique_ptr<ProcessGroup>> ProcessGroup::Spawn(const std::vector<std::string>& argv, const SpawnIo& io) {
  if (argv.empty()) return Status::Usage("no command to run");
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) return Status::Failed(std::string("cannot create a pipe: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(err[0]);
    ::close(err[1]);
    return Status::Failed(std::string("cannot fork: ") + std::strerror(e));
  }
  if (pid == 0) ExecChild(args.data(), io, parent, err[1]);
  // Also here, so the group exists whichever of the two runs first (EACCES once the child
  // has exec'd: it did it itself).
  ::setpgid(pid, pid);
  ::close(err[1]);
  int exec_errno = 0;
  ssize_t n;
  while ((n = ::read(err[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {}
  ::close(err[0]);
  std::unique_ptr<ProcessGroup> g(new ProcessGroup());
  g->pid_ = pid;
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    g->Wait();
    return Status::NotFound("cannot run '" + argv[0] + "': " + std::strerror(exec_errno));
  }
  return g;
}

bool ProcessGroup::PollExit() {
  MutexLock lock(&mu_);
  if (exited_.load()) return true;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exit_.exited = WIFEXITED(st);
    exit_.code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
    exit_.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  } else if (!(r < 0 && errno == ECHILD)) {
    return false;  // still running (or EINTR: ask again later)
  } else {
    exit_.exited = true;  // reaped by someone else (waitpid(-1) elsewhere): status unknown
    exit_.code = -1;
  }
  exited_.store(true);
  return true;
}

bool ProcessGroup::Empty() {
  if (!PollExit()) return false;  // the leader itself is a member
  MutexLock lock(&mu_);
  if (group_gone_) return true;
  if (::kill(-pid_, 0) < 0 && errno == ESRCH) {
    group_gone_ = true;  // no member at all, not even a zombie: the id is free for reuse
    return true;
  }
  return !GroupHasLiveMember(pid_);  // zombies pin the id: signalling stays safe
}

bool ProcessGroup::Signal(int sig) {
  MutexLock lock(&mu_);
  if (group_gone_) return false;
  return ::kill(-pid_, sig) == 0;
}

void ProcessGroup::Kill() { Signal(SIGKILL); }

void ProcessGroup::Stop(std::chrono::milliseconds grace) {
  MutexLock stop(&stop_mu_);
  if (Empty()) return;
  Signal(SIGTERM);
  Signal(SIGCONT);  // a stopped member (SIGTSTP, a debugger) would not see SIGTERM until continued
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Empty()) return;
    std::this_thread::sleep_for(kPoll);
  }
  if (Empty()) return;
  Signal(SIGKILL);
  const auto reaped_by = std::chrono::steady_clock::now() + kAfterKill;
  while (!Empty() && std::chrono::steady_clock::now() < reaped_by) std::this_thread::sleep_for(kPoll);
}

ExitInfo ProcessGroup::Wait() {
  while (!PollExit()) std::this_thread::sleep_for(kPoll);
  return exit_info();
}

ExitInfo ProcessGroup::exit_info() {
  MutexLock lock(&mu_);
  return exit_;
}

}  // namespace dsx::proc
