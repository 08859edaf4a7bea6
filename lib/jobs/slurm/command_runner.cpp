// RunCommand: see command_runner.hpp.
#include "jobs/slurm/command_runner.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dsx::jobs {
namespace {

constexpr std::size_t kMaxOut = 16u << 20;
constexpr std::size_t kMaxErr = 1u << 20;

// Closes its descriptors on every return path.
struct Fds {
  int fd[6] = {-1, -1, -1, -1, -1, -1};
  ~Fds() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
  void Close(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
};

Status Errno(const std::string& what) { return Status::Unavailable(what + ": " + std::strerror(errno)); }

}  // namespace

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data,
                                 std::chrono::milliseconds timeout, const std::vector<std::string>& unset_env) {
  if (argv.empty() || argv[0].empty()) return Status::Usage("no program to run");
  // fd[0]/fd[1]: stdout pipe (read/write), fd[2]/fd[3]: stderr pipe, fd[4]/fd[5]: stdin, a socket
  // pair rather than a pipe so that writing to a child that exited early is EPIPE via
  // MSG_NOSIGNAL, not a SIGPIPE that would kill us.
  Fds fds;
  if (pipe2(&fds.fd[0], O_CLOEXEC) != 0 || pipe2(&fds.fd[2], O_CLOEXEC) != 0) return Errno("cannot create pipes");
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, &fds.fd[4]) != 0) return Errno("cannot create a socket pair");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_data.empty()) {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, fds.fd[5], 0);
  }
  posix_spawn_file_actions_adddup2(&actions, fds.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds.fd[3], 2);
  // Default signal dispositions in the child: an ignored SIGPIPE or SIGINT here must not leak into
  // sbatch.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    bool drop = false;
    for (const auto& name : unset_env) {
      drop = drop || (std::strncmp(*e, name.c_str(), name.size()) == 0 && (*e)[name.size()] == '=');
    }
    if (!drop) env.push_back(*e);
  }
  env.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    if (rc == ENOENT || rc == EACCES || rc == ENOTDIR) {
      return Status::NotFound("cannot run '" + argv[0] + "': " + std::strerror(rc));
    }
    return Status::Unavailable("cannot start '" + argv[0] + "': " + std::strerror(rc));
  }
  fds.Close(1);
  fds.Close(3);
  fds.Close(5);
  if (stdin_data.empty()) fds.Close(4);

  CommandResult result;
  std::size_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (fds.fd[0] >= 0 || fds.fd[2] >= 0) {
    pollfd pfd[3];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_in = -1;
    if (fds.fd[0] >= 0) idx_out = n, pfd[n++] = {fds.fd[0], POLLIN, 0};
    if (fds.fd[2] >= 0) idx_err = n, pfd[n++] = {fds.fd[2], POLLIN, 0};
    if (fds.fd[4] >= 0) idx_in = n, pfd[n++] = {fds.fd[4], POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int ready = poll(pfd, n, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    auto drain = [&](int idx, int slot, std::string& into, std::size_t cap) {
      if (idx < 0 || !(pfd[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      char buf[65536];
      ssize_t got = read(fds.fd[slot], buf, sizeof buf);
      if (got > 0) {
        into.append(buf, std::min<std::size_t>(static_cast<std::size_t>(got), cap - std::min(cap, into.size())));
      } else if (got == 0 || errno != EINTR) {
        fds.Close(slot);
      }
    };
    drain(idx_out, 0, result.out, kMaxOut);
    drain(idx_err, 2, result.err, kMaxErr);
    if (idx_in >= 0 && (pfd[idx_in].revents & (POLLOUT | POLLHUP | POLLERR))) {
      ssize_t put = send(fds.fd[4], stdin_data.data() + written, stdin_data.size() - written, MSG_NOSIGNAL);
      if (put > 0) written += static_cast<std::size_t>(put);
      if (put < 0 && errno != EINTR && errno != EAGAIN) fds.Close(4);  // the child stopped reading
      if (written == stdin_data.size()) fds.Close(4);                  // EOF for the child
    }
  }
  // The pipes close when the program exits (or hands them on); it may also close them and keep
  // running, so the wait for its exit has the same deadline.
  int wstatus = 0;
  for (;;) {
    if (timed_out) kill(pid, SIGKILL);
    pid_t got = waitpid(pid, &wstatus, timed_out ? 0 : WNOHANG);
    if (got == pid || (got < 0 && errno != EINTR)) break;
    if (got == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        timed_out = true;
      } else {
        usleep(5000);
      }
    }
  }
  if (timed_out) {
    const auto ms = timeout.count();
    return Status::Unavailable("'" + argv[0] + "' did not finish within " +
                               (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms"));
  }
  if (WIFEXITED(wstatus)) {
    result.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    result.exit_code = 128 + WTERMSIG(wstatus);
  }
  return result;
}

}  // namespace dsx::jobs
