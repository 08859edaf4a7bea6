// The trackio project file: trackio 0.36.0's schema (see trackio_export.hpp for where it was read),
// its lock, and one transaction per export.
#include "autolab/trackio_export.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <set>
#include <thread>

namespace dsx::autolab {
namespace {

// SQLiteStorage.init_db() of trackio 0.36.0, table by table and index by index (the two columns
// it adds to pending_uploads by ALTER TABLE, kind and digest, are in the CREATE here; an older file
// gets them the way trackio adds them). IF NOT EXISTS throughout: a project trackio already made
// keeps its data and its own definitions.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, timestamp TEXT NOT NULL,
  run_name TEXT NOT NULL, step INTEGER NOT NULL, metrics TEXT NOT NULL, log_id TEXT, space_id TEXT);
CREATE TABLE IF NOT EXISTS configs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, run_name TEXT NOT NULL,
  config TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE(run_id));
CREATE TABLE IF NOT EXISTS system_metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, timestamp TEXT NOT NULL,
  run_name TEXT NOT NULL, metrics TEXT NOT NULL, log_id TEXT, space_id TEXT);
CREATE TABLE IF NOT EXISTS traces (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL, timestamp TEXT NOT NULL, run_name TEXT NOT NULL,
  step INTEGER NOT NULL, key TEXT NOT NULL, trace_index INTEGER, messages TEXT NOT NULL,
  metadata TEXT NOT NULL, search_text TEXT NOT NULL, log_id TEXT, space_id TEXT);
CREATE TABLE IF NOT EXISTS project_metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_uploads (
  id INTEGER PRIMARY KEY AUTOINCREMENT, space_id TEXT NOT NULL, run_id TEXT, run_name TEXT,
  step INTEGER, file_path TEXT NOT NULL, relative_path TEXT, created_at TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'media', digest TEXT);
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, timestamp TEXT NOT NULL,
  run_name TEXT NOT NULL, title TEXT NOT NULL, text TEXT, level TEXT NOT NULL DEFAULT 'warn',
  step INTEGER, alert_id TEXT);
CREATE TABLE IF NOT EXISTS artifacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
  description TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS artifact_versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  version INTEGER NOT NULL, manifest_digest TEXT NOT NULL, manifest TEXT NOT NULL, metadata TEXT,
  size_bytes INTEGER NOT NULL, producer_run_id TEXT, producer_run_name TEXT,
  created_at TEXT NOT NULL, UNIQUE(artifact_id, version), UNIQUE(artifact_id, manifest_digest));
CREATE TABLE IF NOT EXISTS artifact_aliases (
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id), alias TEXT NOT NULL,
  artifact_version_id INTEGER NOT NULL REFERENCES artifact_versions(id),
  PRIMARY KEY (artifact_id, alias));
CREATE TABLE IF NOT EXISTS run_artifact_links (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, run_name TEXT,
  artifact_version_id INTEGER NOT NULL REFERENCES artifact_versions(id),
  direction TEXT NOT NULL CHECK(direction IN ('input', 'output')), created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_run_artifact_links_run ON run_artifact_links(run_id, run_name);
CREATE INDEX IF NOT EXISTS idx_run_artifact_links_name ON run_artifact_links(run_name, run_id);
CREATE INDEX IF NOT EXISTS idx_run_artifact_links_version ON run_artifact_links(artifact_version_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_run_artifact_links_unique
  ON run_artifact_links(run_id, artifact_version_id, direction);
CREATE INDEX IF NOT EXISTS idx_pending_uploads_kind ON pending_uploads(kind);
CREATE INDEX IF NOT EXISTS idx_metrics_run_step ON metrics(run_id, step);
CREATE INDEX IF NOT EXISTS idx_metrics_run_timestamp ON metrics(run_id, timestamp);
CREATE INDEX IF NOT EXISTS idx_configs_run_name ON configs(run_name);
CREATE INDEX IF NOT EXISTS idx_system_metrics_run_timestamp ON system_metrics(run_id, timestamp);
CREATE INDEX IF NOT EXISTS idx_traces_run_step ON traces(run_id, step);
CREATE INDEX IF NOT EXISTS idx_traces_run_timestamp ON traces(run_id, timestamp);
CREATE INDEX IF NOT EXISTS idx_traces_search ON traces(search_text);
CREATE INDEX IF NOT EXISTS idx_alerts_run ON alerts(run_id);
CREATE INDEX IF NOT EXISTS idx_alerts_timestamp ON alerts(timestamp);
CREATE UNIQUE INDEX IF NOT EXISTS idx_alerts_alert_id ON alerts(alert_id) WHERE alert_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS idx_metrics_log_id ON metrics(log_id) WHERE log_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_metrics_pending ON metrics(space_id) WHERE space_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS idx_system_metrics_log_id ON system_metrics(log_id) WHERE log_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_system_metrics_pending ON system_metrics(space_id) WHERE space_id IS NOT NULL;
)sql";

std::string Env(const jobs::hf::GetEnv& getenv, const char* name) {
  const char* v = getenv ? getenv(name) : std::getenv(name);
  return v ? std::string(v) : std::string();
}

// trackio's serialize_values(): non-finite floats become the strings JSON cannot otherwise hold.
nlohmann::json SerializeValues(const nlohmann::json& v) {
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = SerializeValues(it.value());
    return out;
  }
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& x : v) out.push_back(SerializeValues(x));
    return out;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  }
  return v;
}

// The flock trackio's ProcessLock takes on <dir>/<project>.lock (it tries for 10 s: so do we).
class ProjectLock {
 public:
  static Result<std::unique_ptr<ProjectLock>> Take(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Unavailable("cannot open trackio's lock file " + path);
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return std::unique_ptr<ProjectLock>(new ProjectLock(fd));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::close(fd);
    return Status::Unavailable("trackio's lock " + path + " is held by another process (waited 10 s)");
  }
  ~ProjectLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  explicit ProjectLock(int fd) : fd_(fd) {}
  int fd_;
};

struct Db {
  sqlite3* db = nullptr;
  ~Db() {
    if (db) sqlite3_close_v2(db);
  }
  Status Exec(const char* sql, const std::string& what) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db);
      sqlite3_free(err);
      return Status::Unavailable("trackio project file: " + what + ": " + msg);
    }
    return Status::Ok();
  }
  // Column names of `table` (empty when it does not exist).
  std::set<std::string> Columns(const std::string& table) {
    std::set<std::string> out;
    sqlite3_stmt* st = nullptr;
    std::string sql = "PRAGMA table_info(" + table + ")";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return out;
    while (sqlite3_step(st) == SQLITE_ROW) out.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
    sqlite3_finalize(st);
    return out;
  }
};

// One prepared statement, finalized on scope exit.
struct Stmt {
  sqlite3_stmt* st = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &st, nullptr); }
  ~Stmt() { sqlite3_finalize(st); }
  void Text(int i, const std::string& s) {
    sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, std::int64_t v) { sqlite3_bind_int64(st, i, v); }
  bool Run() {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
  }
};

Status WriteRuns(Db& d, const std::vector<TrackioRun>& runs, size_t* points) {
  Stmt del(d.db, "DELETE FROM metrics WHERE run_id = ?");
  Stmt cfg(d.db, "INSERT OR REPLACE INTO configs (run_id, run_name, config, created_at) VALUES (?, ?, ?, ?)");
  Stmt met(d.db,
           "INSERT OR REPLACE INTO metrics (timestamp, run_id, run_name, step, metrics, log_id, space_id) "
           "VALUES (?, ?, ?, ?, ?, ?, NULL)");
  if (!del.st || !cfg.st || !met.st) {
    return Status::Unavailable(std::string("trackio project file: cannot prepare: ") + sqlite3_errmsg(d.db));
  }
  for (const auto& run : runs) {
    del.Text(1, run.run_id);
    if (!del.Run()) return Status::Unavailable(std::string("trackio project file: ") + sqlite3_errmsg(d.db));
    nlohmann::json config = SerializeValues(run.config);
    config["_Username"] = nullptr;  // trackio fills it from `hf whoami`; dsx does not ask the Hub who you are
    config["_Created"] = TrackioTimestamp(run.created_ms);
    config["_Group"] = run.group.empty() ? nlohmann::json(nullptr) : nlohmann::json(run.group);
    cfg.Text(1, run.run_id);
    cfg.Text(2, run.run_name);
    cfg.Text(3, config.dump());
    cfg.Text(4, TrackioTimestamp(run.created_ms));
    if (!cfg.Run()) return Status::Unavailable(std::string("trackio project file: ") + sqlite3_errmsg(d.db));
    for (const auto& p : run.points) {
      met.Text(1, TrackioTimestamp(p.unix_ms));
      met.Text(2, run.run_id);
      met.Text(3, run.run_name);
      met.Int(4, p.step);
      met.Text(5, SerializeValues(p.metrics).dump());
      met.Text(6, p.log_id);
      if (!met.Run()) return Status::Unavailable(std::string("trackio project file: ") + sqlite3_errmsg(d.db));
      ++*points;
    }
  }
  return Status::Ok();
}

}  // namespace

std::string TrackioDir(const jobs::hf::GetEnv& getenv) {
  if (auto d = Env(getenv, "TRACKIO_DIR"); !d.empty()) return d;
  std::string hf_home = Env(getenv, "HF_HOME");
  if (hf_home.empty()) {
    std::string xdg = Env(getenv, "XDG_CACHE_HOME");
    if (xdg.empty()) xdg = Env(getenv, "HOME") + "/.cache";
    hf_home = xdg + "/huggingface";
  }
  return hf_home + "/trackio";
}

std::string TrackioCanonicalProject(std::string_view project) {
  std::string out;
  for (char c : project) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') out += c;
  }
  return out.empty() ? "default" : out;
}

std::string TrackioProjectProblem(std::string_view project) {
  std::string canonical = TrackioCanonicalProject(project);
  if (canonical.rfind("registry-", 0) == 0) return "names starting with 'registry-' are reserved by trackio";
  for (const char* suffix : {"_system", "_configs", "_traces", "_artifacts", "_artifact_versions", "_artifact_aliases",
                             "_run_artifact_links"}) {
    std::string s = suffix;
    if (canonical.size() > s.size() && canonical.compare(canonical.size() - s.size(), s.size(), s) == 0) {
      return "names ending in '" + s + "' are reserved by trackio (its parquet sidecar files)";
    }
  }
  return "";
}

std::string TrackioTimestamp(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  int ms = static_cast<int>(unix_ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (ms != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06d", ms * 1000);
    out += frac;
  }
  return out + "+00:00";
}

Result<TrackioExportResult> ExportToTrackio(const std::string& dir, const std::string& project,
                                            const std::vector<TrackioRun>& runs) {
  if (project.empty()) return Status::Usage("trackio project name is empty");
  if (auto p = TrackioProjectProblem(project); !p.empty())
    return Status::Usage("trackio project '" + project + "': " + p);
  for (const auto& run : runs) {
    if (run.run_id.empty() || run.run_name.empty()) return Status::Usage("a trackio run needs an id and a name");
    if (!run.config.is_object()) return Status::Usage("trackio run " + run.run_name + ": config must be an object");
    for (auto it = run.config.begin(); it != run.config.end(); ++it) {
      if (!it.key().empty() && it.key()[0] == '_') {
        return Status::Usage("trackio run " + run.run_name + ": config key '" + it.key() +
                             "' is reserved (trackio keeps keys starting with '_' for itself)");
      }
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Unavailable("cannot create trackio's folder " + dir + ": " + ec.message());
  const std::string canonical = TrackioCanonicalProject(project);
  auto lock = ProjectLock::Take(dir + "/" + canonical + ".lock");
  if (!lock.ok()) return lock.status();

  TrackioExportResult result;
  result.db_path = dir + "/" + canonical + ".db";
  Db d;
  if (sqlite3_open_v2(result.db_path.c_str(), &d.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    return Status::Unavailable("cannot open trackio project file " + result.db_path + ": " +
                               (d.db ? sqlite3_errmsg(d.db) : "out of memory"));
  }
  sqlite3_busy_timeout(d.db, 30000);
  if (auto s = d.Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", "setting WAL mode"); !s.ok()) return s;

  // A file from trackio before run ids (metrics without run_id) would need trackio's own migration.
  auto metrics_cols = d.Columns("metrics");
  if (!metrics_cols.empty() && !metrics_cols.count("run_id")) {
    return Status::Conflict("trackio project file " + result.db_path + " is from a trackio without run ids (before " +
                            kTrackioSchemaVersion +
                            "'s schema): open it with a current trackio once, then publish again");
  }
  // Columns trackio adds to older files with ALTER TABLE (init_db), added the same way.
  auto add_missing = [&](const std::string& table, const std::vector<std::pair<std::string, std::string>>& cols) {
    auto have = d.Columns(table);
    if (have.empty()) return Status::Ok();
    for (const auto& [name, decl] : cols) {
      if (have.count(name)) continue;
      std::string sql = "ALTER TABLE " + table + " ADD COLUMN " + name + " " + decl;
      if (auto s = d.Exec(sql.c_str(), "adding " + table + "." + name); !s.ok()) return s;
    }
    return Status::Ok();
  };
  for (const char* table : {"metrics", "system_metrics"}) {
    if (auto s = add_missing(table, {{"log_id", "TEXT"}, {"space_id", "TEXT"}}); !s.ok()) return s;
  }
  if (auto s = add_missing("pending_uploads", {{"kind", "TEXT NOT NULL DEFAULT 'media'"}, {"digest", "TEXT"}});
      !s.ok()) {
    return s;
  }
  if (auto s = d.Exec(kSchema, "creating trackio's tables"); !s.ok()) return s;

  if (auto s = d.Exec("BEGIN IMMEDIATE", "starting the export"); !s.ok()) return s;
  Status wrote = WriteRuns(d, runs, &result.points);
  if (!wrote.ok()) {
    d.Exec("ROLLBACK", "rolling back");
    return wrote;
  }
  if (auto s = d.Exec("COMMIT", "committing the export"); !s.ok()) return s;
  result.runs = runs.size();
  return result;
}

}  // namespace dsx::autolab
