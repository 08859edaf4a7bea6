// StartWatcherProcess: see watcher_process.hpp.
#include "jobs/service/watcher_process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace dsx::jobs {

std::vector<std::string> WatcherArgv(const ServiceOptions& options, const std::string& registry_root,
                                     const std::string& id) {
  std::vector<std::string> argv = options.self_argv;
  for (const char* a : {"jobs", "_watch"}) argv.emplace_back(a);
  argv.push_back(id);
  argv.push_back("--jobs-dir");
  argv.push_back(registry_root);
  if (!options.config_path.empty()) {
    argv.push_back("--config");
    argv.push_back(options.config_path);
  }
  return argv;
}

Status StartWatcherProcess(const ServiceOptions& options, const std::string& registry_root, const std::string& jobdir,
                           const std::string& id) {
  if (options.self_argv.empty()) return Status::Usage("cannot start the watcher: the path of dsx is unknown");
  // Everything the children need is built before fork: after it only async-signal-safe calls.
  const std::vector<std::string> argv_s = WatcherArgv(options, registry_root, id);
  std::vector<char*> argv;
  for (const auto& a : argv_s) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "DSX_TOKEN=", 10) != 0) env_s.emplace_back(*e);
  }
  if (!options.token.empty()) env_s.push_back("DSX_TOKEN=" + options.token);
  std::vector<char*> envp;
  for (const auto& e : env_s) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  const std::string log_path = jobdir + "/watch.log";
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return Status::Unavailable("cannot open '" + log_path + "': " + std::strerror(errno));
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  // The grandchild reports a failed exec through this pipe; a successful exec closes it (CLOEXEC).
  int report[2];
  if (null_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return Status::Unavailable(std::string("cannot start the watcher: ") + std::strerror(e));
  }

  const pid_t child = ::fork();
  if (child < 0) {
    const int e = errno;
    for (int fd : {log_fd, null_fd, report[0], report[1]}) ::close(fd);
    return Status::Unavailable(std::string("cannot start the watcher: fork: ") + std::strerror(e));
  }
  if (child == 0) {
    ::setsid();  // a new session: no controlling terminal, no SIGHUP when the submitter's ends
    const pid_t grandchild = ::fork();
    if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);  // reparents the watcher to init
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    // Descriptors the submitter had open without CLOEXEC (a caller's sockets, pipes of a test
    // harness waiting for EOF) must not live on in the watcher. Best effort: needs Linux 5.11.
    (void)::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(argv[0], argv.data(), envp.data());
    const int e = errno;
    (void)!::write(report[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(report[1]);
  ::close(log_fd);
  ::close(null_fd);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  int exec_errno = 0;
  ssize_t n;
  while ((n = ::read(report[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {}
  ::close(report[0]);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Status::Unavailable("cannot start the watcher: fork failed");
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    return Status::Unavailable("cannot run the watcher '" + argv_s[0] + "': " + std::strerror(exec_errno));
  }
  return Status::Ok();
}

}  // namespace dsx::jobs
