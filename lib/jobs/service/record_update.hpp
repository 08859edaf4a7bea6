// How a backend's answer changes a job's record: the one rule shared by `dsx jobs status`, cancel
// and the watcher, so the three never disagree about timestamps or which changes are events.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "jobs/job.hpp"

namespace dsx::jobs {

struct RecordChange {
  bool changed = false;        // anything in the record differs (state.json must be saved)
  bool state_changed = false;  // the state itself differs (an event is appended)
};

// Applies `status` to `record` at `now_ms`: updated_ms always when something changed; started_ms
// the first time the job is seen running (or ends without having been seen running); finished_ms
// when it first turns terminal. A terminal record never changes again: a backend that later
// forgets a finished job (HF deletes it, Slurm purges it) must not turn "succeeded" into "lost".
RecordChange ApplyStatus(JobRecord& record, const JobStatus& status, std::int64_t now_ms);

// The events.jsonl line for the record's current state.
nlohmann::json StateEvent(const JobRecord& record, std::int64_t now_ms);

}  // namespace dsx::jobs
