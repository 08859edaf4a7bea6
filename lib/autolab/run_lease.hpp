// The run lease: two `dsx autolab run` on one run folder at once (cron overlapping a slow run)
// must never both drive it. The lease is one row of the ledger's `lease` table, taken and renewed
// in BEGIN IMMEDIATE transactions, so taking it is atomic with the ledger itself. A holder on the
// same host is checked for liveness (its pid and that pid's start time, /proc/<pid>/stat field 22,
// so a recycled pid does not count as alive); a holder on another host cannot be checked, so its
// lease is taken over only after it expires (the holder renews at a third of the ttl).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "autolab/ledger.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

struct LeaseOwner {
  std::string host;
  std::int64_t pid = 0;
  std::int64_t pid_start = 0;  // /proc/<pid>/stat field 22 (clock ticks since boot)
  // This process: gethostname(), getpid() and its start time.
  static LeaseOwner Self();
};

struct LeaseInfo {
  LeaseOwner owner;
  std::int64_t acquired_ms = 0, renewed_ms = 0, expires_ms = 0;
};

// Start time (field 22 of /proc/<pid>/stat) of a live process; kNotFound when no such process
// or it is a zombie (it has exited; only its parent has not collected it yet).
Result<std::int64_t> ProcessStartTime(std::int64_t pid);

class RunLease {
 public:
  static constexpr std::int64_t kDefaultTtlMs = 60'000;

  // Takes the run's lease for `owner` when there is none, it is already `owner`'s, or its holder
  // is provably dead (same host and its pid is gone or has another start time); a holder on
  // another host only after its expiry by the ledger's clock. kConflict naming the holder
  // otherwise. The lease must not outlive `ledger`.
  static Result<std::unique_ptr<RunLease>> Acquire(Ledger& ledger, const LeaseOwner& owner,
                                                   std::int64_t ttl_ms = kDefaultTtlMs);
  // The same on a ledger file this lease opens (and owns) itself.
  static Result<std::unique_ptr<RunLease>> Acquire(const std::string& ledger_path, const LeaseOwner& owner,
                                                   Clock& clock = Clock::System(), std::int64_t ttl_ms = kDefaultTtlMs);
  // The current holder, if any (expired or not).
  static Result<std::optional<LeaseInfo>> Holder(Ledger& ledger);

  ~RunLease();  // releases (best effort) unless Release() already ran
  RunLease(const RunLease&) = delete;
  RunLease& operator=(const RunLease&) = delete;

  // Extends the lease to now + ttl. kConflict when it is no longer ours (taken over after expiry).
  Status Renew();
  // True once a third of the ttl has passed since the last renewal.
  bool RenewDue();
  // Gives the lease up (no-op when it is no longer ours).
  Status Release();

  const LeaseOwner& owner() const { return owner_; }
  std::int64_t ttl_ms() const { return ttl_ms_; }

 private:
  RunLease(Ledger& ledger, std::unique_ptr<Ledger> owned, LeaseOwner owner, std::int64_t ttl_ms,
           std::int64_t renewed_ms)
      : owned_(std::move(owned)), ledger_(ledger), owner_(std::move(owner)), ttl_ms_(ttl_ms), renewed_ms_(renewed_ms) {}

  std::unique_ptr<Ledger> owned_;  // set by the path overload
  Ledger& ledger_;
  LeaseOwner owner_;
  std::int64_t ttl_ms_;
  std::int64_t renewed_ms_;
  bool released_ = false;
};

}  // namespace dsx::autolab
