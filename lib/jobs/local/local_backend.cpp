// LocalBackend (local_backend.hpp): starts a detached supervisor per job and reads what it
// writes into the job's folder.
#include "jobs/local/local_backend.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/fs.hpp"
#include "jobs/local/detached.hpp"
#include "jobs/local/local_state.hpp"
#include "jobs/local/proc_info.hpp"
#include "jobs/registry.hpp"

extern char** environ;

namespace dsx::jobs {
namespace {

constexpr auto kStartPoll = std::chrono::milliseconds(50);
constexpr auto kFollowPoll = std::chrono::milliseconds(150);
constexpr std::size_t kMaxLine = 1 << 20;  // a longer run without '\n' is passed on in pieces
constexpr char kLostDetail[] = "the supervisor is gone (reboot or kill -9); the job's outcome is unknown";

std::string ShellQuote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=@%+,-{}") ==
                        std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size())
    s.replace(at, from.size(), to);
  return s;
}

// The last `max` bytes of a file, for error messages ("" when unreadable).
std::string Tail(const std::string& path, std::size_t max = 2000) {
  auto text = fs::ReadFile(path);
  if (!text.ok()) return "";
  std::string t = text->size() > max ? text->substr(text->size() - max) : *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

// The same spelling for a folder wherever it comes from (the registry, the service's options, a
// supervisor's command line), so that they compare equal: absolute, normal, no trailing '/'.
std::string NormalDir(const std::string& dir) {
  std::error_code ec;
  std::string out = std::filesystem::absolute(dir, ec).lexically_normal().string();
  if (ec) out = dir;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// The last argument of /proc/<pid>/cmdline: a supervisor's is its job folder. Used to recognise
// a supervisor before it wrote local.json (and so its start time).
std::string LastArg(long long pid) {
  auto text = fs::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!text.ok() || text->empty()) return "";
  std::string s = *text;
  if (s.back() == '\0') s.pop_back();
  const auto nul = s.rfind('\0');
  return nul == std::string::npos ? s : s.substr(nul + 1);
}

// True if the supervisor of this job still runs: same pid and same start time (so not a process
// that reused the pid), or, before local.json named its start time, same pid running for this folder.
bool SupervisorAlive(const LocalState* st, long long pid, const std::string& jobdir) {
  if (pid <= 0) return false;
  const long long start = ProcessStartTime(static_cast<int>(pid));
  if (start < 0) return false;
  if (st && st->supervisor_start >= 0) return start == st->supervisor_start;
  const std::string last = LastArg(pid);
  if (!last.empty()) return last == jobdir;  // both spelled by NormalDir
  // No arguments yet: an exec in flight (its new command line is set up after the point where
  // the old image is gone). SpawnDetached's child enters the job folder before its exec.
  std::error_code ec;
  return std::filesystem::equivalent("/proc/" + std::to_string(pid) + "/cwd", jobdir, ec);
}

long long ParsePid(const std::string& s) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  return (s.empty() || *end != '\0') ? 0 : v;
}

JobStatus FromLocal(const LocalState& st) {
  JobStatus out;
  out.state = st.state;
  out.exit_code = st.exit_code;
  switch (st.state) {
    case JobState::kQueued: out.backend_state = "starting"; break;
    case JobState::kRunning:
      out.backend_state = "running";
      out.detail = "process group " + std::to_string(st.pgid);
      break;
    default:
      if (!st.error.empty()) {
        out.backend_state = "not started";
        out.detail = st.error;
      } else if (st.exit_code) {
        out.backend_state = "exit " + std::to_string(*st.exit_code);
      } else if (st.signal) {
        out.backend_state = "signal " + std::to_string(*st.signal);
        out.detail = std::string("killed by ") + strsignal(*st.signal);
      }
      if (st.state == JobState::kTimeout) out.detail = "stopped at its time limit";
      if (st.state == JobState::kCancelled) out.detail = "stopped on request";
  }
  return out;
}

}  // namespace

LocalBackend::LocalBackend(Options options) : options_(std::move(options)) {
  options_.jobs_root = NormalDir(options_.jobs_root.empty() ? DefaultRegistryRoot() : options_.jobs_root);
}

std::string LocalBackend::JobDir(const JobRecord& record) const { return options_.jobs_root + "/" + record.id; }

Result<std::string> LocalBackend::Render(const JobRecord& record) const {
  const JobRequest& r = record.request;
  if (r.command.empty()) return Status::Usage("the job has no command");
  const std::string dir = IsValidJobId(record.id) ? JobDir(record) : "{jobdir}";
  auto sub = [&](const std::string& s) { return Replace(s, "{jobdir}", dir); };
  std::string out = "local job: a detached supervisor runs it on this machine\n";
  out += "  command: ";
  for (std::size_t i = 0; i < r.command.size(); ++i) {
    if (i) out += ' ';
    out += ShellQuote(sub(r.command[i]));
  }
  out += "\n  workdir: " + ShellQuote(r.workdir.empty() ? dir : sub(r.workdir)) + "\n";
  if (!r.env.empty()) {
    out += "  env:";
    for (const auto& [k, v] : r.env) {
      out += ' ';
      out += ShellQuote(k + "=" + sub(v));
    }
    out += "\n";
  }
  if (!r.secret_env.empty()) {
    out += "  secrets (inherited from the submitting environment, not stored):";
    for (const auto& name : r.secret_env) {
      out += ' ';
      out += ShellQuote(name);
    }
    out += "\n";
  }
  out += "  timeout: " +
         (r.timeout_s > 0 ? std::to_string(r.timeout_s) + " s, then SIGTERM to the process group, SIGKILL after " +
                                std::to_string(options_.grace.count()) + " ms"
                          : std::string("none")) +
         "\n";
  out += "  log: " + ShellQuote(dir + "/" + kOutputFile) + "\n";
  return out;
}

Result<Submitted> LocalBackend::Submit(const JobRecord& record, const std::string& jobdir_arg) {
  const JobRequest& r = record.request;
  if (r.command.empty()) return Status::Usage("the job has no command");
  if (options_.supervisor_argv.empty()) return Status::Usage("the local backend has no supervisor command");
  for (const auto& name : r.secret_env)
    if (!std::getenv(name.c_str()))
      return Status::Usage("the job needs $" + name + " (a secret passed from this environment) and it is not set");
  std::error_code ec;
  if (!std::filesystem::is_directory(jobdir_arg, ec)) return Status::NotFound("no job folder '" + jobdir_arg + "'");
  const std::string jobdir = NormalDir(jobdir_arg);

  std::vector<std::string> argv = options_.supervisor_argv;
  argv.push_back(jobdir);
  // The supervisor, and so the job, inherits this environment, except dsx's own: the session
  // token (DSX_TOKEN) is the session client's, not the job's, unless the request names it.
  const bool token_wanted = std::find(r.secret_env.begin(), r.secret_env.end(), "DSX_TOKEN") != r.secret_env.end();
  std::vector<std::string> env;
  const std::string grace_prefix = std::string(kGraceEnv) + "=";
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, grace_prefix.c_str(), grace_prefix.size()) == 0) continue;
    if (!token_wanted && std::strncmp(*e, "DSX_TOKEN=", 10) == 0) continue;
    env.emplace_back(*e);
  }
  env.push_back(grace_prefix + std::to_string(options_.grace.count()));

  auto pid = SpawnDetached(argv, env, jobdir, jobdir + "/" + kSupervisorLog);
  if (!pid.ok()) return pid.status();
  // The supervisor is known by pid and start time from here on, not by its command line: the
  // pipe that told us the pid closes when its exec begins, before the kernel has set up the new
  // /proc/PID/cmdline (empty until then), and a supervisor started through a wrapper shows the
  // wrapper's arguments for a while. Read by cmdline, a loaded machine saw "exited" (CI flake:
  // "the job's supervisor exited before starting the job" with an empty log). Exec keeps the start
  // time; -1 means it has already ended, which the state file then explains.
  const long long started_at = ProcessStartTime(static_cast<int>(*pid));
  auto still_running = [&] { return started_at >= 0 && ProcessStartTime(static_cast<int>(*pid)) == started_at; };

  // Wait for the supervisor to say the command runs (or could not start): a command that is not
  // there is this Submit's error, not a job that fails later.
  // Polled from 1 ms up to kStartPoll: the supervisor (a dsx process start, ~30 ms) usually
  // reports within a few polls, and a fixed 50 ms step added up to 50 ms to every submit.
  const auto deadline = std::chrono::steady_clock::now() + options_.start_wait;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    auto st = ReadLocalState(jobdir);
    if (st.ok() && st->state != JobState::kQueued) {
      if (!st->error.empty()) {
        const Code code = st->error_code == 2 ? Code::kUsage : st->error_code == 3 ? Code::kNotFound : Code::kFailed;
        return Status(code, st->error);
      }
      return Submitted{std::to_string(*pid), ""};
    }
    if (!still_running()) {
      auto again = ReadLocalState(jobdir);  // it may have finished between the two reads
      if (again.ok() && again->state != JobState::kQueued) continue;
      const std::string tail = Tail(jobdir + "/" + kSupervisorLog);
      return Status::Failed("the job's supervisor exited before starting the job" +
                            (tail.empty() ? std::string() : ": " + tail));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(static_cast<pid_t>(*pid), SIGTERM);  // a late start would run a job nobody records
      return Status::Unavailable("the job's supervisor did not start the job within " +
                                 std::to_string(options_.start_wait.count() / 1000) + " s (see '" + jobdir + "/" +
                                 kSupervisorLog + "')");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(kStartPoll));
  }
}

namespace {

Result<JobStatus> PollDir(const JobRecord& record, const std::string& jobdir_arg) {
  const std::string jobdir = NormalDir(jobdir_arg);
  const long long pid = ParsePid(record.backend_id);
  auto st = ReadLocalState(jobdir);
  if (!st.ok() && st.status().code() != Code::kNotFound) return st.status();
  if (!st.ok()) {
    // Not written yet: starting, if the supervisor is there.
    JobStatus out;
    if (pid > 0 && SupervisorAlive(nullptr, pid, jobdir)) {
      out.backend_state = "starting";
      return out;
    }
    out.state = JobState::kLost;
    out.backend_state = "no supervisor";
    // No pid at all: the dsx that created the job stopped before its supervisor started.
    out.detail = pid > 0 ? kLostDetail : "never started: the dsx that submitted it stopped before starting it";
    return out;
  }
  JobStatus out = FromLocal(*st);
  if (!IsTerminal(st->state) && !SupervisorAlive(&*st, st->supervisor_pid, jobdir)) {
    // A last look: the supervisor may have written its final state just before exiting.
    auto again = ReadLocalState(jobdir);
    if (again.ok() && IsTerminal(again->state)) return FromLocal(*again);
    out.state = JobState::kLost;
    out.backend_state = "supervisor gone";
    out.detail = kLostDetail;
    // Nothing of a job outlives its supervisor: what it left running (its `cmd &` children) is
    // stopped now that the job is declared over; nobody could watch or stop it otherwise.
    if (const int n = KillJobStrays(st->pgid, jobdir); n > 0)
      out.detail += "; stopped " + std::to_string(n) + " process" + (n == 1 ? "" : "es") + " it left";
  }
  return out;
}

}  // namespace

Result<JobStatus> LocalBackend::Poll(const JobRecord& record) { return PollDir(record, JobDir(record)); }

Status LocalBackend::Cancel(const JobRecord& record) {
  const std::string jobdir = JobDir(record);
  auto st = ReadLocalState(jobdir);
  if (!st.ok() && st.status().code() != Code::kNotFound) return st.status();
  if (st.ok() && IsTerminal(st->state)) return Status::Ok();
  const long long pid = st.ok() ? st->supervisor_pid : ParsePid(record.backend_id);
  // Only a verified supervisor is signalled: a pid reused by another process never is.
  if (!SupervisorAlive(st.ok() ? &*st : nullptr, pid, jobdir)) {
    if (st.ok()) KillJobStrays(st->pgid, jobdir);  // lost: stop what it left (see PollDir)
    return Status::Ok();
  }
  if (::kill(static_cast<pid_t>(pid), SIGTERM) != 0 && errno != ESRCH)
    return Status::Failed("cannot signal the job's supervisor (pid " + std::to_string(pid) +
                          "): " + std::strerror(errno));
  return Status::Ok();
}

Status LocalBackend::Logs(const JobRecord& record, const std::string& jobdir, bool follow, const LogSink& sink,
                          const std::atomic<bool>* stop) {
  const std::string path = jobdir + "/" + kOutputFile;
  int fd = -1;
  std::string pending;  // bytes after the last '\n' read so far
  char buf[1 << 16];
  auto stopped = [&] { return stop && stop->load(); };
  // Reads what is there now; false once the sink asked to stop.
  auto drain = [&]() -> bool {
    if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return true;  // not created yet
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return true;
      pending.append(buf, static_cast<std::size_t>(n));
      std::size_t start = 0, nl;
      while ((nl = pending.find('\n', start)) != std::string::npos) {
        if (!sink(std::string_view(pending).substr(start, nl - start))) return false;
        start = nl + 1;
      }
      pending.erase(0, start);
      while (pending.size() >= kMaxLine) {
        if (!sink(std::string_view(pending).substr(0, kMaxLine))) return false;
        pending.erase(0, kMaxLine);
      }
    }
  };
  auto finish = [&](Status s) {
    if (fd >= 0) ::close(fd);
    return s;
  };
  for (;;) {
    // The state is read before draining: once it is terminal, the drain that follows sees every
    // byte the job wrote (the supervisor records the end only after the group is gone).
    bool terminal = true;
    if (follow) {
      auto status = PollDir(record, jobdir);
      if (!status.ok()) return finish(status.status());
      terminal = IsTerminal(status->state);
    }
    if (!drain()) return finish(Status::Ok());
    if (terminal || stopped()) break;
    std::this_thread::sleep_for(kFollowPoll);
    if (stopped()) break;
  }
  if (!pending.empty()) sink(pending);  // a last line without its newline
  if (!follow && fd < 0) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      return finish(std::filesystem::is_directory(jobdir, ec) ? Status::Ok()
                                                              : Status::NotFound("no job folder '" + jobdir + "'"));
  }
  return finish(Status::Ok());
}

}  // namespace dsx::jobs
