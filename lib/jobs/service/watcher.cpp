// RunWatcher: the body of `dsx jobs _watch ID` (see job_service.hpp). It follows one job until
// it is terminal, keeps the registry up to date and, when the job was submitted with a session
// server, mirrors it into the session jobs/<id> through JobSession:
//   main thread  polls Status (registry updated), publishes each change with JobSession::State
//   log thread   follows the backend's logs into JobSession::Log
//   control      JobSession's own thread calls on_cancel for the session's Stop: the backend's
//                Cancel through JobService, so the cancel is acked only once the backend took it
// At the end the log thread gets a moment to drain (the last lines come before the final state
// line), then the terminal state and run.end are published.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "jobs/service/job_service.hpp"
#include "jobs/service/watcher.hpp"
#include "jobs/session/job_session.hpp"

namespace dsx::jobs {
namespace {

void Note(const std::string& line) { std::fprintf(stderr, "dsx jobs _watch: %s\n", line.c_str()); }

// The slowest a watcher polls each backend at, whatever ServiceOptions::poll_interval says: a
// Slurm poll is one or two client calls to the controller and an HF poll an API request, and a
// watcher may run for hours (the log follower reports progress in between; the state only has to
// be timely).
std::int64_t PollFloorMs(const std::string& backend) {
  if (backend == "slurm") return 2000;
  if (backend == "hf") return 5000;
  return 0;
}

bool SameStatus(const JobStatus& a, const JobStatus& b) {
  return a.state == b.state && a.backend_state == b.backend_state && a.detail == b.detail && a.exit_code == b.exit_code;
}

// The session half of the watcher: a JobSession, or nothing when publishing is off or broke.
class Publisher {
 public:
  Publisher(const ServiceOptions& options, JobService& service, const JobRecord& record, Clock& clock)
      : options_(options), service_(service), record_(record), clock_(clock) {}

  // Opens the run, retrying a server that is not up yet for up to a minute: the job runs either
  // way, and a watcher that gives up only costs the session view, never the job.
  void Open() {
    if (record_.server.empty()) return;
    JobSessionOptions o;
    o.server = record_.server;
    o.token = options_.token;
    o.session = record_.session;
    o.clock = &clock_;
    const std::string id = record_.id;
    JobService* service = &service_;
    o.on_cancel = [service, id](const std::string& reason) -> Status {
      Note("cancel requested from the session" + (reason.empty() ? std::string() : ": " + reason));
      auto r = service->Cancel(id, std::chrono::milliseconds(0));
      if (!r.ok()) return r.status();
      if (IsTerminal(r->status.state) && r->status.state != JobState::kCancelled) {
        return Status::Conflict(std::string("job already ") + JobStateName(r->status.state));
      }
      return Status::Ok();
    };
    const std::int64_t deadline = clock_.SteadyMs() + 60'000;
    std::int64_t backoff = 250;
    while (true) {
      auto s = JobSession::Open(o, record_);
      if (s.ok()) {
        session_ = std::move(*s);
        return;
      }
      const bool retryable = s.status().code() == Code::kUnavailable;
      if (!retryable || clock_.SteadyMs() >= deadline) {
        Note("cannot publish into session '" + record_.session + "': " + s.status().message());
        return;
      }
      clock_.SleepMs(backoff);
      backoff = std::min<std::int64_t>(backoff * 2, 5000);
    }
  }

  bool active() const { return session_ != nullptr && !broken_.load(); }

  void State(const JobStatus& status) {
    if (!active()) return;
    Check(session_->State(status));
  }
  bool Log(std::string_view line) {
    if (!active()) return true;
    Check(session_->Log(line));
    return true;  // the job's logs are followed to the end even when the session broke
  }
  void End(const JobStatus& final) {
    if (!session_) return;
    Status s = session_->End(final);
    if (!s.ok()) Note("cannot end the session run: " + s.message());
  }

 private:
  void Check(const Status& s) {
    if (s.ok()) return;
    if (!broken_.exchange(true)) Note("session publishing stopped: " + s.message());
  }

  const ServiceOptions& options_;
  JobService& service_;
  const JobRecord& record_;
  Clock& clock_;
  std::unique_ptr<JobSession> session_;
  std::atomic<bool> broken_{false};
};

}  // namespace

int RunWatcher(const ServiceOptions& options, const std::string& id) {
  auto opened = JobService::Open(options);
  if (!opened.ok()) {
    Note(opened.status().message());
    return opened.status().exit_code();
  }
  return WatchJob(**opened, id);
}

int WatchJob(JobService& service, const std::string& id) {
  const ServiceOptions& options = service.options();
  Clock& clock = options.clock ? *options.clock : Clock::System();
  // The stored record, not a poll: a backend that cannot be reached right now is the loop's
  // business (it retries), not a reason to leave the job unwatched.
  auto first = service.Load(id);
  if (!first.ok()) {
    Note(first.status().message());
    return first.status().exit_code();
  }
  const JobRecord record = *first;
  Publisher publisher(options, service, record, clock);
  publisher.Open();
  JobStatus published = record.status;
  if (!IsTerminal(published.state)) publisher.State(published);

  std::atomic<bool> stop_logs{false};
  std::atomic<bool> logs_done{false};
  std::thread logs;
  if (publisher.active()) {
    logs = std::thread([&] {
      Status s = service.Logs(
          id, /*follow=*/true, [&](std::string_view line) { return publisher.Log(line); }, &stop_logs);
      if (!s.ok()) Note("log following ended: " + s.message());
      logs_done = true;
    });
  }

  // Poll until terminal. A backend that cannot be reached is retried (slower and slower, up to a
  // minute apart): the job goes on without us, and its end must still be recorded.
  const std::int64_t base =
      std::max<std::int64_t>({options.poll_interval.count(), PollFloorMs(record.request.backend), 1});
  std::int64_t pause = base;
  JobStatus final = published;
  int exit_code = 0;
  while (true) {
    auto r = service.Status(id);
    if (r.ok()) {
      pause = base;
      if (IsTerminal(r->status.state)) {
        final = r->status;
        break;
      }
      if (!SameStatus(r->status, published)) {
        published = r->status;
        publisher.State(published);
      }
    } else if (r.status().code() == Code::kNotFound || r.status().code() == Code::kUsage) {
      Note(r.status().message());  // the job's folder is gone: nothing left to watch
      final.state = JobState::kLost;
      final.detail = r.status().message();
      exit_code = r.status().exit_code();
      break;
    } else {
      Note(r.status().message());
      pause = std::min<std::int64_t>(pause * 2, 60'000);
    }
    clock.SleepMs(pause);
  }

  if (logs.joinable()) {
    // The backend's follow ends on its own at the job's end; give it up to 10 s to hand over the
    // last lines (an SSE log stream that never closes is why there is a limit at all).
    const std::int64_t drain_until = clock.SteadyMs() + 10'000;
    while (!logs_done && clock.SteadyMs() < drain_until) clock.SleepMs(50);
    stop_logs = true;
    logs.join();
  }
  publisher.State(final);
  publisher.End(final);
  return exit_code;
}

}  // namespace dsx::jobs
