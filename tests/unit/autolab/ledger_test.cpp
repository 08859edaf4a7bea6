// ledger.hpp: stable ids, every transition and its refusals, the events history, promotion, curves,
// meta, the schema version guard, and crash safety for real: a forked driver killed with SIGKILL
// mid-way, then resumed, never loses an acknowledged transition nor applies one twice.
#include <doctest/doctest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"  // both in one TU: the regression test for the name clash below
#include "core/clock.hpp"

using dsx::Code;
using dsx::ManualClock;
using namespace dsx::autolab;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "dsx-ledger-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string Ledger() const { return path + "/ledger.sqlite"; }
};

ExperimentRecord Exp(double lr, std::int64_t seed, std::string patch = "") {
  ExperimentRecord e;
  e.params = {{"lr", lr}, {"width", 64}};
  e.seed = seed;
  e.patch = std::move(patch);
  e.hypothesis = "lr " + std::to_string(lr);
  e.rationale = "sweep";
  return e;
}

std::unique_ptr<Ledger> OpenOk(const std::string& path, dsx::Clock& clock) {
  auto l = Ledger::Open(path, clock);
  REQUIRE_MESSAGE(l.ok(), l.status().message());
  return std::move(*l);
}

std::string ProposeOk(Ledger& l, const ExperimentRecord& e) {
  auto r = l.Propose(e);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(*r);
  return ExperimentId(e.params, e.seed, e.patch);
}

ExpState StateOf(Ledger& l, const std::string& id) {
  auto e = l.Get(id);
  REQUIRE(e.ok());
  return e->state;
}

std::string Pragma(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace

// Regression: the ledger's record was once named Experiment like plan.hpp's `experiment:` section;
// the two classes broke the ODR (a crash in ~Experiment) and would not compile together. This file
// includes both headers, so a clash fails the build.
static_assert(!std::is_same_v<dsx::autolab::Experiment, ExperimentRecord>);

TEST_CASE("ids are stable: key order does not matter, the seed does; repeats share a config key") {
  nlohmann::json a = nlohmann::json::parse(R"({"lr": 0.1, "width": 64})");
  nlohmann::json b = nlohmann::json::parse(R"({"width": 64, "lr": 0.1})");
  CHECK(ExperimentId(a, 1, "") == ExperimentId(b, 1, ""));
  CHECK(ExperimentId(a, 1, "") != ExperimentId(a, 2, ""));
  CHECK(ExperimentId(a, 1, "") != ExperimentId(a, 1, "--- a\n+++ b\n"));
  CHECK(ConfigKey(a, "") == ConfigKey(b, ""));
  CHECK(ConfigKey(a, "") != ConfigKey(a, "p"));
  std::string id = ExperimentId(a, 1, "");
  CHECK(id.size() == 14);
  CHECK(id.rfind("e-", 0) == 0);
  CHECK(ConfigKey(a, "").rfind("c-", 0) == 0);
  CHECK(ParseExpState("cancelled") == ExpState::kCancelled);
  CHECK(!ParseExpState("done"));
}

TEST_CASE("Open makes a WAL database with the schema version; a newer version is refused") {
  TempDir dir;
  ManualClock clock;
  { auto l = OpenOk(dir.Ledger(), clock); }
  CHECK(Pragma(dir.Ledger(), "PRAGMA journal_mode") == "wal");
  CHECK(Pragma(dir.Ledger(), "SELECT max(version) FROM schema_version") == "1");
  { auto again = OpenOk(dir.Ledger(), clock); }  // reopening an existing ledger is fine
  CHECK(Pragma(dir.Ledger(), "SELECT count(*) FROM schema_version") == "1");
  Pragma(dir.Ledger(), "UPDATE schema_version SET version = 99");
  auto newer = Ledger::Open(dir.Ledger(), clock);
  REQUIRE(!newer.ok());
  CHECK(newer.status().code() == Code::kConflict);
  CHECK(newer.status().message().find("99") != std::string::npos);
  CHECK(newer.status().message().find("newer") != std::string::npos);

  auto nowhere = Ledger::Open(dir.path + "/no/such/dir/ledger.sqlite", clock);
  CHECK(nowhere.status().code() == Code::kUnavailable);
}

TEST_CASE("a file that is not a ledger is refused with a clear error and left as it was") {
  TempDir dir;
  ManualClock clock;
  const std::string junk = "this is not an SQLite database, and it must survive Open\n";
  {
    FILE* f = std::fopen(dir.Ledger().c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto l = Ledger::Open(dir.Ledger(), clock);
  REQUIRE(!l.ok());
  CHECK(l.status().message().find("not a database") != std::string::npos);
  CHECK(l.status().message().find(dir.Ledger()) != std::string::npos);
  std::string back(junk.size() + 10, '\0');
  FILE* f = std::fopen(dir.Ledger().c_str(), "rb");
  REQUIRE(f != nullptr);
  back.resize(std::fread(back.data(), 1, back.size(), f));
  std::fclose(f);
  CHECK(back == junk);
}

TEST_CASE("Propose: once only (never run twice), fields kept, ids checked") {
  TempDir dir;
  ManualClock clock(1'000);
  auto l = OpenOk(dir.Ledger(), clock);
  ExperimentRecord e = Exp(0.1, 7, "patch-text");
  std::string id = ProposeOk(*l, e);
  auto again = l->Propose(e);
  REQUIRE(again.ok());
  CHECK(!*again);
  // Even after it finished, proposing it again is refused: it will not be run twice.
  REQUIRE(l->Queue(id).ok());
  REQUIRE(l->Start(id, "j-1", "h", 42).ok());
  REQUIRE(l->Finish(id, 0.5, "log").ok());
  CHECK(!*l->Propose(e));
  CHECK(l->List()->size() == 1);
  CHECK(l->Events(id)->size() == 4);

  auto got = l->Get(id);
  REQUIRE(got.ok());
  CHECK(got->id == id);
  CHECK(got->config_key == ConfigKey(e.params, e.patch));
  CHECK(got->params == e.params);
  CHECK(got->seed == 7);
  CHECK(got->patch == "patch-text");
  CHECK(got->hypothesis == e.hypothesis);
  CHECK(got->rationale == "sweep");
  CHECK(got->created_ms == 1'000);

  ExperimentRecord wrong = Exp(0.2, 1);
  wrong.id = "e-000000000000";
  CHECK(l->Propose(wrong).status().code() == Code::kUsage);
  ExperimentRecord not_object = Exp(0.2, 1);
  not_object.params = nlohmann::json::array({1, 2});
  CHECK(l->Propose(not_object).status().code() == Code::kUsage);
  CHECK(l->Get("e-missing").status().code() == Code::kNotFound);
}

TEST_CASE("the whole life of an experiment, each step an event") {
  TempDir dir;
  ManualClock clock(10'000);
  auto l = OpenOk(dir.Ledger(), clock);
  std::string id = ProposeOk(*l, Exp(0.1, 1));
  clock.Advance(1);
  REQUIRE(l->Queue(id).ok());
  clock.Advance(1);
  REQUIRE(l->Start(id, "j-7", "node1", 4242).ok());
  auto running = l->Get(id);
  CHECK(running->state == ExpState::kRunning);
  CHECK(running->attempts == 1);
  CHECK(running->job_id == "j-7");
  CHECK(running->host == "node1");
  CHECK(running->pid == 4242);
  CHECK(running->started_ms == 10'002);
  clock.Advance(5);
  REQUIRE(l->Finish(id, 1.25, "/run/e/log.txt").ok());
  auto done = l->Get(id);
  CHECK(done->state == ExpState::kFinished);
  REQUIRE(done->metric.has_value());
  CHECK(*done->metric == 1.25);
  CHECK(done->log_path == "/run/e/log.txt");
  CHECK(done->finished_ms == 10'007);

  auto events = l->Events(id);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 4);
  std::vector<std::pair<std::string, std::string>> steps;
  for (const auto& ev : *events) steps.emplace_back(ev.from_state, ev.to_state);
  CHECK(steps == std::vector<std::pair<std::string, std::string>>{
                     {"", "proposed"}, {"proposed", "queued"}, {"queued", "running"}, {"running", "finished"}});
  CHECK((*events)[2].detail.find("j-7") != std::string::npos);
  CHECK((*events)[3].ms == 10'007);
  CHECK((*events)[3].detail.find("1.25") != std::string::npos);
}

TEST_CASE("refused transitions name both states, change nothing and record no event") {
  TempDir dir;
  ManualClock clock;
  auto l = OpenOk(dir.Ledger(), clock);
  std::string id = ProposeOk(*l, Exp(0.1, 1));

  auto refused = [&](dsx::Status s, const char* cur, const char* wanted) {
    CHECK(s.code() == Code::kConflict);
    CHECK_MESSAGE(s.message().find(cur) != std::string::npos, s.message());
    CHECK_MESSAGE(s.message().find(wanted) != std::string::npos, s.message());
  };
  refused(l->Start(id, "j", "h", 1), "proposed", "queued");
  refused(l->Finish(id, 1.0, "log"), "proposed", "running");
  refused(l->Fail(id, "x"), "proposed", "running");
  refused(l->Prune(id, "x"), "proposed", "running");
  refused(l->Requeue(id, "x"), "proposed", "running");
  refused(l->Promote(id), "proposed", "finished");
  REQUIRE(l->Queue(id).ok());
  refused(l->Queue(id), "queued", "proposed");
  refused(l->Finish(id, 1.0, "log"), "queued", "running");
  refused(l->Prune(id, "x"), "queued", "running");
  REQUIRE(l->Start(id, "j", "h", 1).ok());
  refused(l->Start(id, "j", "h", 1), "running", "queued");
  refused(l->Queue(id), "running", "proposed");
  REQUIRE(l->Finish(id, 2.0, "log").ok());
  refused(l->Finish(id, 3.0, "log"), "finished", "running");
  refused(l->Fail(id, "late"), "finished", "running");
  refused(l->Cancel(id, "late"), "finished", "proposed");
  refused(l->Requeue(id, "late"), "finished", "running");
  CHECK(StateOf(*l, id) == ExpState::kFinished);
  CHECK(*l->Get(id)->metric == 2.0);
  CHECK(l->Events(id)->size() == 4);

  CHECK(l->Queue("e-nope").code() == Code::kNotFound);
  CHECK(l->Finish("e-nope", 1, "").code() == Code::kNotFound);
  CHECK(l->Promote("e-nope").code() == Code::kNotFound);

  std::string nan_one = ProposeOk(*l, Exp(0.2, 1));
  REQUIRE(l->Queue(nan_one).ok());
  REQUIRE(l->Start(nan_one, "j", "h", 1).ok());
  CHECK(l->Finish(nan_one, std::nan(""), "log").code() == Code::kUsage);
  CHECK(l->Finish(nan_one, INFINITY, "log").code() == Code::kUsage);
  CHECK(StateOf(*l, nan_one) == ExpState::kRunning);
}

TEST_CASE("fail, prune, cancel and requeue keep their reason; a requeued one starts again") {
  TempDir dir;
  ManualClock clock;
  auto l = OpenOk(dir.Ledger(), clock);
  std::string a = ProposeOk(*l, Exp(0.1, 1));
  std::string b = ProposeOk(*l, Exp(0.2, 1));
  std::string c = ProposeOk(*l, Exp(0.3, 1));
  std::string d = ProposeOk(*l, Exp(0.4, 1));
  std::string q = ProposeOk(*l, Exp(0.5, 1));
  for (const auto& id : {a, b, c, q}) REQUIRE(l->Queue(id).ok());
  for (const auto& id : {a, b, c}) REQUIRE(l->Start(id, "j-" + id, "h", 100).ok());

  REQUIRE(l->Fail(a, "exit status 1").ok());
  REQUIRE(l->Prune(b, "median stopping at step 20").ok());
  REQUIRE(l->Cancel(d, "budget spent").ok());        // straight from proposed
  REQUIRE(l->Fail(q, "patch does not apply").ok());  // straight from queued
  CHECK(l->Get(a)->reason == "exit status 1");
  CHECK(l->Get(b)->state == ExpState::kPruned);
  CHECK(l->Get(d)->state == ExpState::kCancelled);
  CHECK(l->Get(q)->state == ExpState::kFailed);

  REQUIRE(l->Requeue(c, "pid 100 is gone").ok());
  auto requeued = l->Get(c);
  CHECK(requeued->state == ExpState::kQueued);
  CHECK(requeued->reason == "pid 100 is gone");
  CHECK(requeued->attempts == 1);
  REQUIRE(l->Start(c, "j-2", "h", 101).ok());
  CHECK(l->Get(c)->attempts == 2);
  CHECK(l->Get(c)->job_id == "j-2");
  auto ev = l->Events(c);
  REQUIRE(ev->size() == 5);
  CHECK((*ev)[3].from_state == "running");
  CHECK((*ev)[3].to_state == "queued");
  CHECK((*ev)[3].detail == "pid 100 is gone");
  REQUIRE(l->Cancel(c, "stopped by the user").ok());  // a running one can be cancelled

  auto failed = l->List(ExpState::kFailed);
  REQUIRE(failed.ok());
  REQUIRE(failed->size() == 2);
  CHECK((*failed)[0].id == a);  // ordered by seq
  CHECK((*failed)[1].id == q);
  auto all = l->List();
  REQUIRE(all->size() == 5);
  for (size_t i = 1; i < all->size(); ++i) CHECK((*all)[i - 1].seq < (*all)[i].seq);
}

TEST_CASE("promotion: finished only, one at a time, the previous loses it in the same transaction") {
  TempDir dir;
  ManualClock clock;
  auto l = OpenOk(dir.Ledger(), clock);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    std::string id = ProposeOk(*l, Exp(0.1 * (i + 1), 1));
    REQUIRE(l->Queue(id).ok());
    REQUIRE(l->Start(id, "j", "h", 1).ok());
    REQUIRE(l->Finish(id, 1.0 - 0.1 * i, "log").ok());
    ids.push_back(id);
  }
  REQUIRE(l->Promote(ids[0]).ok());
  CHECK(l->Get(ids[0])->promoted);
  REQUIRE(l->Promote(ids[0]).ok());  // already promoted: no-op, no event
  CHECK(l->Events(ids[0])->size() == 5);
  REQUIRE(l->Promote(ids[2]).ok());
  CHECK(!l->Get(ids[0])->promoted);
  CHECK(l->Get(ids[2])->promoted);
  int promoted = 0;
  auto listed = l->List();  // kept in a variable: a range-for over *l->List() would dangle
  REQUIRE(listed.ok());
  for (const auto& e : *listed) promoted += e.promoted ? 1 : 0;
  CHECK(promoted == 1);
  auto ev0 = l->Events(ids[0]);
  CHECK(ev0->back().detail == "unpromoted: " + ids[2]);
  auto ev2 = l->Events(ids[2]);
  CHECK(ev2->back().detail == "promoted over " + ids[0]);
  CHECK(ev2->back().from_state == "finished");
  CHECK(ev2->back().to_state == "finished");
}

TEST_CASE("curves and meta") {
  TempDir dir;
  ManualClock clock;
  auto l = OpenOk(dir.Ledger(), clock);
  std::string id = ProposeOk(*l, Exp(0.1, 1));
  REQUIRE(l->AddIntermediate(id, 20, 0.8).ok());
  REQUIRE(l->AddIntermediate(id, 10, 1.2).ok());
  REQUIRE(l->AddIntermediate(id, 20, 0.7).ok());  // a repeated step replaces its value
  auto curve = l->Curve(id);
  REQUIRE(curve.ok());
  CHECK(*curve == std::vector<std::pair<std::int64_t, double>>{{10, 1.2}, {20, 0.7}});
  CHECK(l->AddIntermediate("e-nope", 1, 1.0).code() == Code::kNotFound);
  CHECK(l->AddIntermediate(id, 30, std::nan("")).code() == Code::kUsage);
  CHECK(l->Curve("e-nope")->empty());

  CHECK(!l->Meta("plan_hash")->has_value());
  REQUIRE(l->SetMeta("plan_hash", "abc").ok());
  REQUIRE(l->SetMeta("plan_hash", "def").ok());
  REQUIRE(l->SetMeta("run", "digits").ok());
  l.reset();
  auto reopened = OpenOk(dir.Ledger(), clock);
  CHECK(**reopened->Meta("plan_hash") == "def");
  CHECK(**reopened->Meta("run") == "digits");
  CHECK(reopened->Curve(id)->size() == 2);
}

namespace {

// The order an experiment moves through in the crash test's driver.
int Rank(ExpState s) {
  switch (s) {
    case ExpState::kProposed: return 1;
    case ExpState::kQueued: return 2;
    case ExpState::kRunning: return 3;
    case ExpState::kFinished: return 4;
    default: return 99;
  }
}

struct Ack {
  std::int32_t index;
  std::int32_t rank;
};

// A driver in a child process: proposes experiments 0..count-1 and walks each to finished, from
// whatever state the ledger says it is in (a resume). After each committed transition it writes
// an Ack to `fd`. Never returns.
[[noreturn]] void Drive(const std::string& path, int count, int fd) {
  auto opened = Ledger::Open(path);
  if (!opened.ok()) _exit(10);
  Ledger& l = **opened;
  for (int i = 0; i < count; ++i) {
    ExperimentRecord e = Exp(0.001 * (i + 1), i);
    auto fresh = l.Propose(e);
    if (!fresh.ok()) _exit(11);
    std::string id = ExperimentId(e.params, e.seed, e.patch);
    auto ack = [&](ExpState s) {
      Ack a{i, Rank(s)};
      if (write(fd, &a, sizeof a) != sizeof a) _exit(12);
    };
    if (*fresh) ack(ExpState::kProposed);
    while (true) {
      auto cur = l.Get(id);
      if (!cur.ok()) _exit(13);
      dsx::Status s;
      ExpState next;
      if (cur->state == ExpState::kProposed) {
        next = ExpState::kQueued;
        s = l.Queue(id);
      } else if (cur->state == ExpState::kQueued) {
        next = ExpState::kRunning;
        s = l.Start(id, "j-" + std::to_string(i), "host", getpid());
      } else if (cur->state == ExpState::kRunning) {
        next = ExpState::kFinished;
        s = l.Finish(id, i * 0.5, "log-" + std::to_string(i));
      } else {
        break;
      }
      if (!s.ok()) _exit(14);
      ack(next);
    }
  }
  _exit(0);
}

// Runs a driver and SIGKILLs it once `kill_after` acks arrived (0: let it finish). Returns every
// ack the driver wrote before it died.
std::vector<Ack> RunDriver(const std::string& path, int count, int kill_after) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    Drive(path, count, fds[1]);
  }
  close(fds[1]);
  std::vector<Ack> acks;
  Ack a;
  while (read(fds[0], &a, sizeof a) == static_cast<ssize_t>(sizeof a)) {
    acks.push_back(a);
    if (kill_after > 0 && static_cast<int>(acks.size()) == kill_after) {
      kill(pid, SIGKILL);
      break;
    }
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  // Acks written after the one we stopped at but before the kill landed are in the pipe still.
  while (read(fds[0], &a, sizeof a) == static_cast<ssize_t>(sizeof a)) acks.push_back(a);
  close(fds[0]);
  if (kill_after > 0) {
    CHECK(WIFSIGNALED(status));
  } else {
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  return acks;
}

// Every acknowledged transition is in the ledger, and the database is intact.
void CheckDurable(const std::string& path, const std::vector<Ack>& acks) {
  CHECK(Pragma(path, "PRAGMA integrity_check") == "ok");
  ManualClock clock;
  auto l = OpenOk(path, clock);
  std::map<int, int> reached;
  for (const Ack& a : acks) reached[a.index] = std::max(reached[a.index], a.rank);
  for (auto [index, rank] : reached) {
    ExperimentRecord e = Exp(0.001 * (index + 1), index);
    auto got = l->Get(ExperimentId(e.params, e.seed, e.patch));
    REQUIRE_MESSAGE(got.ok(), "acknowledged experiment " << index << " lost");
    CHECK_MESSAGE(Rank(got->state) >= rank, "experiment " << index << " acknowledged at rank " << rank);
  }
  // Each experiment's history matches its state: no transition half-applied.
  auto listed = l->List();
  REQUIRE(listed.ok());
  for (const auto& e : *listed) CHECK(static_cast<int>(l->Events(e.id)->size()) == Rank(e.state));
}

}  // namespace

TEST_CASE("crash safety: SIGKILL mid-way keeps every acknowledged transition; the resume never repeats one") {
  TempDir dir;
  const int kCount = 30;
  std::vector<Ack> all;
  for (int kill_after : {3, 17, 41}) {
    std::vector<Ack> acks = RunDriver(dir.Ledger(), kCount, kill_after);
    CHECK(static_cast<int>(acks.size()) >= kill_after);
    all.insert(all.end(), acks.begin(), acks.end());
    CheckDurable(dir.Ledger(), all);
  }
  std::vector<Ack> rest = RunDriver(dir.Ledger(), kCount, 0);
  all.insert(all.end(), rest.begin(), rest.end());
  CheckDurable(dir.Ledger(), all);

  // Across the four runs no transition was acknowledged twice: nothing ran twice. (A kill between
  // a commit and its ack loses only the ack: at most one per kill.)
  std::map<std::pair<int, int>, int> seen;
  for (const Ack& a : all) ++seen[{a.index, a.rank}];
  CHECK(seen.size() <= static_cast<size_t>(kCount * 4));
  CHECK(seen.size() >= static_cast<size_t>(kCount * 4 - 3));
  for (auto [key, n] : seen) CHECK_MESSAGE(n == 1, "experiment " << key.first << " rank " << key.second);
  ManualClock clock;
  auto l = OpenOk(dir.Ledger(), clock);
  auto finished = l->List(ExpState::kFinished);
  REQUIRE(finished->size() == static_cast<size_t>(kCount));
  for (const auto& e : *finished) {
    CHECK(e.attempts == 1);
    CHECK(l->Events(e.id)->size() == 4);
  }
}
