// JobService: see job_service.hpp. The registry is the source of truth between processes; every
// refresh of a job (Status, Cancel, the watcher) runs under the job's JobLock.
#include "jobs/service/job_service.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "jobs/registry.hpp"
#include "jobs/service/backend_factory.hpp"
#include "jobs/service/job_lock.hpp"
#include "jobs/service/jobs_config.hpp"
#include "jobs/service/record_update.hpp"
#include "jobs/service/watcher_process.hpp"

namespace dsx::jobs {
namespace {
// How long a record may sit without a backend id before it counts as lost: longer than any
// backend's Submit takes, retries included.
constexpr std::int64_t kSubmitGraceMs = 10 * 60 * 1000;
}  // namespace

struct JobService::Impl {
  ServiceOptions options;
  Clock* clock = nullptr;
  Registry registry;
  JobsConfig config;
  BackendFactory factory;

  Impl(ServiceOptions o, Registry r, JobsConfig c) : options(std::move(o)), registry(std::move(r)), config(c) {
    clock = options.clock ? options.clock : &Clock::System();
  }
};

JobService::JobService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JobService::~JobService() = default;

std::vector<std::string> SelfDsxArgv() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return {ec ? std::string("/proc/self/exe") : self.string()};
}

Result<std::unique_ptr<JobService>> JobService::Open(ServiceOptions options) {
  if (options.registry_root.empty()) options.registry_root = DefaultRegistryRoot();
  if (options.registry_root.empty()) {
    return dsx::Status::Usage("no jobs directory: set DSX_JOBS_DIR (or HOME / XDG_DATA_HOME)");
  }
  auto registry = Registry::Open(options.registry_root);
  if (!registry.ok()) return registry.status();
  auto config = LoadJobsConfig(options.config_path);
  if (!config.ok()) return config.status();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*registry), *config);
  BackendContext context{impl->registry.root(), impl->options.self_argv, impl->config};
  impl->factory = [context](const std::string& name) { return MakeBackend(name, context); };
  return std::unique_ptr<JobService>(new JobService(std::move(impl)));
}

const ServiceOptions& JobService::options() const { return impl_->options; }

void JobService::SetBackendFactoryForTest(BackendFactory factory) { impl_->factory = std::move(factory); }

Result<std::unique_ptr<Backend>> JobService::OpenBackend(const std::string& name) { return impl_->factory(name); }

Result<std::string> JobService::Render(const JobRequest& request_in) {
  DSX_RETURN_IF_ERROR(CheckRequestText(request_in));  // the HF body is JSON (found by fuzzing)
  JobRequest request = request_in;
  ApplyJobsConfig(impl_->config, request);
  auto backend = OpenBackend(request.backend);
  if (!backend.ok()) return backend.status();
  // A record as Submit would make it, but nowhere on disk: the id only has to look real.
  JobRecord record;
  const std::int64_t now = impl_->clock->NowMs();
  record.id = NewJobId(now);
  record.request = std::move(request);
  record.created_ms = record.updated_ms = now;
  if (!impl_->options.server.empty()) {
    record.server = impl_->options.server;
    record.session = "jobs/" + record.id;
  }
  return (*backend)->Render(record);
}

Result<JobRecord> JobService::Submit(const JobRequest& request_in) {
  DSX_RETURN_IF_ERROR(CheckRequestText(request_in));
  JobRequest request = request_in;
  ApplyJobsConfig(impl_->config, request);
  // The backend first: an unknown backend or a missing credential must leave no job folder behind.
  auto backend = OpenBackend(request.backend);
  if (!backend.ok()) return backend.status();
  if (request.command.empty()) return dsx::Status::Usage("a job needs a command");
  // Secret values are read from this environment when the backend submits; a missing one would
  // otherwise surface late (or as an empty secret on a remote machine).
  for (const auto& name : request.secret_env) {
    const char* v = std::getenv(name.c_str());
    if (!v)
      return dsx::Status::Usage("the job needs $" + name +
                                " (a secret passed from this environment) and it is not set");
  }
  Registry& reg = impl_->registry;
  auto created = reg.Create(request, impl_->clock->NowMs());
  if (!created.ok()) return created.status();
  JobRecord record = std::move(*created);
  const std::string dir = reg.Dir(record.id);
  if (!impl_->options.server.empty()) {
    record.server = impl_->options.server;
    record.session = "jobs/" + record.id;
  }
  record.status.backend_state = "submitting";
  DSX_RETURN_IF_ERROR(reg.Save(record));

  auto submitted = (*backend)->Submit(record, dir);
  const std::int64_t now = impl_->clock->NowMs();
  if (!submitted.ok()) {
    // Keep the folder as a failed job: the request and the reason stay inspectable
    // (dsx jobs status ID), and nothing is left claiming to be queued.
    JobStatus failed;
    failed.state = JobState::kFailed;
    failed.backend_state = "not submitted";
    failed.detail = submitted.status().message();
    ApplyStatus(record, failed, now);
    (void)reg.Save(record);
    (void)reg.AppendEvent(record.id, StateEvent(record, now));
    return submitted.status().Wrap("cannot submit job '" + record.id + "' to " + request.backend);
  }
  record.backend_id = submitted->backend_id;
  record.url = submitted->url;
  JobStatus queued;
  queued.backend_state = "submitted";
  queued.detail = request.backend + " id " + record.backend_id;
  ApplyStatus(record, queued, now);
  DSX_RETURN_IF_ERROR(reg.Save(record));
  DSX_RETURN_IF_ERROR(reg.AppendEvent(record.id, StateEvent(record, now)));

  if (!record.server.empty()) {
    // The job runs whatever happens to its watcher; a watcher that cannot start is a note on
    // the record (and an event), not a failed submit.
    dsx::Status w = StartWatcherProcess(impl_->options, reg.root(), dir, record.id);
    if (!w.ok()) {
      (void)reg.AppendEvent(record.id, {{"ms", now}, {"event", "watcher"}, {"error", w.message()}});
    }
  }
  // One refresh so the caller sees "running" when the backend already says so.
  auto fresh = Status(record.id);
  return fresh.ok() ? std::move(*fresh) : record;
}

Result<JobRecord> JobService::Load(const std::string& id) { return impl_->registry.Load(id); }

Result<JobRecord> JobService::Status(const std::string& id) {
  Registry& reg = impl_->registry;
  auto loaded = reg.Load(id);  // validates the id before the lock touches the disk
  if (!loaded.ok()) return loaded.status();
  if (IsTerminal(loaded->status.state)) return loaded;
  auto lock = JobLock::Acquire(reg.Dir(id));
  if (!lock.ok()) return lock.status();
  auto record = reg.Load(id);  // again, under the lock: another process may have moved it on
  if (!record.ok()) return record.status();
  if (IsTerminal(record->status.state)) return record;
  const std::int64_t now = impl_->clock->NowMs();
  if (record->backend_id.empty()) {
    // Submit has not finished handing it over yet, or the dsx doing it was killed half-way.
    if (now - record->created_ms < kSubmitGraceMs) return record;
    JobStatus lost;
    lost.state = JobState::kLost;
    lost.backend_state = "never submitted";
    lost.detail = "the dsx that submitted it stopped before the backend accepted it";
    ApplyStatus(*record, lost, now);
    DSX_RETURN_IF_ERROR(reg.Save(*record));
    DSX_RETURN_IF_ERROR(reg.AppendEvent(id, StateEvent(*record, now)));
    return record;
  }
  auto backend = OpenBackend(record->request.backend);
  if (!backend.ok()) return backend.status();
  auto polled = (*backend)->Poll(*record);
  JobStatus now_status;
  if (polled.ok()) {
    now_status = *polled;
  } else if (polled.status().code() == Code::kNotFound) {
    // The backend no longer knows a job it accepted: its outcome cannot be known.
    now_status.state = JobState::kLost;
    now_status.backend_state = "unknown to " + record->request.backend;
    now_status.detail = polled.status().message();
  } else {
    return polled.status().Wrap("cannot get the state of job '" + id + "'");
  }
  const RecordChange change = ApplyStatus(*record, now_status, now);
  if (change.changed) DSX_RETURN_IF_ERROR(reg.Save(*record));
  if (change.state_changed) DSX_RETURN_IF_ERROR(reg.AppendEvent(id, StateEvent(*record, now)));
  return record;
}

dsx::Status JobService::Logs(const std::string& id, bool follow, const LogSink& sink, const std::atomic<bool>* stop) {
  Registry& reg = impl_->registry;
  auto record = reg.Load(id);
  if (!record.ok()) return record.status();
  if (record->backend_id.empty()) {
    return dsx::Status::NotFound("job '" + id + "' was never handed to its backend: no logs");
  }
  auto backend = OpenBackend(record->request.backend);
  if (!backend.ok()) return backend.status();
  dsx::Status s = (*backend)->Logs(*record, reg.Dir(id), follow, sink, stop);
  // Following ends at the job's end: record it now rather than at the next status call.
  if (follow && s.ok()) (void)Status(id);
  return s;
}

Result<JobRecord> JobService::Cancel(const std::string& id, std::chrono::milliseconds wait) {
  auto record = Status(id);  // fresh: a job that already ended is reported, not cancelled
  if (!record.ok()) return record.status();
  if (IsTerminal(record->status.state)) return record;
  if (record->backend_id.empty()) {
    // Between Create and the backend's answer there is nothing to cancel yet.
    return dsx::Status::Conflict("job '" + id + "' is still being submitted; cancel it again in a moment");
  }
  auto backend = OpenBackend(record->request.backend);
  if (!backend.ok()) return backend.status();
  DSX_RETURN_IF_ERROR((*backend)->Cancel(*record).Wrap("cannot cancel job '" + id + "'"));
  Clock& clock = *impl_->clock;
  (void)impl_->registry.AppendEvent(id, {{"ms", clock.NowMs()}, {"event", "cancel_requested"}});
  const std::int64_t deadline = clock.SteadyMs() + wait.count();
  while (true) {
    record = Status(id);
    if (!record.ok()) return record.status();
    if (IsTerminal(record->status.state)) return record;
    const std::int64_t left = deadline - clock.SteadyMs();
    if (left <= 0) return record;
    clock.SleepMs(std::min<std::int64_t>(left, impl_->options.poll_interval.count()));
  }
}

Result<std::vector<JobRecord>> JobService::List(const std::string& kind_filter, std::vector<std::string>* problems) {
  auto all = impl_->registry.List(problems);
  if (!all.ok()) return all.status();
  if (kind_filter.empty()) return all;
  std::vector<JobRecord> out;
  for (auto& r : *all) {
    if (r.request.kind == kind_filter) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace dsx::jobs
