// JSON forms of the jobs vocabulary and job ids (job.hpp).
//
// Reading is strict about types: a stored job that was edited by hand or damaged must fail with
// the name of the bad field, never load as a silently different job. Missing fields take their
// defaults (a job.json written by an older dsx lacks newer fields); unknown fields are ignored
// (one written by a newer dsx may have more).
#include "jobs/job.hpp"

#include <cstdio>
#include <ctime>
#include <random>

namespace dsx::jobs {
namespace {

constexpr JobState kAllStates[] = {JobState::kQueued,    JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                                   JobState::kCancelled, JobState::kTimeout, JobState::kLost};

// Reads the fields of one JSON object; the first type error wins and names the field by its
// full path ("request.resources.gpus"), so the message says exactly what to fix.
class Reader {
 public:
  Reader(const nlohmann::json& j, std::string prefix) : j_(j), prefix_(std::move(prefix)) {}

  Status CheckObject(const std::string& what) const {
    if (j_.is_object()) return Status::Ok();
    return Bad(what.empty() ? std::string("the document must be a JSON object") : "'" + what + "' must be an object");
  }
  const nlohmann::json* Get(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  std::string Path(const char* key) const { return prefix_ + key; }

  Status String(const char* key, std::string* out) const {
    const auto* v = Get(key);
    if (!v) return Status::Ok();
    if (!v->is_string()) return Bad("'" + Path(key) + "' must be a string");
    *out = v->get<std::string>();
    return Status::Ok();
  }
  Status Int64(const char* key, std::int64_t* out, std::int64_t min = INT64_MIN) const {
    const auto* v = Get(key);
    if (!v) return Status::Ok();
    if (!v->is_number_integer()) return Bad("'" + Path(key) + "' must be an integer");
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      return Bad("'" + Path(key) + "' is too large");
    const auto x = v->get<std::int64_t>();
    if (x < min) return Bad("'" + Path(key) + "' must be >= " + std::to_string(min));
    *out = x;
    return Status::Ok();
  }
  Status Int(const char* key, int* out, int min = INT32_MIN) const {
    std::int64_t x = *out;
    DSX_RETURN_IF_ERROR(Int64(key, &x, min));
    if (x > INT32_MAX) return Bad("'" + Path(key) + "' is too large");
    *out = static_cast<int>(x);
    return Status::Ok();
  }
  Status StringList(const char* key, std::vector<std::string>* out) const {
    const auto* v = Get(key);
    if (!v) return Status::Ok();
    if (!v->is_array()) return Bad("'" + Path(key) + "' must be an array of strings");
    out->clear();
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) return Bad("'" + Path(key) + "[" + std::to_string(i) + "]' must be a string");
      out->push_back((*v)[i].get<std::string>());
    }
    return Status::Ok();
  }
  Status StringMap(const char* key, std::map<std::string, std::string>* out) const {
    const auto* v = Get(key);
    if (!v) return Status::Ok();
    if (!v->is_object()) return Bad("'" + Path(key) + "' must be an object of strings");
    out->clear();
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it->is_string()) return Bad("'" + Path(key) + "." + it.key() + "' must be a string");
      (*out)[it.key()] = it->get<std::string>();
    }
    return Status::Ok();
  }

 private:
  static Status Bad(std::string msg) { return Status::Failed(std::move(msg)); }
  const nlohmann::json& j_;
  std::string prefix_;
};

Status ResourcesFromJson(const nlohmann::json& j, const std::string& prefix, Resources* r) {
  Reader in(j, prefix);
  DSX_RETURN_IF_ERROR(in.CheckObject(prefix.substr(0, prefix.size() - 1)));
  DSX_RETURN_IF_ERROR(in.String("flavor", &r->flavor));
  DSX_RETURN_IF_ERROR(in.Int("gpus", &r->gpus, 0));
  DSX_RETURN_IF_ERROR(in.String("gpu_type", &r->gpu_type));
  DSX_RETURN_IF_ERROR(in.Int("cpus", &r->cpus, 0));
  DSX_RETURN_IF_ERROR(in.Int("mem_gb", &r->mem_gb, 0));
  DSX_RETURN_IF_ERROR(in.String("partition", &r->partition));
  DSX_RETURN_IF_ERROR(in.String("account", &r->account));
  DSX_RETURN_IF_ERROR(in.String("image", &r->image));
  DSX_RETURN_IF_ERROR(in.String("namespace", &r->namespace_));
  return Status::Ok();
}

nlohmann::json ToJson(const Resources& r) {
  return {{"flavor", r.flavor},   {"gpus", r.gpus},     {"gpu_type", r.gpu_type},
          {"cpus", r.cpus},       {"mem_gb", r.mem_gb}, {"partition", r.partition},
          {"account", r.account}, {"image", r.image},   {"namespace", r.namespace_}};
}

// `prefix` is "" for a bare request and "request." inside a record.
Result<JobRequest> RequestFromJsonAt(const nlohmann::json& j, const std::string& prefix) {
  JobRequest r;
  Reader in(j, prefix);
  DSX_RETURN_IF_ERROR(in.CheckObject(prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1)));
  DSX_RETURN_IF_ERROR(in.String("name", &r.name));
  DSX_RETURN_IF_ERROR(in.String("kind", &r.kind));
  DSX_RETURN_IF_ERROR(in.String("backend", &r.backend));
  DSX_RETURN_IF_ERROR(in.StringList("command", &r.command));
  DSX_RETURN_IF_ERROR(in.StringMap("env", &r.env));
  DSX_RETURN_IF_ERROR(in.StringList("secret_env", &r.secret_env));
  DSX_RETURN_IF_ERROR(in.StringMap("files", &r.files));
  DSX_RETURN_IF_ERROR(in.String("workdir", &r.workdir));
  DSX_RETURN_IF_ERROR(in.Int64("timeout_s", &r.timeout_s, 0));
  if (const auto* res = in.Get("resources"))
    DSX_RETURN_IF_ERROR(ResourcesFromJson(*res, in.Path("resources") + ".", &r.resources));
  DSX_RETURN_IF_ERROR(in.StringMap("labels", &r.labels));
  if (const auto* meta = in.Get("meta")) {
    if (!meta->is_object()) return Status::Failed("'" + in.Path("meta") + "' must be an object");
    r.meta = *meta;
  }
  return r;
}

Result<JobStatus> StatusFromJsonAt(const nlohmann::json& j, const std::string& prefix) {
  JobStatus s;
  Reader in(j, prefix);
  DSX_RETURN_IF_ERROR(in.CheckObject(prefix.substr(0, prefix.size() - 1)));
  std::string state = JobStateName(s.state);
  DSX_RETURN_IF_ERROR(in.String("state", &state));
  auto parsed = ParseJobState(state);
  if (!parsed.ok()) return Status::Failed("'" + in.Path("state") + "': " + parsed.status().message());
  s.state = *parsed;
  DSX_RETURN_IF_ERROR(in.String("backend_state", &s.backend_state));
  DSX_RETURN_IF_ERROR(in.String("detail", &s.detail));
  if (const auto* code = in.Get("exit_code"); code && !code->is_null()) {
    int c = 0;
    DSX_RETURN_IF_ERROR(in.Int("exit_code", &c));
    s.exit_code = c;
  }
  return s;
}

bool Digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int Num(std::string_view s) {
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

}  // namespace

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
    case JobState::kTimeout: return "timeout";
    case JobState::kLost: return "lost";
  }
  return "unknown";
}

Result<JobState> ParseJobState(std::string_view name) {
  for (JobState s : kAllStates)
    if (name == JobStateName(s)) return s;
  return Status::Usage("unknown job state '" + std::string(name) +
                       "' (queued, running, succeeded, failed, cancelled, timeout, lost)");
}

bool IsTerminal(JobState state) { return state != JobState::kQueued && state != JobState::kRunning; }

nlohmann::json ToJson(const JobRequest& r) {
  return {{"name", r.name},
          {"kind", r.kind},
          {"backend", r.backend},
          {"command", r.command},
          {"env", r.env},
          {"secret_env", r.secret_env},
          {"files", r.files},
          {"workdir", r.workdir},
          {"timeout_s", r.timeout_s},
          {"resources", ToJson(r.resources)},
          {"labels", r.labels},
          {"meta", r.meta.is_object() ? r.meta : nlohmann::json::object()}};
}

nlohmann::json ToJson(const JobStatus& s) {
  return {{"state", JobStateName(s.state)},
          {"backend_state", s.backend_state},
          {"detail", s.detail},
          {"exit_code", s.exit_code ? nlohmann::json(*s.exit_code) : nlohmann::json(nullptr)}};
}

nlohmann::json ToJson(const JobRecord& r) {
  return {{"id", r.id},
          {"request", ToJson(r.request)},
          {"backend_id", r.backend_id},
          {"url", r.url},
          {"session", r.session},
          {"server", r.server},
          {"status", ToJson(r.status)},
          {"created_ms", r.created_ms},
          {"updated_ms", r.updated_ms},
          {"started_ms", r.started_ms},
          {"finished_ms", r.finished_ms}};
}

Result<JobRequest> RequestFromJson(const nlohmann::json& j) { return RequestFromJsonAt(j, ""); }

Result<JobRecord> RecordFromJson(const nlohmann::json& j) {
  JobRecord r;
  Reader in(j, "");
  DSX_RETURN_IF_ERROR(in.CheckObject(""));
  const auto* id = in.Get("id");
  if (!id) return Status::Failed("'id' is missing");
  DSX_RETURN_IF_ERROR(in.String("id", &r.id));
  if (!IsValidJobId(r.id)) return Status::Failed("'id' is not a job id: '" + r.id + "'");
  const auto* request = in.Get("request");
  if (!request) return Status::Failed("'request' is missing");
  auto req = RequestFromJsonAt(*request, "request.");
  if (!req.ok()) return req.status();
  r.request = std::move(*req);
  DSX_RETURN_IF_ERROR(in.String("backend_id", &r.backend_id));
  DSX_RETURN_IF_ERROR(in.String("url", &r.url));
  DSX_RETURN_IF_ERROR(in.String("session", &r.session));
  DSX_RETURN_IF_ERROR(in.String("server", &r.server));
  if (const auto* st = in.Get("status")) {
    auto s = StatusFromJsonAt(*st, "status.");
    if (!s.ok()) return s.status();
    r.status = std::move(*s);
  }
  DSX_RETURN_IF_ERROR(in.Int64("created_ms", &r.created_ms, 0));
  DSX_RETURN_IF_ERROR(in.Int64("updated_ms", &r.updated_ms, 0));
  DSX_RETURN_IF_ERROR(in.Int64("started_ms", &r.started_ms, 0));
  DSX_RETURN_IF_ERROR(in.Int64("finished_ms", &r.finished_ms, 0));
  return r;
}

std::string NewJobId(std::int64_t now_ms) {
  const std::time_t secs = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // std::random_device reads the kernel's generator (getrandom or /dev/urandom) on Linux, so two
  // dsx processes submitting in the same second do not share a seed.
  static thread_local std::random_device rd;
  const unsigned bits = rd() & 0xFFFFFFu;
  char buf[80];  // ample for any int fields (the compiler cannot know they are small)
  std::snprintf(buf, sizeof buf, "j-%04d%02d%02d-%02d%02d%02d-%06x", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, bits);
  return buf;
}

bool IsValidJobId(std::string_view id) {
  // j-YYYYMMDD-HHMMSS-xxxxxx: 24 characters, lowercase hex.
  if (id.size() != 24 || id.substr(0, 2) != "j-" || id[10] != '-' || id[17] != '-') return false;
  const auto date = id.substr(2, 8), time = id.substr(11, 6), rnd = id.substr(18, 6);
  if (!Digits(date) || !Digits(time)) return false;
  for (char c : rnd)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  const int month = Num(date.substr(4, 2)), day = Num(date.substr(6, 2));
  const int hour = Num(time.substr(0, 2)), minute = Num(time.substr(2, 2)), second = Num(time.substr(4, 2));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour < 24 && minute < 60 && second < 61;
}

Status CheckRequestText(const JobRequest& request) {
  try {
    (void)ToJson(request).dump();
  } catch (const nlohmann::json::type_error&) {
    return Status::Usage(
        "the job request holds text that is not valid UTF-8 (command, environment, files, name or labels)");
  }
  return Status::Ok();
}

}  // namespace dsx::jobs
