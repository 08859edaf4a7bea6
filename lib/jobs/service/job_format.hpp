// How jobs read for people: the `dsx jobs list` table and the `dsx jobs status` block. Shared by
// `dsx jobs` and `dsx finetune` (the same jobs, filtered) so both print them the same way; the
// machine-readable form is ToJson(JobRecord) (job.hpp), never these.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jobs/job.hpp"

namespace dsx::jobs {

// "2026-12-07 01:30:00Z"; "-" for 0.
std::string FormatTimeUtc(std::int64_t ms);
// "running", "failed (exit 3)", "queued (PENDING: waiting for resources)".
std::string FormatState(const JobStatus& status);
// The list table: a header line and one line per job, each ending in '\n'.
std::string FormatJobTable(const std::vector<JobRecord>& records);
// The status block: "field  value" lines; `jobdir` is shown as the job's folder.
std::string FormatJobStatus(const JobRecord& record, const std::string& jobdir);

}  // namespace dsx::jobs
