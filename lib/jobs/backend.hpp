// Backend: one place jobs run (this machine, a Slurm cluster, Hugging Face Jobs). The jobs
// service (lib/jobs/service) owns the registry and the watcher process and calls these; the
// backends know nothing about the registry, sessions or the CLI.
//
// Errors map to dsx exit codes like every other client (core/status.hpp, net/http_status.hpp):
//   kUsage        the request cannot run here (no command, a flavor the backend lacks)
//   kConflict     refused: bad or revoked token (401/403), no credit (402)
//   kNotFound     the backend does not know this job
//   kUnavailable  the backend cannot be reached, or kept answering 429/5xx past the retries
//   kFailed       anything else, with the backend's own message (never a secret)
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "jobs/job.hpp"

namespace dsx::jobs {

// What submitting returned: the backend's id and where to look.
struct Submitted {
  std::string backend_id;
  std::string url;  // "" when the backend has no page
};

// One log line (without its newline). Return false to stop following.
using LogSink = std::function<bool(std::string_view line)>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "local" | "slurm" | "hf"

  // Exactly what Submit would send, for --dry-run: the HTTP request (method, URL, headers with
  // the token shown as "Bearer <HF_TOKEN>", JSON body with secret values as "<from $NAME>") or
  // the sbatch script, or the local command line. No network, no token needed.
  virtual Result<std::string> Render(const JobRecord& record) const = 0;

  // Submits. `jobdir` is the job's registry folder (files already written there).
  virtual Result<Submitted> Submit(const JobRecord& record, const std::string& jobdir) = 0;

  // The job's state now.
  virtual Result<JobStatus> Poll(const JobRecord& record) = 0;

  // Sends the job's log lines to `sink`, from the start (or, with `follow`, from the start and
  // then as they come until the job is terminal, `sink` returns false or `*stop` turns true).
  virtual Status Logs(const JobRecord& record, const std::string& jobdir, bool follow, const LogSink& sink,
                      const std::atomic<bool>* stop) = 0;

  // Asks the backend to stop the job. OK once the backend accepted the request (the state turns
  // cancelled later: Poll); OK too for a job already terminal.
  virtual Status Cancel(const JobRecord& record) = 0;
};

}  // namespace dsx::jobs
