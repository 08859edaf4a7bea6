// The AutoLab ledger: the one durable record of a run, an SQLite database in WAL mode at
// `<run dir>/ledger.sqlite`. Every experiment's life (proposed -> queued -> running -> finished,
// failed, pruned or cancelled; promoted) is a row, every transition is ONE `BEGIN IMMEDIATE`
// transaction that checks the from-state and appends to the `events` table (the history), so a
// `kill -9` at any moment leaves either the whole transition or none of it, and a second dsx
// (cron overlapping a slow run) waits for the lock instead of failing. Schema and guarantees:
// docs/formats/autolab-ledger.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/mutex.hpp"
#include "core/status.hpp"

struct sqlite3;  // kept opaque so sqlite3.h stays out of the ledger's users

namespace dsx::autolab {

enum class ExpState { kProposed, kQueued, kRunning, kFinished, kFailed, kPruned, kCancelled };

// "proposed", "queued", "running", "finished", "failed", "pruned", "cancelled" (stored as text).
const char* ExpStateName(ExpState s);
std::optional<ExpState> ParseExpState(std::string_view name);
// finished, failed, pruned and cancelled: nothing more happens to the experiment.
bool IsTerminal(ExpState s);

// One experiment as the ledger records it (named like jobs::JobRecord; plan.hpp's Experiment is the
// plan's `experiment:` section, the template every record is made from).
struct ExperimentRecord {
  std::int64_t seq = 0;    // order of proposal (assigned by the ledger)
  std::string id;          // ExperimentId(params, seed, patch); filled by Propose when empty
  std::string config_key;  // ConfigKey(params, patch): repeats of one configuration share it
  nlohmann::json params = nlohmann::json::object();
  std::int64_t seed = 0;
  std::string patch;  // unified diff against the working files ("" = none)
  std::string hypothesis;
  std::string rationale;
  ExpState state = ExpState::kProposed;
  int attempts = 0;    // Start() calls so far (retry limit is the driver's)
  std::string job_id;  // jobs-layer id of the current/last attempt
  std::string host;
  std::int64_t pid = 0;
  std::optional<double> metric;
  std::string log_path;
  std::string reason;  // why failed/pruned/cancelled/requeued
  std::int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
  bool promoted = false;
};

// One row of the `events` table: the ledger's history. from_state is "" for the proposal;
// promotion is recorded as finished -> finished with detail "promoted" / "unpromoted: <id>".
struct LedgerEvent {
  std::int64_t n = 0;
  std::string id;
  std::string from_state, to_state;
  std::int64_t ms = 0;
  std::string detail;
};

// Stable identities. Canonical params JSON = nlohmann's dump() (object keys sorted).
// "e-" + first 12 hex of sha256(params + "\n" + seed + "\n" + patch).
std::string ExperimentId(const nlohmann::json& params, std::int64_t seed, const std::string& patch);
// "c-" + first 12 hex of sha256(params + "\n" + patch): the same without the seed.
std::string ConfigKey(const nlohmann::json& params, const std::string& patch);

inline constexpr int kLedgerSchemaVersion = 1;
inline constexpr const char* kLedgerFileName = "ledger.sqlite";

class Ledger {
 public:
  // Opens (creating file and schema when missing) the ledger at `path`. Refuses (kConflict) a
  // ledger written by a newer dsx (schema_version > kLedgerSchemaVersion); kUnavailable when the
  // file cannot be opened. `clock` stamps created/started/finished and the events.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& path, Clock& clock = Clock::System());
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  const std::string& path() const { return path_; }
  Clock& clock() { return clock_; }

  // Run-level facts (plan hash, run name...).
  Status SetMeta(const std::string& key, const std::string& value);
  Result<std::optional<std::string>> Meta(const std::string& key);

  // Inserts the experiment as proposed (INSERT OR IGNORE by id). false when that experiment was
  // already proposed, whatever its state since: an experiment is never run twice. Fills id and
  // config_key when empty; a given id that is not ExperimentId(...) of the fields is kUsage.
  Result<bool> Propose(ExperimentRecord e);

  // Transitions. Each checks the from-state and returns kConflict naming both states otherwise
  // (kNotFound for an unknown id); each is one transaction with its event.
  Status Queue(const std::string& id);  // proposed -> queued
  Status Start(const std::string& id, const std::string& job_id, const std::string& host,
               std::int64_t pid);                                                    // queued -> running, attempts+1
  Status Finish(const std::string& id, double metric, const std::string& log_path);  // running -> finished
  Status Fail(const std::string& id, const std::string& reason);                     // queued|running -> failed
  Status Prune(const std::string& id, const std::string& reason);                    // running -> pruned
  Status Cancel(const std::string& id, const std::string& reason);   // proposed|queued|running -> cancelled
  Status Requeue(const std::string& id, const std::string& reason);  // running -> queued (found dead)
  // finished -> promoted; the previously promoted one loses it in the same transaction.
  // Promoting the one already promoted is a no-op.
  Status Promote(const std::string& id);

  // Intermediate metrics (learning curves); a repeated step replaces its value.
  Status AddIntermediate(const std::string& id, std::int64_t step, double value);
  Result<std::vector<std::pair<std::int64_t, double>>> Curve(const std::string& id);

  Result<std::vector<ExperimentRecord>> List(std::optional<ExpState> filter = {});  // ordered by seq
  Result<ExperimentRecord> Get(const std::string& id);                              // kNotFound
  // The history, oldest first; all experiments when `id` is empty.
  Result<std::vector<LedgerEvent>> Events(const std::string& id = "");

 private:
  friend class RunLease;  // the lease lives in the same file, updated on this connection
  Ledger(std::string path, sqlite3* db, Clock& clock) : path_(std::move(path)), db_(db), clock_(clock) {}
  // Runs `fn` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK when it fails).
  Status Immediate(const std::function<Status(sqlite3*)>& fn);
  Status Transition(const std::string& id, std::initializer_list<ExpState> from, ExpState to, const std::string& detail,
                    const std::function<Status(sqlite3*)>& apply);

  std::string path_;
  Mutex mu_;  // one transaction at a time on this connection (workers share the ledger)
  sqlite3* db_;
  Clock& clock_;
};

}  // namespace dsx::autolab
