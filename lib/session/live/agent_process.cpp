#include "session/live/agent_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

namespace dsx::session::live {

std::string ExitInfo::Describe() const {
  if (exited) return "exit " + std::to_string(code);
  return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

AgentProcess::~AgentProcess() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (pid_ > 0 && !exited_.load()) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

Result<std::unique_ptr<AgentProcess>> AgentProcess::Start(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::Usage("no command to run");
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    return Status::Failed(std::string("cannot create pipes: ") + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return Status::Failed(std::string("cannot fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(args[0], args.data());
    const int e = errno;
    (void)!::write(err[1], &e, sizeof e);  // tell the parent why exec failed
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  int exec_errno = 0;
  const ssize_t n = ::read(err[0], &exec_errno, sizeof exec_errno);
  ::close(err[0]);
  std::unique_ptr<AgentProcess> p(new AgentProcess());
  p->pid_ = pid;
  p->stdin_fd_ = in[1];
  p->stdout_fd_ = out[0];
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    p->Wait();
    return Status::NotFound("cannot run '" + argv[0] + "': " + std::strerror(exec_errno));
  }
  return p;
}

Result<std::string> AgentProcess::ReadStdout() {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n >= 0) return std::string(buf, static_cast<std::size_t>(n));
    if (errno != EINTR) return Status::Failed(std::string("cannot read the agent's stdout: ") + std::strerror(errno));
  }
}

Status AgentProcess::WriteStdin(std::string_view text) {
  std::lock_guard lock(mu_);
  if (stdin_fd_ < 0) return Status::Conflict("the agent's stdin is closed");
  while (!text.empty()) {
    const ssize_t n = ::write(stdin_fd_, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(stdin_fd_);
      stdin_fd_ = -1;
      return Status::Conflict(std::string("the agent's stdin is closed: ") + std::strerror(errno));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

bool AgentProcess::PollExit() {
  std::lock_guard lock(mu_);
  if (exited_.load()) return true;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r != pid_) return false;
  exit_.exited = WIFEXITED(st);
  exit_.code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
  exit_.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  exited_.store(true);
  return true;
}

void AgentProcess::Signal(int sig) {
  if (!exited_.load()) ::kill(pid_, sig);
}

void AgentProcess::Stop(std::chrono::milliseconds grace) {
  for (int sig : {SIGINT, SIGTERM, SIGKILL}) {
    if (PollExit()) return;
    Signal(sig);
    if (sig == SIGKILL) return;
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline) {
      if (PollExit()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

ExitInfo AgentProcess::Wait() {
  while (!PollExit()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return exit_;
}

}  // namespace dsx::session::live
