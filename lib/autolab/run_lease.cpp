// The run lease: one row of the ledger's `lease` table, read and written only inside the ledger's
// BEGIN IMMEDIATE transactions, so two processes deciding at once are serialised by SQLite's write
// lock and exactly one of them sees the table free.
#include "autolab/run_lease.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <sstream>
#include <vector>

namespace dsx::autolab {

namespace {

Status LeaseSqlError(sqlite3* db, const std::string& what) {
  return Status::Failed("run lease: " + what + ": " + sqlite3_errmsg(db));
}

// Reads the lease row; nullopt when there is none.
Result<std::optional<LeaseInfo>> ReadLease(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(
          db, "SELECT host, pid, pid_start, acquired_ms, renewed_ms, expires_ms FROM lease WHERE name = 'run'", -1, &st,
          nullptr) != SQLITE_OK) {
    return LeaseSqlError(db, "read");
  }
  int rc = sqlite3_step(st);
  std::optional<LeaseInfo> out;
  if (rc == SQLITE_ROW) {
    LeaseInfo info;
    const unsigned char* host = sqlite3_column_text(st, 0);
    info.owner.host = host ? reinterpret_cast<const char*>(host) : "";
    info.owner.pid = sqlite3_column_int64(st, 1);
    info.owner.pid_start = sqlite3_column_int64(st, 2);
    info.acquired_ms = sqlite3_column_int64(st, 3);
    info.renewed_ms = sqlite3_column_int64(st, 4);
    info.expires_ms = sqlite3_column_int64(st, 5);
    out = info;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return LeaseSqlError(db, "read");
  return out;
}

// Writes (replaces) the lease row.
Status WriteLease(sqlite3* db, const LeaseInfo& info) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(
          db,
          "INSERT OR REPLACE INTO lease (name, host, pid, pid_start, acquired_ms, renewed_ms, expires_ms) "
          "VALUES ('run', ?, ?, ?, ?, ?, ?)",
          -1, &st, nullptr) != SQLITE_OK) {
    return LeaseSqlError(db, "write");
  }
  sqlite3_bind_text(st, 1, info.owner.host.data(), static_cast<int>(info.owner.host.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, info.owner.pid);
  sqlite3_bind_int64(st, 3, info.owner.pid_start);
  sqlite3_bind_int64(st, 4, info.acquired_ms);
  sqlite3_bind_int64(st, 5, info.renewed_ms);
  sqlite3_bind_int64(st, 6, info.expires_ms);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? Status() : LeaseSqlError(db, "write");
}

bool SameOwner(const LeaseOwner& a, const LeaseOwner& b) {
  return a.host == b.host && a.pid == b.pid && a.pid_start == b.pid_start;
}

std::string Describe(const LeaseOwner& o) { return "pid " + std::to_string(o.pid) + " on host " + o.host; }

// Same host: the holder is dead when its pid is gone (or a zombie) or now belongs to another
// process (another start time). Another host: it cannot be checked from here.
bool ProvablyDead(const LeaseOwner& holder, const LeaseOwner& me) {
  if (holder.host != me.host) return false;
  auto start = ProcessStartTime(holder.pid);
  if (!start.ok()) return start.status().code() == Code::kNotFound;
  return *start != holder.pid_start;
}

}  // namespace

Result<std::int64_t> ProcessStartTime(std::int64_t pid) {
  if (pid <= 0 || pid > INT_MAX) return Status::NotFound("no process " + std::to_string(pid));
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return Status::NotFound("no process " + std::to_string(pid));
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return Status::Failed("cannot parse /proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(line.substr(close + 1));
  std::vector<std::string> f;  // f[0] is field 3 (state), so field 22 (starttime) is f[19]
  for (std::string tok; fields >> tok;) f.push_back(tok);
  if (f.size() < 20) return Status::Failed("cannot parse /proc/" + std::to_string(pid) + "/stat");
  if (f[0] == "Z" || f[0] == "X") return Status::NotFound("process " + std::to_string(pid) + " has exited");
  try {
    return static_cast<std::int64_t>(std::stoll(f[19]));
  } catch (...) {
    return Status::Failed("cannot parse /proc/" + std::to_string(pid) + "/stat");
  }
}

LeaseOwner LeaseOwner::Self() {
  LeaseOwner o;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) o.host = host;
  o.pid = getpid();
  auto start = ProcessStartTime(o.pid);
  o.pid_start = start.ok() ? *start : 0;
  return o;
}

Result<std::unique_ptr<RunLease>> RunLease::Acquire(Ledger& ledger, const LeaseOwner& owner, std::int64_t ttl_ms) {
  if (ttl_ms <= 0) return Status::Usage("run lease: ttl must be positive");
  if (owner.host.empty() || owner.pid <= 0) return Status::Usage("run lease: the owner needs a host and a pid");
  std::int64_t now = ledger.clock().NowMs();
  Status s = ledger.Immediate([&](sqlite3* db) -> Status {
    auto cur = ReadLease(db);
    if (!cur.ok()) return cur.status();
    LeaseInfo next{owner, now, now, now + ttl_ms};
    if (*cur) {
      const LeaseInfo& held = **cur;
      if (SameOwner(held.owner, owner)) {
        next.acquired_ms = held.acquired_ms;  // ours already (a re-acquire): just renew
      } else if (ProvablyDead(held.owner, owner)) {
        // the holder died without releasing (kill -9, crash): take over
      } else if (held.owner.host != owner.host && now >= held.expires_ms) {
        // another host's holder stopped renewing: its lease has run out
      } else {
        std::string until = held.owner.host == owner.host
                                ? std::string("it is alive")
                                : "its lease expires in " + std::to_string((held.expires_ms - now + 999) / 1000) + " s";
        return Status::Conflict("the run is already driven by " + Describe(held.owner) + " (" + until + ")");
      }
    }
    return WriteLease(db, next);
  });
  if (!s.ok()) return s;
  return std::unique_ptr<RunLease>(new RunLease(ledger, nullptr, owner, ttl_ms, now));
}

Result<std::unique_ptr<RunLease>> RunLease::Acquire(const std::string& ledger_path, const LeaseOwner& owner,
                                                    Clock& clock, std::int64_t ttl_ms) {
  auto ledger = Ledger::Open(ledger_path, clock);
  if (!ledger.ok()) return ledger.status();
  Ledger* raw = ledger->get();
  auto lease = Acquire(*raw, owner, ttl_ms);
  if (!lease.ok()) return lease.status();
  (*lease)->owned_ = std::move(*ledger);
  return lease;
}

Result<std::optional<LeaseInfo>> RunLease::Holder(Ledger& ledger) {
  MutexLock lock(&ledger.mu_);
  return ReadLease(ledger.db_);
}

RunLease::~RunLease() {
  if (!released_) (void)Release();
}

Status RunLease::Renew() {
  std::int64_t now = ledger_.clock().NowMs();
  Status s = ledger_.Immediate([&](sqlite3* db) -> Status {
    auto cur = ReadLease(db);
    if (!cur.ok()) return cur.status();
    if (!*cur || !SameOwner((*cur)->owner, owner_)) {
      return Status::Conflict("the run lease was lost" + (*cur ? " to " + Describe((*cur)->owner) : std::string()) +
                              ": stop driving the run");
    }
    LeaseInfo next = **cur;
    next.renewed_ms = now;
    next.expires_ms = now + ttl_ms_;
    return WriteLease(db, next);
  });
  if (s.ok()) renewed_ms_ = now;
  return s;
}

bool RunLease::RenewDue() { return ledger_.clock().NowMs() - renewed_ms_ >= ttl_ms_ / 3; }

Status RunLease::Release() {
  released_ = true;
  return ledger_.Immediate([&](sqlite3* db) -> Status {
    auto cur = ReadLease(db);
    if (!cur.ok()) return cur.status();
    if (!*cur || !SameOwner((*cur)->owner, owner_)) return {};  // no longer ours: nothing to give up
    if (sqlite3_exec(db, "DELETE FROM lease WHERE name = 'run'", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return LeaseSqlError(db, "release");
    }
    return {};
  });
}

}  // namespace dsx::autolab
