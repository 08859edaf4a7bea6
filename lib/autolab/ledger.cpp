// The AutoLab ledger on SQLite: schema, the one-transaction transitions and their events.
//
// Durability settings, chosen once in Open():
//   journal_mode=WAL   readers (status, report) never block the driver, and a commit is one append
//                      to the -wal file, so a kill -9 mid-write leaves the last commit intact.
//   synchronous=FULL   the WAL is fsynced at every commit. NORMAL would survive a process kill
//                      but may lose the last acknowledged transitions on power loss or a kernel
//                      crash; the driver acts on an acknowledged transition (it has started a job,
//                      reported a result), so an acknowledged transition must survive those too.
//   busy_timeout       a second dsx (cron overlapping a slow run, `dsx autolab status`) waits for
//                      the write lock instead of failing at once with SQLITE_BUSY.
#include "autolab/ledger.hpp"

#include <sqlite3.h>

#include <cmath>
#include <cstdio>
#include <variant>

#include "core/hash.hpp"

namespace dsx::autolab {

namespace {

constexpr int kBusyTimeoutMs = 30'000;

using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

Status SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
    return Status::Unavailable(msg + " (another dsx holds the ledger's write lock)");
  }
  return Status::Failed(msg);
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status Bind(std::initializer_list<Value> values) {
    if (rc_ != SQLITE_OK) return SqlError(db_, "ledger: prepare");
    int i = 1;
    for (const Value& v : values) {
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::nullptr_t>(v)) rc = sqlite3_bind_null(st_, i);
      if (auto* n = std::get_if<std::int64_t>(&v)) rc = sqlite3_bind_int64(st_, i, *n);
      if (auto* d = std::get_if<double>(&v)) rc = sqlite3_bind_double(st_, i, *d);
      if (auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text(st_, i, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) return SqlError(db_, "ledger: bind");
      ++i;
    }
    return {};
  }
  // true: a row is ready; false: done.
  Result<bool> Step() {
    if (rc_ != SQLITE_OK) return SqlError(db_, "ledger: prepare");
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, "ledger");
  }
  std::int64_t Int(int col) { return sqlite3_column_int64(st_, col); }
  double Real(int col) { return sqlite3_column_double(st_, col); }
  bool IsNull(int col) { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st_, col)) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

Status Exec(sqlite3* db, const char* sql, std::initializer_list<Value> values = {}) {
  Stmt st(db, sql);
  DSX_RETURN_IF_ERROR(st.Bind(values));
  auto r = st.Step();
  return r.ok() ? Status() : r.status();
}

Status ExecScript(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    Status s = SqlError(db, "ledger");
    return {s.code(), "ledger: " + msg};
  }
  return {};
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  config_key TEXT NOT NULL,
  params TEXT NOT NULL,
  seed INTEGER NOT NULL,
  patch TEXT NOT NULL,
  hypothesis TEXT NOT NULL,
  rationale TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN
    ('proposed','queued','running','finished','failed','pruned','cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  job_id TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  metric REAL,
  log_path TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  promoted INTEGER NOT NULL DEFAULT 0 CHECK (promoted IN (0, 1) AND (promoted = 0 OR state = 'finished'))
);
CREATE INDEX IF NOT EXISTS experiments_state ON experiments(state);
CREATE INDEX IF NOT EXISTS experiments_config ON experiments(config_key);
CREATE UNIQUE INDEX IF NOT EXISTS experiments_one_promoted ON experiments(promoted) WHERE promoted = 1;
CREATE TABLE IF NOT EXISTS events (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  ms INTEGER NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_id ON events(id);
CREATE TABLE IF NOT EXISTS curves (
  id TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (id, step)
);
CREATE TABLE IF NOT EXISTS lease (
  name TEXT PRIMARY KEY CHECK (name = 'run'),
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  pid_start INTEGER NOT NULL,
  acquired_ms INTEGER NOT NULL,
  renewed_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
)sql";

constexpr const char* kColumns =
    "seq, id, config_key, params, seed, patch, hypothesis, rationale, state, attempts, job_id, host, pid, "
    "metric, log_path, reason, created_ms, started_ms, finished_ms, promoted";

Result<ExperimentRecord> ReadRow(Stmt& st) {
  ExperimentRecord e;
  e.seq = st.Int(0);
  e.id = st.Text(1);
  e.config_key = st.Text(2);
  e.params = nlohmann::json::parse(st.Text(3), nullptr, /*allow_exceptions=*/false);
  if (e.params.is_discarded()) return Status::Failed("ledger: experiment " + e.id + " has damaged params JSON");
  e.seed = st.Int(4);
  e.patch = st.Text(5);
  e.hypothesis = st.Text(6);
  e.rationale = st.Text(7);
  auto state = ParseExpState(st.Text(8));
  if (!state) return Status::Failed("ledger: experiment " + e.id + " has unknown state '" + st.Text(8) + "'");
  e.state = *state;
  e.attempts = static_cast<int>(st.Int(9));
  e.job_id = st.Text(10);
  e.host = st.Text(11);
  e.pid = st.Int(12);
  if (!st.IsNull(13)) e.metric = st.Real(13);
  e.log_path = st.Text(14);
  e.reason = st.Text(15);
  e.created_ms = st.Int(16);
  e.started_ms = st.Int(17);
  e.finished_ms = st.Int(18);
  e.promoted = st.Int(19) != 0;
  return e;
}

std::string Short(const std::string& prefix, const std::string& data) {
  return prefix + hash::Sha256Hex(data).substr(0, 12);
}

Status InsertEvent(sqlite3* db, const std::string& id, const std::string& from, const std::string& to, std::int64_t ms,
                   const std::string& detail) {
  return Exec(db, "INSERT INTO events (id, from_state, to_state, ms, detail) VALUES (?, ?, ?, ?, ?)",
              {id, from, to, ms, detail});
}

Result<std::optional<ExpState>> StateOf(sqlite3* db, const std::string& id) {
  Stmt st(db, "SELECT state FROM experiments WHERE id = ?");
  DSX_RETURN_IF_ERROR(st.Bind({id}));
  auto row = st.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ExpState>();
  auto s = ParseExpState(st.Text(0));
  if (!s) return Status::Failed("ledger: experiment " + id + " has unknown state '" + st.Text(0) + "'");
  return std::optional<ExpState>(*s);
}

}  // namespace

const char* ExpStateName(ExpState s) {
  switch (s) {
    case ExpState::kProposed: return "proposed";
    case ExpState::kQueued: return "queued";
    case ExpState::kRunning: return "running";
    case ExpState::kFinished: return "finished";
    case ExpState::kFailed: return "failed";
    case ExpState::kPruned: return "pruned";
    case ExpState::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<ExpState> ParseExpState(std::string_view name) {
  for (ExpState s : {ExpState::kProposed, ExpState::kQueued, ExpState::kRunning, ExpState::kFinished, ExpState::kFailed,
                     ExpState::kPruned, ExpState::kCancelled}) {
    if (name == ExpStateName(s)) return s;
  }
  return std::nullopt;
}

bool IsTerminal(ExpState s) {
  return s == ExpState::kFinished || s == ExpState::kFailed || s == ExpState::kPruned || s == ExpState::kCancelled;
}

std::string ExperimentId(const nlohmann::json& params, std::int64_t seed, const std::string& patch) {
  return Short("e-", params.dump() + "\n" + std::to_string(seed) + "\n" + patch);
}

std::string ConfigKey(const nlohmann::json& params, const std::string& patch) {
  return Short("c-", params.dump() + "\n" + patch);
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path, Clock& clock) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::Unavailable("cannot open ledger '" + path + "': " + msg);
  }
  std::unique_ptr<Ledger> ledger(new Ledger(path, db, clock));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  sqlite3_extended_result_codes(db, 1);
  // WAL must really be on: a file system without shared memory support answers "delete".
  {
    Stmt st(db, "PRAGMA journal_mode=WAL");
    auto row = st.Step();
    if (!row.ok()) return row.status().Wrap("cannot open ledger '" + path + "'");
    if (!*row || st.Text(0) != "wal") {
      return Status::Unavailable("cannot open ledger '" + path + "': WAL journal mode refused (got '" +
                                 (*row ? st.Text(0) : std::string()) + "')");
    }
  }
  DSX_RETURN_IF_ERROR(ExecScript(db, "PRAGMA synchronous=FULL").Wrap("cannot open ledger '" + path + "'"));
  Status s = ledger->Immediate([&](sqlite3* conn) -> Status {
    DSX_RETURN_IF_ERROR(ExecScript(conn, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    Stmt st(conn, "SELECT max(version) FROM schema_version");
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (*row && !st.IsNull(0)) {
      std::int64_t v = st.Int(0);
      if (v > kLedgerSchemaVersion) {
        return Status::Conflict("the ledger has schema version " + std::to_string(v) + ", newer than this dsx reads (" +
                                std::to_string(kLedgerSchemaVersion) + "): use a newer dsx");
      }
    } else {
      DSX_RETURN_IF_ERROR(
          Exec(conn, "INSERT INTO schema_version (version) VALUES (?)", {std::int64_t{kLedgerSchemaVersion}}));
    }
    return ExecScript(conn, kSchema);
  });
  if (!s.ok()) return s.Wrap("cannot open ledger '" + path + "'");
  return ledger;
}

Ledger::~Ledger() { sqlite3_close(db_); }

Status Ledger::Immediate(const std::function<Status(sqlite3*)>& fn) {
  MutexLock lock(&mu_);
  DSX_RETURN_IF_ERROR(ExecScript(db_, "BEGIN IMMEDIATE"));
  Status s = fn(db_);
  if (s.ok()) s = ExecScript(db_, "COMMIT");
  if (!s.ok() && !sqlite3_get_autocommit(db_)) (void)ExecScript(db_, "ROLLBACK");
  return s;
}

Status Ledger::SetMeta(const std::string& key, const std::string& value) {
  return Immediate([&](sqlite3* db) {
    return Exec(db, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                {key, value});
  });
}

Result<std::optional<std::string>> Ledger::Meta(const std::string& key) {
  MutexLock lock(&mu_);
  Stmt st(db_, "SELECT value FROM meta WHERE key = ?");
  DSX_RETURN_IF_ERROR(st.Bind({key}));
  auto row = st.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

Result<bool> Ledger::Propose(ExperimentRecord e) {
  if (!e.params.is_object()) return Status::Usage("experiment params must be a JSON object");
  std::string id = ExperimentId(e.params, e.seed, e.patch);
  if (!e.id.empty() && e.id != id) {
    return Status::Usage("experiment id '" + e.id + "' does not match its params, seed and patch (expected " + id +
                         ")");
  }
  std::string key = ConfigKey(e.params, e.patch);
  if (!e.config_key.empty() && e.config_key != key) {
    return Status::Usage("experiment config_key '" + e.config_key + "' does not match its params and patch (expected " +
                         key + ")");
  }
  bool inserted = false;
  std::int64_t now = clock_.NowMs();
  Status s = Immediate([&](sqlite3* db) -> Status {
    DSX_RETURN_IF_ERROR(Exec(db,
                             "INSERT OR IGNORE INTO experiments (id, config_key, params, seed, patch, hypothesis, "
                             "rationale, state, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 'proposed', ?)",
                             {id, key, e.params.dump(), e.seed, e.patch, e.hypothesis, e.rationale, now}));
    inserted = sqlite3_changes(db) > 0;
    if (!inserted) return {};
    return InsertEvent(db, id, "", "proposed", now, e.hypothesis);
  });
  if (!s.ok()) return s.Wrap("cannot propose " + id);
  return inserted;
}

Status Ledger::Transition(const std::string& id, std::initializer_list<ExpState> from, ExpState to,
                          const std::string& detail, const std::function<Status(sqlite3*)>& apply) {
  std::int64_t now = clock_.NowMs();
  return Immediate([&](sqlite3* db) -> Status {
    auto state = StateOf(db, id);
    if (!state.ok()) return state.status();
    if (!*state) return Status::NotFound("no experiment '" + id + "' in the ledger");
    ExpState cur = **state;
    bool allowed = false;
    std::string wanted;
    for (ExpState f : from) {
      allowed = allowed || f == cur;
      wanted += (wanted.empty() ? "" : " or ") + std::string(ExpStateName(f));
    }
    if (!allowed) {
      return Status::Conflict("experiment " + id + " is " + ExpStateName(cur) + ": it can become " + ExpStateName(to) +
                              " only from " + wanted);
    }
    DSX_RETURN_IF_ERROR(apply(db));
    return InsertEvent(db, id, ExpStateName(cur), ExpStateName(to), now, detail);
  });
}

Status Ledger::Queue(const std::string& id) {
  return Transition(id, {ExpState::kProposed}, ExpState::kQueued, "", [&](sqlite3* db) {
    return Exec(db, "UPDATE experiments SET state = 'queued' WHERE id = ?", {id});
  });
}

Status Ledger::Start(const std::string& id, const std::string& job_id, const std::string& host, std::int64_t pid) {
  std::int64_t now = clock_.NowMs();
  std::string detail = "job " + job_id + " on " + host + " pid " + std::to_string(pid);
  return Transition(id, {ExpState::kQueued}, ExpState::kRunning, detail, [&](sqlite3* db) {
    return Exec(db,
                "UPDATE experiments SET state = 'running', attempts = attempts + 1, job_id = ?, host = ?, pid = ?, "
                "started_ms = ?, finished_ms = 0 WHERE id = ?",
                {job_id, host, pid, now, id});
  });
}

Status Ledger::Finish(const std::string& id, double metric, const std::string& log_path) {
  // A NaN or infinite metric is a failed experiment, not a result to rank.
  if (!std::isfinite(metric)) return Status::Usage("experiment " + id + ": metric is not a finite number");
  std::int64_t now = clock_.NowMs();
  char buf[64];
  std::snprintf(buf, sizeof buf, "metric %.17g", metric);
  return Transition(id, {ExpState::kRunning}, ExpState::kFinished, buf, [&](sqlite3* db) {
    return Exec(db, "UPDATE experiments SET state = 'finished', metric = ?, log_path = ?, finished_ms = ? WHERE id = ?",
                {metric, log_path, now, id});
  });
}

namespace {
// The shared body of Fail, Prune and Cancel: a terminal state with a reason.
std::function<Status(sqlite3*)> EndWith(const char* state, const std::string& id, const std::string& reason,
                                        std::int64_t now) {
  return [state, &id, &reason, now](sqlite3* db) {
    return Exec(db, "UPDATE experiments SET state = ?, reason = ?, finished_ms = ? WHERE id = ?",
                {std::string(state), reason, now, id});
  };
}
}  // namespace

Status Ledger::Fail(const std::string& id, const std::string& reason) {
  return Transition(id, {ExpState::kQueued, ExpState::kRunning}, ExpState::kFailed, reason,
                    EndWith("failed", id, reason, clock_.NowMs()));
}

Status Ledger::Prune(const std::string& id, const std::string& reason) {
  return Transition(id, {ExpState::kRunning}, ExpState::kPruned, reason, EndWith("pruned", id, reason, clock_.NowMs()));
}

Status Ledger::Cancel(const std::string& id, const std::string& reason) {
  return Transition(id, {ExpState::kProposed, ExpState::kQueued, ExpState::kRunning}, ExpState::kCancelled, reason,
                    EndWith("cancelled", id, reason, clock_.NowMs()));
}

Status Ledger::Requeue(const std::string& id, const std::string& reason) {
  return Transition(id, {ExpState::kRunning}, ExpState::kQueued, reason, [&](sqlite3* db) {
    return Exec(db, "UPDATE experiments SET state = 'queued', reason = ? WHERE id = ?", {reason, id});
  });
}

Status Ledger::Promote(const std::string& id) {
  std::int64_t now = clock_.NowMs();
  return Immediate([&](sqlite3* db) -> Status {
    auto state = StateOf(db, id);
    if (!state.ok()) return state.status();
    if (!*state) return Status::NotFound("no experiment '" + id + "' in the ledger");
    if (**state != ExpState::kFinished) {
      return Status::Conflict("experiment " + id + " is " + ExpStateName(**state) +
                              ": only a finished experiment can be promoted");
    }
    Stmt st(db, "SELECT id FROM experiments WHERE promoted = 1");
    auto row = st.Step();
    if (!row.ok()) return row.status();
    std::string previous = *row ? st.Text(0) : std::string();
    if (previous == id) return {};  // already the promoted one
    if (!previous.empty()) {
      DSX_RETURN_IF_ERROR(Exec(db, "UPDATE experiments SET promoted = 0 WHERE id = ?", {previous}));
      DSX_RETURN_IF_ERROR(InsertEvent(db, previous, "finished", "finished", now, "unpromoted: " + id));
    }
    DSX_RETURN_IF_ERROR(Exec(db, "UPDATE experiments SET promoted = 1 WHERE id = ?", {id}));
    return InsertEvent(db, id, "finished", "finished", now,
                       previous.empty() ? std::string("promoted") : "promoted over " + previous);
  });
}

Status Ledger::AddIntermediate(const std::string& id, std::int64_t step, double value) {
  if (!std::isfinite(value)) return Status::Usage("experiment " + id + ": intermediate metric is not a finite number");
  return Immediate([&](sqlite3* db) -> Status {
    auto state = StateOf(db, id);
    if (!state.ok()) return state.status();
    if (!*state) return Status::NotFound("no experiment '" + id + "' in the ledger");
    return Exec(db, "INSERT OR REPLACE INTO curves (id, step, value) VALUES (?, ?, ?)", {id, step, value});
  });
}

Result<std::vector<std::pair<std::int64_t, double>>> Ledger::Curve(const std::string& id) {
  MutexLock lock(&mu_);
  Stmt st(db_, "SELECT step, value FROM curves WHERE id = ? ORDER BY step");
  DSX_RETURN_IF_ERROR(st.Bind({id}));
  std::vector<std::pair<std::int64_t, double>> out;
  while (true) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.emplace_back(st.Int(0), st.Real(1));
  }
  return out;
}

Result<std::vector<ExperimentRecord>> Ledger::List(std::optional<ExpState> filter) {
  MutexLock lock(&mu_);
  std::string sql =
      std::string("SELECT ") + kColumns + " FROM experiments" + (filter ? " WHERE state = ?" : "") + " ORDER BY seq";
  Stmt st(db_, sql.c_str());
  if (filter) DSX_RETURN_IF_ERROR(st.Bind({std::string(ExpStateName(*filter))}));
  std::vector<ExperimentRecord> out;
  while (true) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto e = ReadRow(st);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
  return out;
}

Result<ExperimentRecord> Ledger::Get(const std::string& id) {
  MutexLock lock(&mu_);
  std::string sql = std::string("SELECT ") + kColumns + " FROM experiments WHERE id = ?";
  Stmt st(db_, sql.c_str());
  DSX_RETURN_IF_ERROR(st.Bind({id}));
  auto row = st.Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no experiment '" + id + "' in the ledger");
  return ReadRow(st);
}

Result<std::vector<LedgerEvent>> Ledger::Events(const std::string& id) {
  MutexLock lock(&mu_);
  std::string sql = std::string("SELECT n, id, from_state, to_state, ms, detail FROM events") +
                    (id.empty() ? "" : " WHERE id = ?") + " ORDER BY n";
  Stmt st(db_, sql.c_str());
  if (!id.empty()) DSX_RETURN_IF_ERROR(st.Bind({id}));
  std::vector<LedgerEvent> out;
  while (true) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4), st.Text(5)});
  }
  return out;
}

}  // namespace dsx::autolab
