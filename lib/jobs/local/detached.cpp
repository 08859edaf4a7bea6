// SpawnDetached (detached.hpp): the double fork, with a close-on-exec pipe that tells the caller
// the final pid and, if exec failed, why.
#include "jobs/local/detached.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dsx::jobs {
namespace {

// In the grandchild between fork and exec: async-signal-safe calls only.
[[noreturn]] void ExecSupervisor(char* const* argv, char* const* envp, int null_fd, int log_fd, int report_fd,
                                 const char* cwd) {
  ::dup2(null_fd, 0);
  ::dup2(null_fd, 1);
  ::dup2(log_fd, 2);
  if (report_fd != 3) {
    ::dup3(report_fd, 3, O_CLOEXEC);
    report_fd = 3;
  }
  // Nothing of the submitter's (sockets, locks, pipes to its terminal) is handed on.
  if (::close_range(4, ~0U, 0) != 0) {
    rlimit rl{};
    const long max =
        ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? static_cast<long>(rl.rlim_cur) : 65536;
    for (long fd = 4; fd < max; ++fd) ::close(static_cast<int>(fd));
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) (void)::sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  (void)!::chdir(cwd);  // do not pin the submitter's working directory (an unmount)
  ::execvpe(argv[0], argv, envp);
  const int e = errno;
  (void)!::write(report_fd, &e, sizeof e);
  ::_exit(127);
}

}  // namespace

Result<long long> SpawnDetached(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                const std::string& cwd, const std::string& log_path) {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  int report[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {null_fd, log_fd, report[0], report[1]})
      if (fd >= 0) ::close(fd);
  };
  if (null_fd < 0 || log_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    const std::string err = std::strerror(errno);
    close_all();
    return Status::Failed("cannot start the job's supervisor: " + err);
  }
  // A dsx started with its stdio closed (cron, a daemon) gets 0-2 from open(); the child's dup2s
  // onto 0-2 would then overwrite them, so they move above.
  for (int* fd : {&null_fd, &log_fd, &report[0], &report[1]}) {
    if (*fd > 2) continue;
    const int moved = ::fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) {
      const std::string err = std::strerror(errno);
      close_all();
      return Status::Failed("cannot start the job's supervisor: " + err);
    }
    ::close(*fd);
    *fd = moved;
  }
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  const pid_t middle = ::fork();
  if (middle < 0) {
    const std::string err = std::strerror(errno);
    close_all();
    return Status::Failed("cannot fork: " + err);
  }
  if (middle == 0) {
    ::setsid();  // a new session: no controlling terminal, no SIGHUP when the submitter's closes
    const pid_t sup = ::fork();
    if (sup == 0) ExecSupervisor(args.data(), envp.data(), null_fd, log_fd, report[1], cwd.c_str());
    const long long pid = sup;
    (void)!::write(report[1], &pid, sizeof pid);  // -1 when the fork failed
    ::_exit(0);
  }
  ::close(report[1]);
  report[1] = -1;
  int st = 0;
  while (::waitpid(middle, &st, 0) < 0 && errno == EINTR) {}
  // The pid from the middle process, then an errno from the supervisor if its exec failed; EOF
  // once it exec'd (the pipe is close-on-exec).
  char buf[sizeof(long long) + sizeof(int)];
  std::size_t got = 0;
  for (;;) {
    const ssize_t n = ::read(report[0], buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
    if (got == sizeof buf) break;
  }
  close_all();
  long long pid = -1;
  if (got >= sizeof pid) std::memcpy(&pid, buf, sizeof pid);
  if (pid <= 0) return Status::Failed("cannot start the job's supervisor (fork failed)");
  if (got == sizeof buf) {
    int e = 0;
    std::memcpy(&e, buf + sizeof pid, sizeof e);
    return Status::NotFound("cannot run the job's supervisor '" + argv[0] + "': " + std::strerror(e));
  }
  return pid;
}

}  // namespace dsx::jobs
