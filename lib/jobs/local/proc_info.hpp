// What the local backend reads about processes from /proc (Linux; documented in proc(5)).
// Elsewhere these answer "unknown" (-1, nothing found), and the backend then takes a supervisor
// whose job is not finished as gone (Poll says lost) rather than guess.
#pragma once

#include <string>

namespace dsx::jobs {

// Start time of `pid` (field 22 of /proc/<pid>/stat, clock ticks since boot), or -1 when there is
// no such process or it has ended (a zombie counts as ended). pid + start time names one process:
// a pid reused after the first one ended, or after a reboot, has another start time.
long long ProcessStartTime(int pid);

// SIGKILLs the live members of process group `pgid` whose environment holds
// DSX_JOB_DIR=<jobdir> (the supervisor sets it for every job; children inherit it), and returns
// how many it signalled. What is left of a job whose supervisor died with SIGKILL: its leader
// died with it (PR_SET_PDEATHSIG), `cmd &` children did not. Both checks together make sure a
// group id reused by another process is never touched.
int KillJobStrays(long long pgid, const std::string& jobdir);

}  // namespace dsx::jobs
