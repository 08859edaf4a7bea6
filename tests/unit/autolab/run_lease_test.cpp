// run_lease.hpp: one driver per run. Two owners; takeover from a dead (exited, zombie, or recycled)
// pid on the same host; another host's lease only after its expiry (ManualClock), renewal and
// release; and two forked processes racing for the lease: exactly one wins.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "autolab/ledger.hpp"
#include "autolab/run_lease.hpp"
#include "core/clock.hpp"

using dsx::Code;
using dsx::ManualClock;
using namespace dsx::autolab;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "dsx-lease-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string Ledger() const { return path + "/ledger.sqlite"; }
};

std::unique_ptr<Ledger> OpenOk(const std::string& path, dsx::Clock& clock) {
  auto l = Ledger::Open(path, clock);
  REQUIRE_MESSAGE(l.ok(), l.status().message());
  return std::move(*l);
}

// A live process on this host that is not us: a child blocked on a pipe. Given a ledger path, it
// first takes the lease there as itself, so killing it leaves a dead holder behind.
struct Sleeper {
  pid_t pid = -1;
  int fd = -1;
  explicit Sleeper(const std::string& ledger_path = "") {
    int fds[2], ready[2];
    REQUIRE(pipe(fds) == 0);
    REQUIRE(pipe(ready) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[1]);
      close(ready[0]);
      if (!ledger_path.empty()) {
        auto lease = RunLease::Acquire(ledger_path, LeaseOwner::Self());
        if (!lease.ok()) _exit(10);
        (void)lease->release();  // never released: this process only ever dies holding it
      }
      if (write(ready[1], "r", 1) != 1) _exit(11);
      char c;
      (void)!read(fds[0], &c, 1);
      _exit(0);
    }
    close(fds[0]);
    close(ready[1]);
    char c;
    REQUIRE(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    fd = fds[1];
  }
  LeaseOwner Owner() const {
    auto start = ProcessStartTime(pid);
    REQUIRE(start.ok());
    return {LeaseOwner::Self().host, pid, *start};
  }
  // kill -9, and wait until it has died without collecting it: it stays a zombie.
  void Kill() {
    REQUIRE(kill(pid, SIGKILL) == 0);
    siginfo_t info{};
    REQUIRE(waitid(P_PID, pid, &info, WEXITED | WNOWAIT) == 0);
  }
  void Reap() {
    if (pid > 0) waitpid(pid, nullptr, 0);
    pid = -1;
  }
  ~Sleeper() {
    if (fd >= 0) close(fd);
    Reap();
  }
};

// A child process takes the lease for `owner` and exits without releasing it (as a crash would).
void AcquireAndVanish(const std::string& ledger_path, const LeaseOwner& owner) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto lease = RunLease::Acquire(ledger_path, owner);
    _exit(lease.ok() ? 0 : 1);  // _exit: no destructor runs, the row stays
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

}  // namespace

TEST_CASE("ProcessStartTime: this process has one, a missing pid has none") {
  auto self = ProcessStartTime(getpid());
  REQUIRE(self.ok());
  CHECK(*self > 0);
  CHECK(LeaseOwner::Self().pid_start == *self);
  CHECK(!LeaseOwner::Self().host.empty());
  CHECK(ProcessStartTime(0).status().code() == Code::kNotFound);
  CHECK(ProcessStartTime(0x3fffffff).status().code() == Code::kNotFound);
}

TEST_CASE("two live owners on one host: the second is refused, the first may re-acquire") {
  TempDir dir;
  ManualClock clock;
  auto l = OpenOk(dir.Ledger(), clock);
  Sleeper other;
  LeaseOwner me = LeaseOwner::Self();
  auto mine = RunLease::Acquire(*l, me);
  REQUIRE_MESSAGE(mine.ok(), mine.status().message());
  auto theirs = RunLease::Acquire(*l, other.Owner());
  REQUIRE(!theirs.ok());
  CHECK(theirs.status().code() == Code::kConflict);
  CHECK(theirs.status().message().find("pid " + std::to_string(me.pid)) != std::string::npos);
  // Still refused long after expiry: on the same host liveness decides, not the clock.
  clock.Advance(10 * RunLease::kDefaultTtlMs);
  CHECK(RunLease::Acquire(*l, other.Owner()).status().code() == Code::kConflict);
  auto again = RunLease::Acquire(*l, me);
  CHECK(again.ok());
  auto holder = RunLease::Holder(*l);
  REQUIRE(holder.ok());
  REQUIRE(holder->has_value());
  CHECK((*holder)->owner.pid == me.pid);
}

TEST_CASE("a dead holder on the same host is taken over: killed (zombie), exited, or its pid reused") {
  TempDir dir;
  ManualClock clock;
  auto l = OpenOk(dir.Ledger(), clock);
  LeaseOwner me = LeaseOwner::Self();

  Sleeper holder(dir.Ledger());
  CHECK((*RunLease::Holder(*l))->owner.pid == holder.pid);
  CHECK(RunLease::Acquire(*l, me).status().code() == Code::kConflict);
  holder.Kill();  // killed, not collected yet
  auto taken = RunLease::Acquire(*l, me);
  REQUIRE_MESSAGE(taken.ok(), taken.status().message());
  CHECK((*RunLease::Holder(*l))->owner.pid == me.pid);
  REQUIRE((*taken)->Release().ok());
  holder.Reap();

  // A holder that exited and was collected: its pid is gone.
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto lease = RunLease::Acquire(dir.Ledger(), LeaseOwner::Self());
    _exit(lease.ok() && lease->release() ? 0 : 1);  // exits holding it
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK((*RunLease::Holder(*l))->owner.pid == child);
  auto after_exit = RunLease::Acquire(*l, me);
  REQUIRE_MESSAGE(after_exit.ok(), after_exit.status().message());
  REQUIRE((*after_exit)->Release().ok());

  // Our own pid with another start time: the pid was recycled, the old holder is dead.
  LeaseOwner recycled = me;
  recycled.pid_start = me.pid_start + 1;
  AcquireAndVanish(dir.Ledger(), recycled);
  CHECK((*RunLease::Holder(*l))->owner.pid_start == recycled.pid_start);
  CHECK(RunLease::Acquire(*l, me).ok());
}

TEST_CASE("another host's lease: refused until it expires; renewal pushes expiry; release frees it") {
  TempDir dir;
  ManualClock clock;
  auto l = OpenOk(dir.Ledger(), clock);
  LeaseOwner me = LeaseOwner::Self();
  LeaseOwner remote{"other-host.example", 1, 1};
  auto lease = RunLease::Acquire(*l, remote, 60'000);
  REQUIRE(lease.ok());
  CHECK(!(*lease)->RenewDue());
  clock.Advance(19'999);
  CHECK(!(*lease)->RenewDue());
  clock.Advance(1);
  CHECK((*lease)->RenewDue());  // a third of the ttl
  auto refused = RunLease::Acquire(*l, me);
  CHECK(refused.status().code() == Code::kConflict);
  CHECK(refused.status().message().find("other-host.example") != std::string::npos);
  CHECK(refused.status().message().find("40 s") != std::string::npos);

  REQUIRE((*lease)->Renew().ok());  // at t=20s: now expires at t=80s
  CHECK(!(*lease)->RenewDue());
  CHECK((*RunLease::Holder(*l))->expires_ms == clock.NowMs() + 60'000);
  clock.Advance(59'999);
  CHECK(RunLease::Acquire(*l, me).status().code() == Code::kConflict);
  clock.Advance(1);
  auto mine = RunLease::Acquire(*l, me);
  REQUIRE_MESSAGE(mine.ok(), mine.status().message());

  // The remote holder comes back too late: its renewal is refused, its release changes nothing.
  auto lost = (*lease)->Renew();
  CHECK(lost.code() == Code::kConflict);
  CHECK(lost.message().find("lost") != std::string::npos);
  REQUIRE((*lease)->Release().ok());
  CHECK((*RunLease::Holder(*l))->owner.pid == me.pid);

  REQUIRE((*mine)->Release().ok());
  CHECK(!RunLease::Holder(*l)->has_value());
  // With no lease, anyone may take it; the destructor releases.
  {
    auto r = RunLease::Acquire(*l, remote);
    REQUIRE(r.ok());
    CHECK(RunLease::Holder(*l)->has_value());
  }
  CHECK(!RunLease::Holder(*l)->has_value());
  CHECK(RunLease::Acquire(*l, LeaseOwner{"", 1, 1}).status().code() == Code::kUsage);
}

TEST_CASE("two processes racing for the lease: exactly one wins") {
  for (int round = 0; round < 4; ++round) {
    TempDir dir;
    { OpenOk(dir.Ledger(), dsx::Clock::System()); }  // the schema exists before the race
    int go[2], results[2], hold[2];
    REQUIRE(pipe(go) == 0);
    REQUIRE(pipe(results) == 0);
    REQUIRE(pipe(hold) == 0);
    pid_t kids[2];
    for (pid_t& kid : kids) {
      kid = fork();
      REQUIRE(kid >= 0);
      if (kid == 0) {
        close(go[1]);
        close(results[0]);
        close(hold[1]);
        char c;
        if (read(go[0], &c, 1) != 1) _exit(10);
        auto lease = RunLease::Acquire(dir.Ledger(), LeaseOwner::Self());
        char won = lease.ok() ? 'W' : (lease.status().code() == Code::kConflict ? 'L' : 'E');
        if (write(results[1], &won, 1) != 1) _exit(11);
        (void)!read(hold[0], &c, 1);  // keep the winner alive (and holding) until both answered
        _exit(0);
      }
    }
    close(go[0]);
    close(results[1]);
    close(hold[0]);
    REQUIRE(write(go[1], "gg", 2) == 2);
    close(go[1]);
    std::string answers;
    char c;
    while (answers.size() < 2 && read(results[0], &c, 1) == 1) answers += c;
    close(hold[1]);
    close(results[0]);
    for (pid_t kid : kids) {
      int status = 0;
      REQUIRE(waitpid(kid, &status, 0) == kid);
      CHECK(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
    }
    REQUIRE(answers.size() == 2);
    CHECK_MESSAGE((answers == "WL" || answers == "LW"), "round " << round << ": " << answers);
  }
}
