#include "kernel/bench/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace dsx::kernel::bench {

std::string SelfExe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("dsx") : p.string();
}

Result<ChildOutput> RunChild(const std::vector<std::string>& argv, const std::string& input, double timeout_s) {
  int in[2], res[2], log[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Status::Failed(std::string("cannot create pipe: ") + std::strerror(errno));
  if (::pipe2(res, O_CLOEXEC) != 0) return Status::Failed(std::string("cannot create pipe: ") + std::strerror(errno));
  if (::pipe2(log, O_CLOEXEC) != 0) return Status::Failed(std::string("cannot create pipe: ") + std::strerror(errno));
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Status::Failed(std::string("cannot fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);  // own group: a timeout kills everything the child started
    // If the parent dies (killed by an outer timeout), so does the child: an orphaned benchmark
    // would keep the GPU busy under the next one.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::dup2(in[0], 0);
    ::dup2(log[1], 1);
    ::dup2(log[1], 2);
    ::dup2(res[1], 3);  // dup2 clears O_CLOEXEC on the new descriptors
    ::execv(cargv[0], cargv.data());
    const char msg[] = "dsx: cannot start the benchmark child\n";
    ssize_t w = ::write(2, msg, sizeof msg - 1);
    (void)w;
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(res[1]);
  ::close(log[1]);
  // The request is small (a few KiB, below the pipe buffer): write it all, then EOF.
  size_t off = 0;
  while (off < input.size()) {
    ssize_t w = ::write(in[1], input.data() + off, input.size() - off);
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  ::close(in[1]);

  ChildOutput out;
  bool res_open = true, log_open = true;
  const auto deadline = t0 + std::chrono::duration<double>(timeout_s);
  char buf[65536];
  while (res_open || log_open) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      out.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      break;
    }
    int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    pollfd fds[2] = {{res[0], POLLIN, 0}, {log[0], POLLIN, 0}};
    if (!res_open) fds[0].fd = -1;
    if (!log_open) fds[1].fd = -1;
    int n = ::poll(fds, 2, std::min(ms, 1000));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ::read(fds[k].fd, buf, sizeof buf);
      if (r <= 0) {
        (k == 0 ? res_open : log_open) = false;
        continue;
      }
      (k == 0 ? out.result : out.log).append(buf, static_cast<size_t>(r));
      if (out.log.size() > (128 << 10)) out.log.erase(0, out.log.size() - (64 << 10));
    }
  }
  ::close(res[0]);
  ::close(log[0]);
  // The pipes are closed; the child should be exiting. Wait, but never past the deadline.
  int st = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      out.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
      break;
    }
    ::usleep(2000);
  }
  if (WIFEXITED(st)) out.exit_code = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) out.signal = WTERMSIG(st);
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace dsx::kernel::bench
