// The watcher's loop over an open JobService (RunWatcher in job_service.hpp opens one and calls
// this), so unit tests can drive it with a fake backend and a ManualClock.
#pragma once

#include <string>

#include "jobs/service/job_service.hpp"

namespace dsx::jobs {

// Follows job `id` until it is terminal, with the service's options (token, clock, poll
// interval). Returns 0 once the end is recorded; the exit code of the error when the job cannot
// be read at the start or its folder disappeared while watching.
int WatchJob(JobService& service, const std::string& id);

}  // namespace dsx::jobs
