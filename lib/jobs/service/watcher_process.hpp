// Starting the watcher (`dsx jobs _watch ID`) as a detached process: double fork + setsid so it
// outlives the dsx that submitted the job and its terminal (no SIGHUP, no controlling tty), stdin
// and stdout on /dev/null, stderr appended to <jobdir>/watch.log. The session token travels in
// its environment as DSX_TOKEN, never in argv (argv is world-readable in /proc and `ps`).
#pragma once

#include <string>
#include <vector>

#include "core/status.hpp"
#include "jobs/service/job_service.hpp"

namespace dsx::jobs {

// The watcher's argv: self_argv + jobs _watch ID --jobs-dir ROOT [--config PATH].
std::vector<std::string> WatcherArgv(const ServiceOptions& options, const std::string& registry_root,
                                     const std::string& id);

// Starts it and returns once exec succeeded (kUnavailable with the reason when it did not).
Status StartWatcherProcess(const ServiceOptions& options, const std::string& registry_root, const std::string& jobdir,
                           const std::string& id);

}  // namespace dsx::jobs
