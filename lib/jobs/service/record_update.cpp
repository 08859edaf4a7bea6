// ApplyStatus: see record_update.hpp.
#include "jobs/service/record_update.hpp"

namespace dsx::jobs {

RecordChange ApplyStatus(JobRecord& record, const JobStatus& status, std::int64_t now_ms) {
  RecordChange c;
  if (IsTerminal(record.status.state)) return c;
  const JobStatus& old = record.status;
  c.state_changed = old.state != status.state;
  c.changed = c.state_changed || old.backend_state != status.backend_state || old.detail != status.detail ||
              old.exit_code != status.exit_code;
  if (!c.changed) return c;
  record.status = status;
  record.updated_ms = now_ms;
  if (record.started_ms == 0 && status.state != JobState::kQueued) record.started_ms = now_ms;
  if (IsTerminal(status.state) && record.finished_ms == 0) record.finished_ms = now_ms;
  return c;
}

nlohmann::json StateEvent(const JobRecord& record, std::int64_t now_ms) {
  nlohmann::json e = {{"ms", now_ms},
                      {"state", JobStateName(record.status.state)},
                      {"backend_state", record.status.backend_state},
                      {"detail", record.status.detail}};
  if (record.status.exit_code) e["exit_code"] = *record.status.exit_code;
  return e;
}

}  // namespace dsx::jobs
