#include "kernel/gen/subprocess.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dsx::kernel::gen {
namespace {

// The running child's process group. The child gets its own group (so a timeout can kill the
// candidate's whole tree), which also takes it out of the caller's group: when we are stopped by
// SIGTERM/SIGINT/SIGHUP (a `timeout` around `dsx kernel gen`, Ctrl-C) the handler passes the
// signal on to that group, so no benchmark is left running on the GPU.
volatile sig_atomic_t g_child_pgid = 0;

void ForwardAndDie(int sig) {
  pid_t pg = g_child_pgid;
  if (pg > 0) kill(-pg, SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallForwarding() {
  static bool done = false;
  if (done) return;
  done = true;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    if (old.sa_handler == SIG_IGN) continue;  // e.g. nohup: keep ignoring
    struct sigaction sa {};
    sa.sa_handler = ForwardAndDie;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }
}

}  // namespace

std::string SelfExecutable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, double timeout_s) {
  if (argv.empty()) return Status::Usage("no program to run");
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(exec_pipe, O_CLOEXEC) != 0)
    return Status::Unavailable(std::string("cannot create pipes: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  InstallForwarding();
  pid_t pid = fork();
  if (pid < 0) return Status::Unavailable(std::string("cannot fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);  // own process group: a timeout kills the candidate's whole tree
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0) dup2(fd, 0);
    execv(args[0], args.data());
    int e = errno;
    ssize_t w = write(exec_pipe[1], &e, sizeof e);
    (void)w;
    _exit(127);
  }
  setpgid(pid, pid);
  g_child_pgid = pid;
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);
  int exec_errno = 0;
  ssize_t got = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  close(exec_pipe[0]);
  ProcessResult r;
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    int st;
    waitpid(pid, &st, 0);
    g_child_pgid = 0;
    return Status::Unavailable("cannot run '" + argv[0] + "': " + std::strerror(exec_errno));
  }

  auto start = std::chrono::steady_clock::now();
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  bool term_sent = false;
  std::chrono::steady_clock::time_point term_at;
  char buf[65536];
  while (open_fds > 0) {
    int wait_ms = 200;
    int n = poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t k = read(fds[i].fd, buf, sizeof buf);
      if (k <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::string& dst = i == 0 ? r.out : r.err;
      size_t cap = i == 0 ? (16u << 20) : (1u << 20);
      if (dst.size() < cap) dst.append(buf, std::min<size_t>(k, cap - dst.size()));
    }
    auto now = std::chrono::steady_clock::now();
    double elapsed = std::chrono::duration<double>(now - start).count();
    if (timeout_s > 0 && elapsed > timeout_s && !term_sent) {
      r.timed_out = true;
      kill(-pid, SIGTERM);
      term_sent = true;
      term_at = now;
    } else if (term_sent && now - term_at > std::chrono::seconds(2)) {
      kill(-pid, SIGKILL);
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  g_child_pgid = 0;
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return r;
}

}  // namespace dsx::kernel::gen
