// The supervisor process (supervisor.hpp): runs one job's command as a process group, records
// where it stands in local.json, and ends it on timeout or on request.
//
// Signals arrive through a self-pipe: the handler only write()s the signal number (async-signal
// safe); the main loop reads the pipe, the leader's exit and the deadline, and does the work.
#include "jobs/local/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/json_limits.hpp"
#include "core/process_group.hpp"
#include "jobs/job.hpp"
#include "jobs/local/local_state.hpp"

namespace dsx::jobs {
namespace {

int g_signal_pipe = -1;  // write end, for the handler

void OnSignal(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  (void)!::write(g_signal_pipe, &b, 1);
  errno = saved;
}

// Installs OnSignal for the signals that mean "cancel". Returns the pipe's read end or -1.
int InstallCancelSignals() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
  g_signal_pipe = p[1];
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int s : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(s, &sa, nullptr);
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, nullptr);
  // An ignored SIGCHLD (inherited through exec) would have the kernel reap the job's leader
  // before ProcessGroup could read its exit status.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &dfl, nullptr);
  // The submitter may have blocked them (a signal thread); what is blocked stays blocked across exec.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  return p[0];
}

// Drains the pipe; true if any cancel signal came.
bool TakeSignals(int fd) {
  bool any = false;
  unsigned char buf[64];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) any = true;
  return any;
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size())
    s.replace(at, from.size(), to);
  return s;
}

// The job's state file, rewritten whole at every change.
class StateFile {
 public:
  explicit StateFile(const std::string& jobdir) : path_(jobdir + "/" + kLocalStateFile) {
    s_.supervisor_pid = ::getpid();
    s_.supervisor_start = ProcessStartTime(::getpid());
  }
  LocalState& state() { return s_; }
  bool Write() {
    auto st = fs::AtomicWriteFile(path_, ToJson(s_).dump(2) + "\n");
    if (!st.ok()) std::fprintf(stderr, "dsx supervisor: %s\n", st.message().c_str());
    return st.ok();
  }

 private:
  std::string path_;
  LocalState s_;
};

// The command could not even start: say why in local.json (Submit turns it into its error) and
// in output.log (so `dsx jobs logs` shows it too).
int StartFailed(StateFile& file, int log_fd, const Status& why) {
  std::fprintf(stderr, "dsx supervisor: %s\n", why.message().c_str());
  if (log_fd >= 0) {
    const std::string line = "dsx: " + why.message() + "\n";
    (void)!::write(log_fd, line.data(), line.size());
  }
  auto& s = file.state();
  s.state = JobState::kFailed;
  s.error = why.message();
  s.error_code = why.exit_code();
  s.finished_ms = NowMs();
  return file.Write() ? 0 : 1;
}

std::chrono::milliseconds GraceFromEnv(std::chrono::milliseconds fallback) {
  const char* v = std::getenv(kGraceEnv);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long long ms = std::strtoll(v, &end, 10);
  ::unsetenv(kGraceEnv);  // dsx's own, not the job's
  if (*end != '\0' || ms < 0) return fallback;
  return std::chrono::milliseconds(ms);
}

}  // namespace

int RunSupervisor(const std::string& jobdir_arg, const SupervisorOptions& options) {
  const int sig_fd = InstallCancelSignals();
  const auto grace = GraceFromEnv(options.grace);
  std::error_code ec;
  std::string jobdir = std::filesystem::absolute(jobdir_arg, ec).lexically_normal().string();
  while (jobdir.size() > 1 && jobdir.back() == '/') jobdir.pop_back();  // as LocalBackend spells it
  if (ec || !std::filesystem::is_directory(jobdir, ec)) {
    std::fprintf(stderr, "dsx supervisor: no job folder '%s'\n", jobdir_arg.c_str());
    return 1;
  }
  StateFile file(jobdir);
  const std::string log_path = jobdir + "/" + kOutputFile;
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return StartFailed(file, -1, Status::Failed("cannot open '" + log_path + "': " + std::strerror(errno)));
  if (sig_fd < 0) return StartFailed(file, log_fd, Status::Failed("cannot create a pipe"));

  auto job_text = fs::ReadFile(jobdir + "/job.json");
  if (!job_text.ok()) return StartFailed(file, log_fd, job_text.status());
  auto job = ParseJsonOrDiscarded(*job_text);
  if (job.is_discarded() || !job.is_object() || !job.contains("request"))
    return StartFailed(file, log_fd, Status::Failed("'" + jobdir + "/job.json' is not a job"));
  auto request = RequestFromJson(job["request"]);
  if (!request.ok()) return StartFailed(file, log_fd, request.status().Wrap("job.json"));
  if (request->command.empty()) return StartFailed(file, log_fd, Status::Usage("the job has no command"));

  // Environment and working directory are set in this process, which exists for this job only,
  // and inherited by the command through fork/exec (PATH lookup included).
  for (const auto& [k, v] : request->env) ::setenv(k.c_str(), ReplaceAll(v, "{jobdir}", jobdir).c_str(), 1);
  ::setenv("DSX_JOB_DIR", jobdir.c_str(), 1);
  const std::string workdir = request->workdir.empty() ? jobdir : ReplaceAll(request->workdir, "{jobdir}", jobdir);
  if (::chdir(workdir.c_str()) != 0)
    return StartFailed(file, log_fd,
                       Status::NotFound("cannot use working directory '" + workdir + "': " + std::strerror(errno)));
  std::vector<std::string> argv;
  for (const auto& a : request->command) argv.push_back(ReplaceAll(a, "{jobdir}", jobdir));

  if (TakeSignals(sig_fd)) {  // cancelled before it started
    auto& s = file.state();
    s.state = JobState::kCancelled;
    s.finished_ms = NowMs();
    return file.Write() ? 0 : 1;
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto group = proc::ProcessGroup::Spawn(argv, {null_fd, log_fd, log_fd});
  if (null_fd >= 0) ::close(null_fd);
  if (!group.ok()) return StartFailed(file, log_fd, group.status());

  auto& s = file.state();
  s.pgid = (*group)->pgid();
  s.state = JobState::kRunning;
  s.started_ms = NowMs();
  file.Write();

  Clock& clock = Clock::System();
  const std::int64_t deadline = request->timeout_s > 0 ? clock.SteadyMs() + request->timeout_s * 1000 : 0;
  JobState final_state = JobState::kSucceeded;
  for (;;) {
    if ((*group)->PollExit()) break;
    if (deadline && clock.SteadyMs() >= deadline) {
      final_state = JobState::kTimeout;
      break;
    }
    pollfd p{sig_fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0 && TakeSignals(sig_fd)) {
      final_state = JobState::kCancelled;
      break;
    }
  }
  // Whatever the reason, nothing of the job outlives it: `cmd &` children of an exited leader
  // are stopped too (as systemd does for a service's control group).
  (*group)->Stop(grace);
  const proc::ExitInfo exit = (*group)->Wait();
  if (final_state == JobState::kSucceeded)
    final_state = exit.exited && exit.code == 0 ? JobState::kSucceeded : JobState::kFailed;
  if (final_state == JobState::kTimeout) {
    const std::string line = "dsx: timed out after " + std::to_string(request->timeout_s) + " s; stopped\n";
    (void)!::write(log_fd, line.data(), line.size());
  }
  s.state = final_state;
  if (exit.exited) s.exit_code = exit.code;
  if (!exit.exited) s.signal = exit.signal;
  s.finished_ms = NowMs();
  ::close(log_fd);
  return file.Write() ? 0 : 1;
}

}  // namespace dsx::jobs
