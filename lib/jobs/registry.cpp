// The job registry on disk (registry.hpp): a folder per job, built aside and renamed into place.
#include "jobs/registry.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/fs.hpp"
#include "core/json_limits.hpp"

namespace dsx::jobs {
namespace {

namespace stdfs = std::filesystem;

constexpr char kTmpPrefix[] = ".tmp-";
constexpr auto kTmpMaxAge = std::chrono::hours(1);  // older: its dsx is surely gone

// The registry's own files and the backends' (local.json, output.log ...): a request file of the
// same name would clobber them or be clobbered.
constexpr const char* kReserved[] = {"job.json",   "state.json",     "events.jsonl", "local.json",
                                     "output.log", "supervisor.log", "watcher.log"};

// The fields of a record that change after Create; they alone go to state.json.
constexpr const char* kMutableFields[] = {"backend_id", "url",        "session",    "server",
                                          "status",     "updated_ms", "started_ms", "finished_ms"};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Status CheckFileName(const std::string& name) {
  if (name.empty()) return Status::Usage("a job file needs a name");
  if (name.find('/') != std::string::npos || name.find("..") != std::string::npos ||
      name.find('\0') != std::string::npos || name == ".")
    return Status::Usage("job file name '" + name + "' must be a plain file name (no '/', no '..')");
  if (name[0] == '.') return Status::Usage("job file name '" + name + "' must not start with '.'");
  for (const char* r : kReserved)
    if (name == r) return Status::Usage("job file name '" + name + "' is reserved for dsx's own use");
  return Status::Ok();
}

// Plain write + fsync: used inside the .tmp- folder, where nobody reads until the rename.
Status WriteSynced(const stdfs::path& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Failed("cannot create '" + path.string() + "': " + std::strerror(errno));
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string err = std::strerror(errno);
      ::close(fd);
      return Status::Failed("cannot write '" + path.string() + "': " + err);
    }
    off += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const std::string err = synced ? "" : std::strerror(errno);
  ::close(fd);
  if (!synced) return Status::Failed("cannot sync '" + path.string() + "': " + err);
  return Status::Ok();
}

Status Damaged(const std::string& id, const char* file, const std::string& why) {
  return Status::Failed("job '" + id + "': " + file + " is damaged: " + why);
}

Result<nlohmann::json> ParseJsonFile(const std::string& id, const stdfs::path& path, const char* file) {
  auto text = fs::ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return Damaged(id, file, "missing");
    return Damaged(id, file, text.status().message());
  }
  // Nested past the limit would parse, then overflow the stack when copied or printed.
  if (JsonDepth(*text) > kMaxJsonDepth) {
    return Damaged(id, file, "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  auto j = ParseJsonOrDiscarded(*text);
  if (j.is_discarded()) return Damaged(id, file, "not valid JSON");
  if (!j.is_object()) return Damaged(id, file, "not a JSON object");
  return j;
}

}  // namespace

std::string DefaultRegistryRoot() {
  if (auto dir = Env("DSX_JOBS_DIR"); !dir.empty()) return dir;
  if (auto xdg = Env("XDG_DATA_HOME"); !xdg.empty()) return xdg + "/dsx/jobs";
  auto home = Env("HOME");
  return (home.empty() ? std::string(".") : home) + "/.local/share/dsx/jobs";
}

Result<Registry> Registry::Open(std::string root) {
  if (root.empty()) return Status::Usage("the job registry needs a folder");
  auto made = fs::EnsureDir(root);
  if (!made.ok()) return Status::Unavailable("job registry: " + made.message());
  if (::access(root.c_str(), W_OK | X_OK) != 0)
    return Status::Unavailable("job registry '" + root + "' is not writable: " + std::strerror(errno));
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return Registry(std::move(root));
}

std::string Registry::Dir(const std::string& id) const { return root_ + "/" + id; }

Result<JobRecord> Registry::Create(const JobRequest& request, std::int64_t now_ms) {
  for (const auto& [name, content] : request.files) DSX_RETURN_IF_ERROR(CheckFileName(name));
  DSX_RETURN_IF_ERROR(CheckRequestText(request));  // job.json must be JSON: UTF-8 only
  JobRecord record;
  record.request = request;
  record.created_ms = record.updated_ms = now_ms;

  // A fresh id whose folder (finished or half-built) does not exist: 24 random bits make a
  // clash within one second unlikely, not impossible.
  stdfs::path tmp;
  for (int attempt = 0;; ++attempt) {
    if (attempt == 20) return Status::Failed("cannot find a free job id in '" + root_ + "'");
    record.id = NewJobId(now_ms);
    tmp = stdfs::path(root_) / (kTmpPrefix + record.id);
    std::error_code ec;
    if (stdfs::exists(Dir(record.id), ec)) continue;
    if (::mkdir(tmp.c_str(), 0755) == 0) break;
    if (errno != EEXIST) return Status::Unavailable("cannot create '" + tmp.string() + "': " + std::strerror(errno));
  }

  auto fail = [&](const Status& s) -> Status {
    std::error_code ec;
    stdfs::remove_all(tmp, ec);  // nothing half-written stays behind when we can help it
    return s;
  };
  nlohmann::json job = {{"id", record.id}, {"created_ms", now_ms}, {"request", ToJson(record.request)}};
  if (auto s = WriteSynced(tmp / "job.json", job.dump(2) + "\n"); !s.ok()) return fail(s);
  for (const auto& [name, content] : request.files)
    if (auto s = WriteSynced(tmp / name, content); !s.ok()) return fail(s);
  if (auto s = fs::SyncDir(tmp); !s.ok()) return fail(s);
  if (::rename(tmp.c_str(), Dir(record.id).c_str()) != 0)
    return fail(
        Status::Failed("cannot rename '" + tmp.string() + "' to '" + Dir(record.id) + "': " + std::strerror(errno)));
  DSX_RETURN_IF_ERROR(fs::SyncDir(root_));
  return record;
}

Result<JobRecord> Registry::Load(const std::string& id) const {
  if (!IsValidJobId(id)) return Status::Usage("'" + id + "' is not a job id (j-YYYYMMDD-HHMMSS-xxxxxx)");
  const stdfs::path dir = Dir(id);
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) return Status::NotFound("no job '" + id + "' (see dsx jobs list)");

  auto job = ParseJsonFile(id, dir / "job.json", "job.json");
  if (!job.ok()) return job.status();
  auto base = RecordFromJson(*job);
  if (!base.ok()) return Damaged(id, "job.json", base.status().message());
  if (base->id != id) return Damaged(id, "job.json", "it names job '" + base->id + "'");

  if (!stdfs::exists(dir / "state.json", ec)) {
    base->updated_ms = std::max(base->updated_ms, base->created_ms);
    return base;  // freshly created: queued
  }
  auto state = ParseJsonFile(id, dir / "state.json", "state.json");
  if (!state.ok()) return state.status();
  nlohmann::json merged = *job;
  for (const char* key : kMutableFields)
    if (state->contains(key)) merged[key] = (*state)[key];
  auto record = RecordFromJson(merged);
  if (!record.ok()) return Damaged(id, "state.json", record.status().message());
  return record;
}

Status Registry::Save(const JobRecord& record) {
  if (!IsValidJobId(record.id)) return Status::Usage("'" + record.id + "' is not a job id");
  const stdfs::path dir = Dir(record.id);
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) return Status::NotFound("no job '" + record.id + "' (see dsx jobs list)");
  const nlohmann::json all = ToJson(record);
  nlohmann::json state = nlohmann::json::object();
  for (const char* key : kMutableFields) state[key] = all[key];
  // Backend text (details, messages) is display only: bytes that are not UTF-8 become U+FFFD.
  return fs::AtomicWriteFile(dir / "state.json",
                             state.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

Status Registry::AppendEvent(const std::string& id, const nlohmann::json& event) {
  if (!IsValidJobId(id)) return Status::Usage("'" + id + "' is not a job id");
  if (!event.is_object()) return Status::Usage("a job event must be a JSON object");
  const std::string path = Dir(id) + "/events.jsonl";
  std::error_code ec;
  if (!stdfs::is_directory(Dir(id), ec)) return Status::NotFound("no job '" + id + "' (see dsx jobs list)");
  // One write() of the whole line with O_APPEND: concurrent appenders never interleave inside a
  // line (dump() escapes newlines inside strings, so the line is one line).
  const std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Failed("cannot open '" + path + "': " + std::strerror(errno));
  ssize_t n;
  while ((n = ::write(fd, line.data(), line.size())) < 0 && errno == EINTR) {}
  const std::string err = n < 0 ? std::strerror(errno) : "";
  const bool whole = n == static_cast<ssize_t>(line.size());
  const bool synced = whole && ::fsync(fd) == 0;
  ::close(fd);
  if (!whole) return Status::Failed("cannot append to '" + path + "': " + (err.empty() ? "short write" : err));
  if (!synced) return Status::Failed("cannot sync '" + path + "'");
  return Status::Ok();
}

Result<std::vector<JobRecord>> Registry::List(std::vector<std::string>* problems) const {
  std::vector<JobRecord> jobs;
  auto report = [&](std::string line) {
    if (problems) problems->push_back(std::move(line));
  };
  std::error_code ec;
  stdfs::directory_iterator it(root_, ec);
  if (ec) return Status::Unavailable("cannot read the job registry '" + root_ + "': " + ec.message());
  for (; it != stdfs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!it->is_directory(type_ec)) continue;  // stray files (an editor's backup) are not jobs
    if (name.rfind(kTmpPrefix, 0) == 0) {
      // A Create in progress (another dsx) or one whose dsx was killed: only the old ones are
      // certainly abandoned.
      std::error_code time_ec;
      const auto mtime = stdfs::last_write_time(it->path(), time_ec);
      if (time_ec || stdfs::file_time_type::clock::now() - mtime < kTmpMaxAge) continue;
      std::error_code rm_ec;
      stdfs::remove_all(it->path(), rm_ec);
      report("'" + name + "': a job folder left half-written by a dsx that was stopped" +
             (rm_ec ? "; cannot remove it: " + rm_ec.message() : std::string("; removed")));
      continue;
    }
    if (!IsValidJobId(name)) {
      report("'" + name + "': not a job folder (ignored)");
      continue;
    }
    auto record = Load(name);
    if (!record.ok()) {
      report(record.status().message());
      continue;
    }
    jobs.push_back(std::move(*record));
  }
  if (ec) return Status::Unavailable("cannot read the job registry '" + root_ + "': " + ec.message());
  std::sort(jobs.begin(), jobs.end(), [](const JobRecord& a, const JobRecord& b) {
    if (a.created_ms != b.created_ms) return a.created_ms > b.created_ms;
    return a.id > b.id;
  });
  return jobs;
}

}  // namespace dsx::jobs
