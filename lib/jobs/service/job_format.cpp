// Text forms of jobs: see job_format.hpp.
#include "jobs/service/job_format.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace dsx::jobs {

std::string FormatTimeUtc(std::int64_t ms) {
  if (ms <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string FormatState(const JobStatus& s) {
  std::string out = JobStateName(s.state);
  std::string extra;
  if (s.exit_code && s.state != JobState::kSucceeded) extra = "exit " + std::to_string(*s.exit_code);
  if (!s.detail.empty()) extra += (extra.empty() ? "" : ": ") + s.detail;
  if (!extra.empty()) out += " (" + extra + ")";
  return out;
}

std::string FormatJobTable(const std::vector<JobRecord>& records) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-24s %-9s %-7s %-10s %-20s %s\n", "ID", "KIND", "BACKEND", "STATE", "CREATED",
                "NAME");
  out += line;
  for (const auto& r : records) {
    std::snprintf(line, sizeof line, "%-24s %-9s %-7s %-10s %-20s %s\n", r.id.c_str(), r.request.kind.c_str(),
                  r.request.backend.c_str(), JobStateName(r.status.state), FormatTimeUtc(r.created_ms).c_str(),
                  r.request.name.empty() ? "-" : r.request.name.c_str());
    out += line;
  }
  return out;
}

std::string FormatJobStatus(const JobRecord& r, const std::string& jobdir) {
  std::string out;
  auto row = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    out += key;
    out.append(10 - std::min<std::size_t>(9, std::string(key).size()), ' ');
    out += value + "\n";
  };
  row("id", r.id);
  row("name", r.request.name);
  row("kind", r.request.kind);
  row("backend", r.request.backend + (r.backend_id.empty() ? "" : " (id " + r.backend_id + ")"));
  row("state", FormatState(r.status) + (r.status.backend_state.empty() ? "" : " [" + r.status.backend_state + "]"));
  if (r.status.exit_code) row("exit", std::to_string(*r.status.exit_code));
  row("created", FormatTimeUtc(r.created_ms));
  row("started", FormatTimeUtc(r.started_ms));
  row("finished", FormatTimeUtc(r.finished_ms));
  row("url", r.url);
  if (!r.session.empty()) row("session", r.session + " on " + r.server);
  row("folder", jobdir);
  return out;
}

}  // namespace dsx::jobs
