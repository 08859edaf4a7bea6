// The local backend's supervisor: the body of the detached process (`dsx jobs _supervise JOBDIR`)
// that runs one job on this machine and outlives the dsx that submitted it.
//
// It reads JOBDIR/job.json, starts the request's command as a core ProcessGroup (argv, env
// values and workdir with "{jobdir}" replaced by the folder; environment = its own + request.env
// + DSX_JOB_DIR=JOBDIR; working directory = request.workdir, or the job folder), appends the command's stdout and
// stderr to JOBDIR/output.log, and keeps JOBDIR/local.json (replaced atomically at every change) saying where the job
// stands:
//   {"supervisor_pid": 4242, "supervisor_start": 1234567, "pgid": 4243, "state": "running",
//    "exit_code": null, "signal": null, "started_ms": ..., "finished_ms": ..., "error": "..."}
// supervisor_start is field 22 of /proc/<pid>/stat (start time in clock ticks since boot): a pid
// alone may have been reused after a reboot or a long time, pid + start time names one process.
// "error" is set only when the command could not be started ("cannot run 'x': No such file or
// directory"); "error_code" then holds the dsx exit code of that error (3 not found, 2 usage).
//
// Ending: the command exits (0 = succeeded, else failed), request.timeout_s passes (timeout) or
// the supervisor gets SIGTERM, SIGINT or SIGHUP (cancelled: what LocalBackend::Cancel sends). In
// each case whatever is left of the process group is stopped with ProcessGroup::Stop (SIGTERM,
// then SIGKILL after the grace period), so no member of the job outlives it.
#pragma once

#include <chrono>
#include <string>

#include "jobs/local/proc_info.hpp"  // ProcessStartTime

namespace dsx::jobs {

struct SupervisorOptions {
  // SIGTERM -> SIGKILL for the job's process group; $DSX_JOBS_GRACE_MS (set by LocalBackend for
  // the supervisor it starts) overrides it.
  std::chrono::milliseconds grace{5000};
};

// Runs the job in `jobdir` to the end; returns the process exit code (0 once the job's outcome
// is recorded in local.json, whatever it was; 1 when even that was impossible, with the reason
// on stderr, which the backend points to JOBDIR/supervisor.log).
int RunSupervisor(const std::string& jobdir, const SupervisorOptions& options = {});

}  // namespace dsx::jobs
