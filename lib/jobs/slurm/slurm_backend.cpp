// SlurmBackend: see slurm_backend.hpp.
#include "jobs/slurm/slurm_backend.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "jobs/slurm/slurm_state.hpp"

namespace dsx::jobs {
namespace {

constexpr const char* kSessionTokenVar = "DSX_TOKEN";

std::string FirstLine(const std::string& s) {
  std::size_t start = s.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  std::size_t end = s.find_first_of("\r\n", start);
  std::string line = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
  return line;
}

std::vector<std::string> ClusterArgs(const SlurmJobRef& ref) {
  if (ref.cluster.empty()) return {};
  return {"-M", ref.cluster};
}

// Splits a growing byte stream into lines. '\n', '\r' and "\r\n" each end a line: progress bars
// (tqdm) redraw with a bare '\r', and each redraw is worth showing as it comes.
class LineSplitter {
 public:
  // False when the sink asked to stop.
  bool Feed(std::string_view bytes, const LogSink& sink) {
    for (char c : bytes) {
      if (c == '\n' && after_cr_) {
        after_cr_ = false;
        continue;
      }
      after_cr_ = c == '\r';
      if (c == '\n' || c == '\r') {
        std::string line;
        line.swap(partial_);
        if (!sink(line)) return false;
      } else {
        partial_ += c;
      }
    }
    return true;
  }
  // The last line when the file does not end with a newline.
  bool Flush(const LogSink& sink) {
    if (partial_.empty()) return true;
    std::string line;
    line.swap(partial_);
    return sink(line);
  }

 private:
  std::string partial_;
  bool after_cr_ = false;
};

// Reads what was appended to a file since the last call. A missing file is empty (the job has not
// started: Slurm creates --output when it does).
class FileTail {
 public:
  explicit FileTail(std::string path) : path_(std::move(path)) {}
  Result<std::string> ReadMore() {
    int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::string();
      return Status::Failed("cannot read '" + path_ + "': " + std::strerror(errno));
    }
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t got = pread(fd, buf, sizeof buf, offset_);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      out.append(buf, static_cast<std::size_t>(got));
      offset_ += got;
    }
    close(fd);
    return out;
  }

 private:
  std::string path_;
  off_t offset_ = 0;
};

}  // namespace

SlurmBackend::SlurmBackend(Options options) : options_(std::move(options)) {
  if (!options_.run) {
    // Never hand dsx's session token to Slurm: sbatch would copy it into the job's environment
    // and the controller's state files (--export=ALL), and no Slurm client needs it.
    options_.run = [](const std::vector<std::string>& argv, const std::string& in) {
      return RunCommand(argv, in, std::chrono::seconds(120), {std::string(kSessionTokenVar)});
    };
  }
  if (options_.clock == nullptr) options_.clock = &Clock::System();
  defaults_ = {options_.partition, options_.account, options_.gres_type};
}

std::string SlurmBackend::Tool(const char* name) const {
  return options_.bin_dir.empty() ? std::string(name) : options_.bin_dir + "/" + name;
}

Result<CommandResult> SlurmBackend::Run(const std::vector<std::string>& argv) const {
  auto r = options_.run(argv, "");
  if (!r.ok() && r.status().code() == Code::kNotFound) {
    return Status::Unavailable(argv[0] + " not found: is Slurm installed?");
  }
  return r;
}

Result<std::string> SlurmBackend::Script(const JobRecord& record, const std::string& jobdir) const {
  return RenderBatchScript(record, jobdir, defaults_);
}

Result<std::string> SlurmBackend::Render(const JobRecord& record) const {
  return Script(record, options_.jobs_root.empty() ? std::string("{jobdir}") : options_.jobs_root + "/" + record.id);
}

Result<Submitted> SlurmBackend::Submit(const JobRecord& record, const std::string& jobdir) {
  auto script = Script(record, jobdir);
  if (!script.ok()) return script.status();
  // sbatch copies the submitting environment into the job (--export=ALL): a secret missing here
  // would silently be missing in the job, so say so before anything is queued.
  for (const auto& name : record.request.secret_env) {
    if (name == kSessionTokenVar) {
      return Status::Usage(std::string("the session token ") + kSessionTokenVar +
                           " is never passed to Slurm jobs (sbatch would store it in the controller's state)");
    }
    if (std::getenv(name.c_str()) == nullptr) {
      return Status::Usage("secret '" + name + "' is not set in this environment: sbatch passes the job the " +
                           "value it has when the job is submitted");
    }
  }
  const std::string path = jobdir + "/job.sbatch";
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(path, *script));
  auto r = Run({Tool("sbatch"), "--parsable", path});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return SlurmError("sbatch", r->exit_code, r->err);
  auto ref = ParseSbatchParsable(r->out);
  if (!ref.ok()) return ref.status();
  Submitted s;
  s.backend_id = ref->cluster.empty() ? ref->id : ref->id + ";" + ref->cluster;
  return s;
}

Result<JobStatus> SlurmBackend::Poll(const JobRecord& record) {
  auto ref = ParseBackendId(record.backend_id);
  if (!ref.ok()) return ref.status();
  const auto cluster = ClusterArgs(*ref);
  // Fast path: squeue answers from the controller's list of live jobs. "%T %r": state and reason
  // (why it is pending) in one call.
  std::vector<std::string> argv = {Tool("squeue"), "-h"};
  argv.insert(argv.end(), cluster.begin(), cluster.end());
  argv.insert(argv.end(), {"-j", ref->id, "-o", "%T %r"});
  auto r = Run(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0 && !SaysInvalidJobId(r->err)) return SlurmError("squeue", r->exit_code, r->err);
  std::string line = r->exit_code == 0 ? FirstLine(r->out) : "";
  if (!line.empty()) {
    std::string word = line.substr(0, line.find(' '));
    auto state = MapSlurmState(word);
    if (!state.ok()) return state.status().Wrap("squeue");
    // A terminal state here has no exit code: scontrol has it.
    if (!IsTerminal(*state)) {
      JobStatus status;
      status.state = *state;
      status.backend_state = word;
      std::string reason = line.size() > word.size() ? line.substr(word.size() + 1) : "";
      if (reason != "None" && reason != "(null)") status.detail = reason;
      return status;
    }
  }
  return FromScontrol(ref->id, cluster);
}

Result<JobStatus> SlurmBackend::FromScontrol(const std::string& id, const std::vector<std::string>& cluster) {
  std::vector<std::string> argv = {Tool("scontrol")};
  argv.insert(argv.end(), cluster.begin(), cluster.end());
  argv.insert(argv.end(), {"show", "job", id});
  auto r = Run(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    if (!SaysInvalidJobId(r->err)) return SlurmError("scontrol", r->exit_code, r->err);
    JobStatus lost;
    lost.state = JobState::kLost;
    lost.backend_state = "UNKNOWN";
    lost.detail = "Slurm no longer knows job " + id +
                  ": it ended longer ago than the cluster's MinJobAge, or the controller lost its state "
                  "(no accounting database is consulted)";
    return lost;
  }
  auto job = ParseScontrolJob(r->out);
  if (!job.ok()) return job.status();
  auto state = MapSlurmState(job->state);
  if (!state.ok()) return state.status().Wrap("scontrol");
  JobStatus status;
  status.state = *state;
  status.backend_state = job->state.substr(0, job->state.find(' '));
  std::string detail;
  if (IsTerminal(*state)) {
    int sig = job->exit_signal.value_or(0);
    if (sig != 0) {
      detail = "signal " + std::to_string(sig);
    } else if (job->exit_code) {
      detail = "exit " + std::to_string(*job->exit_code);
      if (*state == JobState::kSucceeded || *state == JobState::kFailed) status.exit_code = job->exit_code;
    }
  }
  if (!job->reason.empty() && job->reason != "None") detail += (detail.empty() ? "" : ", ") + job->reason;
  status.detail = detail;
  return status;
}

Status SlurmBackend::Logs(const JobRecord& record, const std::string& jobdir, bool follow, const LogSink& sink,
                          const std::atomic<bool>* stop) {
  FileTail tail(jobdir + "/output.log");
  LineSplitter lines;
  Clock& clock = *options_.clock;
  std::int64_t next_poll = clock.SteadyMs();
  int poll_failures = 0;
  for (;;) {
    if (stop != nullptr && stop->load()) return Status::Ok();
    auto more = tail.ReadMore();
    if (!more.ok()) return more.status();
    if (!lines.Feed(*more, sink)) return Status::Ok();
    if (!follow) {
      lines.Flush(sink);
      return Status::Ok();
    }
    if (clock.SteadyMs() >= next_poll) {
      next_poll = clock.SteadyMs() + options_.poll_interval_ms;
      auto status = Poll(record);
      if (!status.ok()) {
        // One slow answer from a busy controller is no reason to stop following; a run of them is.
        if (++poll_failures >= 5) return status.status().Wrap("following logs");
      } else {
        poll_failures = 0;
        if (IsTerminal(status->state)) {
          // The job's last writes happened before Slurm called it ended: read to the end once more.
          auto last = tail.ReadMore();
          if (!last.ok()) return last.status();
          if (lines.Feed(*last, sink)) lines.Flush(sink);
          return Status::Ok();
        }
      }
    }
    clock.SleepMs(options_.log_interval_ms);
  }
}

Status SlurmBackend::Cancel(const JobRecord& record) {
  auto ref = ParseBackendId(record.backend_id);
  if (!ref.ok()) return ref.status();
  std::vector<std::string> argv = {Tool("scancel")};
  auto cluster = ClusterArgs(*ref);
  argv.insert(argv.end(), cluster.begin(), cluster.end());
  argv.push_back(ref->id);
  auto r = Run(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code == 0) return Status::Ok();
  // Asking to cancel what has already ended is fine (the contract: OK for a terminal job).
  if (r->err.find("already completing or completed") != std::string::npos) return Status::Ok();
  if (SaysInvalidJobId(r->err)) return Status::NotFound("Slurm does not know job " + ref->id);
  return SlurmError("scancel", r->exit_code, r->err);
}

}  // namespace dsx::jobs
