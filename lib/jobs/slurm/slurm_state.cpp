// Parsing Slurm client output: see slurm_state.hpp.
#include "jobs/slurm/slurm_state.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <utility>
#include <vector>

namespace dsx::jobs {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool ValidJobId(std::string_view id) {
  auto us = id.find('_');
  if (us == std::string_view::npos) return AllDigits(id);
  return AllDigits(id.substr(0, us)) && AllDigits(id.substr(us + 1));
}

bool ValidClusterName(std::string_view c) {
  for (char ch : c) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.')) return false;
  }
  return true;
}

std::optional<int> ToInt(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The value of "Key=" in scontrol's "Key=value Key=value" lines (up to the next space), or
// nullopt. Keys are matched at a word start so "ExitCode" does not match "DerivedExitCode".
std::optional<std::string_view> Field(std::string_view text, std::string_view key) {
  std::string needle = std::string(key) + "=";
  for (std::size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) {
    if (at > 0 && !std::isspace(static_cast<unsigned char>(text[at - 1]))) continue;
    std::size_t start = at + needle.size();
    std::size_t end = start;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    return text.substr(start, end - start);
  }
  return std::nullopt;
}

bool ContainsNoCase(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    bool match = true;
    for (std::size_t j = 0; j < needle.size() && match; ++j) {
      match =
          std::tolower(static_cast<unsigned char>(hay[i + j])) == std::tolower(static_cast<unsigned char>(needle[j]));
    }
    if (match) return true;
  }
  return false;
}

}  // namespace

Result<JobState> MapSlurmState(std::string_view word) {
  word = Trim(word);
  // scontrol prints "CANCELLED by 0"; squeue may print a trailing '+' for extra state flags.
  word = word.substr(0, word.find_first_of(" +"));
  static const std::array<std::pair<std::string_view, JobState>, 40> kStates{{
      {"PENDING", JobState::kQueued},
      {"PD", JobState::kQueued},
      {"CONFIGURING", JobState::kQueued},
      {"CF", JobState::kQueued},
      {"REQUEUED", JobState::kQueued},
      {"RQ", JobState::kQueued},
      {"REQUEUE_HOLD", JobState::kQueued},
      {"RH", JobState::kQueued},
      {"REQUEUE_FED", JobState::kQueued},
      {"RF", JobState::kQueued},
      {"RESV_DEL_HOLD", JobState::kQueued},
      {"RD", JobState::kQueued},
      {"RUNNING", JobState::kRunning},
      {"R", JobState::kRunning},
      {"COMPLETING", JobState::kRunning},
      {"CG", JobState::kRunning},
      {"SUSPENDED", JobState::kRunning},
      {"S", JobState::kRunning},
      {"STOPPED", JobState::kRunning},
      {"ST", JobState::kRunning},
      {"SIGNALING", JobState::kRunning},
      {"SI", JobState::kRunning},
      {"STAGE_OUT", JobState::kRunning},
      {"SO", JobState::kRunning},
      {"RESIZING", JobState::kRunning},
      {"COMPLETED", JobState::kSucceeded},
      {"CD", JobState::kSucceeded},
      {"CANCELLED", JobState::kCancelled},
      {"CA", JobState::kCancelled},
      {"FAILED", JobState::kFailed},
      {"F", JobState::kFailed},
      {"NODE_FAIL", JobState::kFailed},
      {"OUT_OF_MEMORY", JobState::kFailed},
      {"BOOT_FAIL", JobState::kFailed},
      {"DEADLINE", JobState::kFailed},
      {"PREEMPTED", JobState::kFailed},
      {"SPECIAL_EXIT", JobState::kFailed},
      {"REVOKED", JobState::kCancelled},
      {"TIMEOUT", JobState::kTimeout},
      {"TO", JobState::kTimeout},
  }};
  for (const auto& [name, state] : kStates) {
    if (word == name) return state;
  }
  return Status::Failed("unknown Slurm job state '" + std::string(word) + "'");
}

Result<ScontrolJob> ParseScontrolJob(std::string_view text) {
  auto state = Field(text, "JobState");
  if (!state) return Status::Failed("scontrol show job: no JobState= in its answer");
  ScontrolJob job;
  job.state = std::string(*state);
  if (auto r = Field(text, "Reason")) job.reason = std::string(*r);
  if (auto n = Field(text, "NodeList")) job.node_list = std::string(*n);
  if (auto e = Field(text, "ExitCode")) {
    auto colon = e->find(':');
    job.exit_code = ToInt(e->substr(0, colon));
    if (colon != std::string_view::npos) job.exit_signal = ToInt(e->substr(colon + 1));
  }
  return job;
}

Result<SlurmJobRef> ParseSbatchParsable(std::string_view out) {
  std::string_view line = Trim(out);
  // Warnings go to stderr, but be lenient about a multi-line stdout: the id is the last line.
  if (auto nl = line.rfind('\n'); nl != std::string_view::npos) line = Trim(line.substr(nl + 1));
  SlurmJobRef ref;
  auto semi = line.find(';');
  ref.id = std::string(line.substr(0, semi));
  if (semi != std::string_view::npos) ref.cluster = std::string(line.substr(semi + 1));
  if (!ValidJobId(ref.id) || !ValidClusterName(ref.cluster)) {
    return Status::Failed("sbatch --parsable printed '" + std::string(Trim(out)) + "', not a job id");
  }
  return ref;
}

Result<SlurmJobRef> ParseBackendId(std::string_view backend_id) {
  auto ref = ParseSbatchParsable(backend_id);
  if (!ref.ok() || backend_id.empty() || backend_id != Trim(backend_id)) {
    std::string msg = "not a Slurm job id: '";  // (built in steps: GCC 12 -Wrestrict misfires on "'" + string)
    msg.append(backend_id);
    msg += "'";
    return Status::NotFound(msg);
  }
  return ref;
}

bool SaysInvalidJobId(std::string_view err) { return ContainsNoCase(err, "invalid job id"); }

Status SlurmError(std::string_view tool, int exit_code, std::string_view err) {
  // "sbatch: error: Batch job submission failed: Invalid partition name specified" -> the part
  // after the last "error: ", each distinct line once.
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= err.size()) {
    std::size_t end = err.find('\n', start);
    if (end == std::string_view::npos) end = err.size();
    std::string_view line = Trim(err.substr(start, end - start));
    start = end + 1;
    if (line.empty()) continue;
    if (auto e = line.rfind("error: "); e != std::string_view::npos) line = line.substr(e + 7);
    if (line.starts_with(tool) && line.substr(tool.size()).starts_with(": ")) line.remove_prefix(tool.size() + 2);
    if (line.starts_with("Batch job submission failed: ")) line.remove_prefix(29);
    bool seen = false;
    for (const auto& l : lines) seen = seen || l == line;
    if (!seen) lines.emplace_back(line);
  }
  std::string msg;
  for (const auto& l : lines) msg += (msg.empty() ? "" : "; ") + l;
  if (msg.empty()) msg = "exited with status " + std::to_string(exit_code) + " and said nothing";
  msg = std::string(tool) + ": " + msg;

  static constexpr std::string_view kUnreachable[] = {"Unable to contact slurm controller",
                                                      "Socket timed out",
                                                      "Connection refused",
                                                      "Communication connection failure",
                                                      "Zero Bytes were transmitted",
                                                      "Protocol authentication error",
                                                      "Munge",
                                                      "Unable to establish controller machine",
                                                      "Could not establish a configuration source"};
  for (auto s : kUnreachable) {
    if (ContainsNoCase(err, s)) return Status::Unavailable(msg);
  }
  static constexpr std::string_view kRequest[] = {"Invalid partition",
                                                  "Invalid account",
                                                  "Invalid qos",
                                                  "Invalid generic resource",
                                                  "Invalid Trackable RESource",
                                                  "Requested node configuration is not available",
                                                  "Requested time limit is invalid",
                                                  "Memory specification can not be satisfied",
                                                  "More processors requested than permitted",
                                                  "Node count specification invalid",
                                                  "Job violates accounting/QOS policy",
                                                  "User's group not permitted to use this partition",
                                                  "Access/permission denied",
                                                  "Invalid --"};
  for (auto s : kRequest) {
    if (ContainsNoCase(err, s)) return Status::Usage(msg);
  }
  return Status::Failed(msg);
}

}  // namespace dsx::jobs
