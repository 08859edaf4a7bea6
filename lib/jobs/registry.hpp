// The job registry: one folder per job under a data directory, so that status, logs and cancel
// work from a new shell, after a reboot, and for jobs another dsx process submitted.
//
// Layout of root/<id>/ (id from NewJobId, so folder names are always safe):
//   job.json      the immutable part: id, created_ms and the request (written once, by Create)
//   state.json    the mutable part: backend_id, url, session, server, status, *_ms (Save)
//   events.jsonl  one JSON line per state change (AppendEvent), for people and the session
//   <files>       request.files, written by Create (the training script ...)
//   backend files the backend's own (local.json, output.log, ...)
//
// Crash safety: Create builds the folder as root/.tmp-<id> and renames it into place only when
// everything in it is written and fsynced, so a dsx killed half-way leaves a .tmp- folder (which
// List reports and later removes), never a half-written job. state.json is replaced atomically.
// Several dsx processes may use one registry at once: each job is written by one writer at a time
// (the process that submitted it, then its watcher), and readers see whole files only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "jobs/job.hpp"

namespace dsx::jobs {

// $DSX_JOBS_DIR, else $XDG_DATA_HOME/dsx/jobs, else $HOME/.local/share/dsx/jobs
std::string DefaultRegistryRoot();

class Registry {
 public:
  static Result<Registry> Open(std::string root);  // mkdir -p; kUnavailable if not writable
  const std::string& root() const { return root_; }
  std::string Dir(const std::string& id) const;  // root/id

  // New id, folder built as root/.tmp-<id> (job.json, request.files written, fsynced) then renamed
  // to root/<id>: a dsx killed half-way leaves only a .tmp- folder, never a half-written job.
  // created/updated_ms = now_ms. kUsage for a file name with '/' or '..' (nothing written).
  Result<JobRecord> Create(const JobRequest& request, std::int64_t now_ms);

  // kUsage for an invalid id (before touching the disk), kNotFound "no job 'x' (see dsx jobs list)",
  // kFailed "job 'x': job.json is damaged: ..." for a folder that is not a whole job.
  Result<JobRecord> Load(const std::string& id) const;

  // Atomic write of state.json (backend_id, url, session, server, status, started/finished/updated_ms).
  Status Save(const JobRecord& record);

  // One JSON line appended (O_APPEND, fsync) to root/<id>/events.jsonl: {"ms":..,"state":..,"detail":..}
  Status AppendEvent(const std::string& id, const nlohmann::json& event);

  // Every whole job, newest first; folders that are not whole jobs (damaged, .tmp- leftovers older than
  // 1 hour are removed; younger ones skipped) are reported in `problems` as one line each, never fatal.
  Result<std::vector<JobRecord>> List(std::vector<std::string>* problems = nullptr) const;

 private:
  explicit Registry(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace dsx::jobs
