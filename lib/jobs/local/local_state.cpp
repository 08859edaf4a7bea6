// local.json reading and writing (local_state.hpp).
#include "jobs/local/local_state.hpp"

#include "core/fs.hpp"
#include "core/json_limits.hpp"

namespace dsx::jobs {
namespace {

Status Int(const nlohmann::json& j, const char* key, long long* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer()) return Status::Failed(std::string("'") + key + "' must be an integer");
  *out = it->get<long long>();
  return Status::Ok();
}

Status OptInt(const nlohmann::json& j, const char* key, std::optional<int>* out) {
  long long v = 0;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  DSX_RETURN_IF_ERROR(Int(j, key, &v));
  *out = static_cast<int>(v);
  return Status::Ok();
}

nlohmann::json OrNull(const std::optional<int>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json ToJson(const LocalState& s) {
  nlohmann::json j = {{"supervisor_pid", s.supervisor_pid},
                      {"supervisor_start", s.supervisor_start},
                      {"pgid", s.pgid},
                      {"state", JobStateName(s.state)},
                      {"exit_code", OrNull(s.exit_code)},
                      {"signal", OrNull(s.signal)},
                      {"started_ms", s.started_ms},
                      {"finished_ms", s.finished_ms}};
  if (!s.error.empty()) {
    j["error"] = s.error;
    j["error_code"] = s.error_code;
  }
  return j;
}

Result<LocalState> LocalStateFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::Failed("not a JSON object");
  LocalState s;
  DSX_RETURN_IF_ERROR(Int(j, "supervisor_pid", &s.supervisor_pid));
  DSX_RETURN_IF_ERROR(Int(j, "supervisor_start", &s.supervisor_start));
  DSX_RETURN_IF_ERROR(Int(j, "pgid", &s.pgid));
  auto state = j.find("state");
  if (state == j.end() || !state->is_string()) return Status::Failed("'state' must be a string");
  auto parsed = ParseJobState(state->get<std::string>());
  if (!parsed.ok()) return Status::Failed("'state': " + parsed.status().message());
  s.state = *parsed;
  DSX_RETURN_IF_ERROR(OptInt(j, "exit_code", &s.exit_code));
  DSX_RETURN_IF_ERROR(OptInt(j, "signal", &s.signal));
  long long ms = 0;
  DSX_RETURN_IF_ERROR(Int(j, "started_ms", &ms));
  s.started_ms = ms;
  ms = 0;
  DSX_RETURN_IF_ERROR(Int(j, "finished_ms", &ms));
  s.finished_ms = ms;
  if (auto e = j.find("error"); e != j.end()) {
    if (!e->is_string()) return Status::Failed("'error' must be a string");
    s.error = e->get<std::string>();
    long long code = 1;
    DSX_RETURN_IF_ERROR(Int(j, "error_code", &code));
    s.error_code = static_cast<int>(code);
  }
  return s;
}

Result<LocalState> ReadLocalState(const std::string& jobdir) {
  const std::string path = jobdir + "/" + kLocalStateFile;
  auto text = fs::ReadFile(path);
  if (!text.ok()) return text.status();
  auto j = ParseJsonOrDiscarded(*text);
  if (j.is_discarded()) return Status::Failed("'" + path + "' is not valid JSON");
  auto s = LocalStateFromJson(j);
  if (!s.ok()) return s.status().Wrap("'" + path + "'");
  return s;
}

}  // namespace dsx::jobs
