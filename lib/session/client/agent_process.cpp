#include "session/client/agent_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dsx::session::client {

AgentProcess::~AgentProcess() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (stopper_.joinable()) {
    group_->Kill();  // do not sit out the grace: this object is going away
    stopper_.join();
  }
  group_.reset();  // kills the rest of the group and reaps the agent
}

void AgentProcess::RequestStop() {
  std::lock_guard lock(stop_mu_);
  if (stopper_.joinable()) return;
  stopper_ = std::thread([this] { group_->Stop(grace_); });
}

Result<std::unique_ptr<AgentProcess>> AgentProcess::Start(const std::vector<std::string>& argv,
                                                          std::chrono::milliseconds grace) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Status::Failed(std::string("cannot create pipes: ") + std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(in[0]);
    ::close(in[1]);
    return Status::Failed(std::string("cannot create pipes: ") + std::strerror(e));
  }
  proc::SpawnIo io;
  io.stdin_fd = in[0];
  io.stdout_fd = out[1];
  auto group = proc::ProcessGroup::Spawn(argv, io);
  ::close(in[0]);
  ::close(out[1]);
  if (!group.ok()) {
    ::close(in[1]);
    ::close(out[0]);
    return group.status();
  }
  std::unique_ptr<AgentProcess> p(new AgentProcess());
  p->group_ = std::move(group).value();
  p->grace_ = grace;
  p->stdin_fd_ = in[1];
  p->stdout_fd_ = out[0];
  return p;
}

Result<std::string> AgentProcess::ReadStdout() {
  char buf[16384];
  for (;;) {
    pollfd pfd{stdout_fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) {
      return Status::Failed(std::string("cannot wait for the agent's stdout: ") + std::strerror(errno));
    }
    if (ready > 0) {
      const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
      if (n >= 0) return std::string(buf, static_cast<std::size_t>(n));
      if (errno != EINTR && errno != EAGAIN) {
        return Status::Failed(std::string("cannot read the agent's stdout: ") + std::strerror(errno));
      }
      continue;
    }
    // Nothing for 100 ms. While the agent lives that is just a pause.
    if (!group_->PollExit()) continue;
    // The agent is gone but the pipe is open: a leftover of its group holds it. Nothing of
    // the group may outlive the run, so stop them; their EOF follows.
    if (!leftovers_stopped_) {
      leftovers_stopped_ = true;
      group_->Stop(grace_);
      continue;
    }
    return std::string();  // still open: held outside the group (setsid), out of our reach
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

}  // namespace dsx::session::client
