// JobService: the one entry point for submit, status, logs, cancel and list over every backend
// (local, slurm, hf) and the job registry. The CLI (`dsx jobs`, `dsx finetune`) and AutoLab call
// this; they never talk to a backend or the registry directly, so every job is seen the same way
// whatever submitted it.
//
// The registry is the source of truth between processes: Status/Cancel re-read the record, ask
// the backend and write back what changed (a state change also appends an event), so a new shell,
// another dsx process or the watcher all agree. When a session server is configured, Submit
// starts a detached watcher process (`dsx jobs _watch ID`, RunWatcher below) that publishes the
// job into the session jobs/<id> and turns the session's Stop into a backend cancel.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "jobs/backend.hpp"
#include "jobs/job.hpp"

namespace dsx::jobs {

struct ServiceOptions {
  std::string registry_root;           // "" = DefaultRegistryRoot()
  std::vector<std::string> self_argv;  // how to run this dsx: {"/proc/self/exe"} resolved to a path
  std::string server;                  // session server ("" = none: no session publishing)
  std::string token;                   // session token; passed to the watcher via env, never argv
  std::string config_path;             // "" = $DSX_CONFIG_DIR/jobs.toml or ~/.config/dsx/jobs.toml
                                       // (optional file: [slurm] partition, account; [hf] namespace, endpoint)
  Clock* clock = nullptr;              // nullptr = Clock::System() (tests pass a ManualClock)
  std::chrono::milliseconds poll_interval{1000};  // Cancel's and the watcher's polling pace
};

class JobService {
 public:
  static Result<std::unique_ptr<JobService>> Open(ServiceOptions options);
  ~JobService();
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  // Dry run: the backend's Render of the request, no registry write, no network.
  Result<std::string> Render(const JobRequest& request);
  // Registry Create -> backend Submit -> Save; starts the watcher when a server is set.
  Result<JobRecord> Submit(const JobRequest& request);
  // The record as last stored: registry only, no backend call (kUsage bad id, kNotFound unknown).
  Result<JobRecord> Load(const std::string& id);
  // Backend Poll; the registry is updated (a state change appends an event). A terminal record
  // is returned as stored, without asking the backend again.
  Result<JobRecord> Status(const std::string& id);
  // The job's log lines to `sink` (follow: until terminal, sink false, or *stop).
  dsx::Status Logs(const std::string& id, bool follow, const LogSink& sink, const std::atomic<bool>* stop);
  // Backend Cancel, then polls until terminal or `wait` has passed; returns the record then.
  Result<JobRecord> Cancel(const std::string& id, std::chrono::milliseconds wait);
  // Registry only, no network. kind_filter "" = every kind. Damaged folders go to *problems.
  Result<std::vector<JobRecord>> List(const std::string& kind_filter, std::vector<std::string>* problems);
  // "local" | "slurm" | "hf" configured from the options and config file; kUsage otherwise.
  Result<std::unique_ptr<Backend>> OpenBackend(const std::string& name);

  // Tests: replaces the factory OpenBackend uses (the fake backend of tests/unit/jobs_service).
  using BackendFactory = std::function<Result<std::unique_ptr<Backend>>(const std::string& name)>;
  void SetBackendFactoryForTest(BackendFactory factory);

  const ServiceOptions& options() const;

 private:
  struct Impl;
  explicit JobService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// This dsx binary's path as ServiceOptions::self_argv wants it: /proc/self/exe resolved, so the
// detached supervisor and watcher run the same binary whatever the caller's cwd and PATH.
std::vector<std::string> SelfDsxArgv();

// The watcher process body (`dsx jobs _watch ID`): follows one job until terminal: polls status
// (registry updated), follows logs, publishes state and log lines into the session jobs/<id>
// (JobSession) when the record has a server, and on Stop/control.cancel from the session calls
// the backend's Cancel, acknowledging only when the backend confirms. Returns the exit code.
int RunWatcher(const ServiceOptions& options, const std::string& id);

}  // namespace dsx::jobs
