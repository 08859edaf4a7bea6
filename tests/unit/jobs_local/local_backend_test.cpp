// The local backend with real processes: a detached supervisor per job (this test binary itself,
// started as `unit_jobs_local --dsx-test-supervise JOBDIR`, see SuperviseHook), process trees,
// timeouts, cancel, a supervisor killed with SIGKILL, log following, and a job that outlives the
// process that submitted it. Waits are bounded and generous (30 s): real processes on a loaded
// 2-core machine; each test ends as soon as its condition holds.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "jobs/local/local_backend.hpp"
#include "jobs/local/local_state.hpp"
#include "jobs/local/supervisor.hpp"
#include "jobs/registry.hpp"

using dsx::Code;
using namespace dsx::jobs;
namespace stdfs = std::filesystem;

namespace {

// Runs before doctest's main: when started as a supervisor, be one and never reach the tests.
struct SuperviseHook {
  SuperviseHook() {
    auto cmdline = dsx::fs::ReadFile("/proc/self/cmdline");
    if (!cmdline.ok()) return;
    std::vector<std::string> args;
    std::stringstream in(*cmdline);
    for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
    if (args.size() == 3 && args[1] == "--dsx-test-supervise") std::_Exit(RunSupervisor(args[2]));
  }
} const kSuperviseHook;

constexpr auto kWait = std::chrono::seconds(30);

struct Fixture {
  stdfs::path root;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<LocalBackend> backend;

  Fixture() {
    std::string t = (stdfs::temp_directory_path() / "dsx-jobs-local-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    root = t;
    auto reg = Registry::Open(root.string());
    REQUIRE(reg.ok());
    registry = std::make_unique<Registry>(std::move(*reg));
    backend = std::make_unique<LocalBackend>(Options());
  }
  ~Fixture() {
    std::error_code ec;
    stdfs::remove_all(root, ec);
  }
  LocalBackend::Options Options() const {
    LocalBackend::Options o;
    // Resolved here, as the CLI does (under valgrind, exec of /proc/self/exe would run valgrind).
    o.supervisor_argv = {stdfs::read_symlink("/proc/self/exe").string(), "--dsx-test-supervise"};
    o.grace = std::chrono::milliseconds(500);
    o.jobs_root = root.string();
    return o;
  }
  JobRecord Create(std::vector<std::string> command, std::int64_t timeout_s = 0) {
    JobRequest r;
    r.name = "test";
    r.command = std::move(command);
    r.timeout_s = timeout_s;
    auto rec = registry->Create(r, dsx::NowMs());
    REQUIRE(rec.ok());
    return *rec;
  }
  std::string Dir(const JobRecord& r) const { return registry->Dir(r.id); }
  JobRecord Submit(JobRecord r) {
    auto s = backend->Submit(r, Dir(r));
    REQUIRE_MESSAGE(s.ok(), s.status().message());
    r.backend_id = s->backend_id;
    return r;
  }
  JobStatus WaitTerminal(const JobRecord& r) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    for (;;) {
      auto st = backend->Poll(r);
      REQUIRE(st.ok());
      if (IsTerminal(st->state) || std::chrono::steady_clock::now() > deadline) return *st;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::vector<std::string> Lines(const JobRecord& r) {
    std::vector<std::string> lines;
    auto s = backend->Logs(
        r, Dir(r), false,
        [&](std::string_view l) {
          lines.emplace_back(l);
          return true;
        },
        nullptr);
    CHECK(s.ok());
    return lines;
  }
};

bool WaitFor(const std::function<bool()>& cond) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Dead: no such process, or a zombie nobody reaped yet (an orphan waits for init).
bool Dead(long long pid) {
  return ::kill(static_cast<pid_t>(pid), 0) != 0 || ProcessStartTime(static_cast<int>(pid)) < 0;
}

std::vector<long long> Pids(const std::string& path) {
  std::vector<long long> pids;
  std::ifstream in(path);
  for (long long p; in >> p;) pids.push_back(p);
  return pids;
}

// A tree: the shell, two background sleeps, and a sub-shell with its own background sleep; every
// pid goes to {jobdir}/pids, and "ready" is written once all are started.
const std::vector<std::string> kTree = {
    "/bin/sh", "-c",
    "echo $$ > {jobdir}/pids; sleep 1000 & echo $! >> {jobdir}/pids; sleep 1000 & echo $! >> {jobdir}/pids;"
    " sh -c 'sleep 1000 & echo $! >> {jobdir}/pids; wait' & echo $! >> {jobdir}/pids;"
    " while [ $(wc -l < {jobdir}/pids) -lt 5 ]; do sleep 0.05; done; echo ready > {jobdir}/ready; wait"};

}  // namespace

TEST_CASE("process start time: ours is known, a missing or zombie process has none") {
  CHECK(ProcessStartTime(::getpid()) > 0);
  CHECK(ProcessStartTime(::getpid()) == ProcessStartTime(::getpid()));
  CHECK(ProcessStartTime(0) == -1);
  CHECK(ProcessStartTime(999999999) == -1);
  const pid_t child = ::fork();
  if (child == 0) std::_Exit(0);
  REQUIRE(WaitFor([&] { return ProcessStartTime(child) == -1; }));  // exited, not yet reaped
  CHECK(::kill(child, 0) == 0);                                     // the zombie is still there
  ::waitpid(child, nullptr, 0);
}

TEST_CASE("a job that exits 0 succeeds; its output and stderr are in the log; env, workdir and {jobdir} apply") {
  Fixture f;
  JobRequest r;
  r.command = {"/bin/sh", "-c",
               "echo \"$GREETING\" from \"$(pwd)\"; cat {jobdir}/in.txt; echo oops >&2; "
               "[ \"$OUT\" = \"$DSX_JOB_DIR/out\" ] && [ \"$(pwd)\" = \"$DSX_JOB_DIR\" ]"};
  r.env = {{"GREETING", "hello world"}, {"OUT", "{jobdir}/out"}};
  r.files = {{"in.txt", "file content\n"}};
  auto rec = f.registry->Create(r, dsx::NowMs());
  REQUIRE(rec.ok());
  auto job = f.Submit(*rec);
  auto st = f.WaitTerminal(job);
  CHECK(st.state == JobState::kSucceeded);
  CHECK(st.exit_code == 0);
  CHECK(st.backend_state == "exit 0");
  auto lines = f.Lines(job);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "hello world from " + stdfs::canonical(f.Dir(job)).string());
  CHECK(lines[1] == "file content");
  CHECK(lines[2] == "oops");
  auto local = ReadLocalState(f.Dir(job));
  REQUIRE(local.ok());
  CHECK(std::to_string(local->supervisor_pid) == job.backend_id);
  CHECK(local->started_ms > 0);
  CHECK(local->finished_ms >= local->started_ms);
  CHECK(local->pgid > 0);
  // The supervisor is not our child: it was started detached (double fork + setsid).
  CHECK(::waitpid(static_cast<pid_t>(local->supervisor_pid), nullptr, WNOHANG) == -1);
  CHECK(errno == ECHILD);
}

TEST_CASE("the job does not get the session token unless it asks for it") {
  Fixture f;
  ::setenv("DSX_TOKEN", "session-secret", 1);
  auto plain = f.Submit(f.Create({"/bin/sh", "-c", "echo token=${DSX_TOKEN-unset}"}));
  JobRequest r;
  r.command = {"/bin/sh", "-c", "echo token=${DSX_TOKEN-unset}"};
  r.secret_env = {"DSX_TOKEN"};
  auto asked = f.Submit(*f.registry->Create(r, dsx::NowMs()));
  ::unsetenv("DSX_TOKEN");
  CHECK(f.WaitTerminal(plain).state == JobState::kSucceeded);
  CHECK(f.WaitTerminal(asked).state == JobState::kSucceeded);
  CHECK(f.Lines(plain) == std::vector<std::string>{"token=unset"});
  CHECK(f.Lines(asked) == std::vector<std::string>{"token=session-secret"});
}

TEST_CASE("background children left by a finished command are stopped with it") {
  Fixture f;
  auto job = f.Submit(f.Create({"/bin/sh", "-c", "sleep 1000 & echo $! > {jobdir}/pids; exit 0"}));
  CHECK(f.WaitTerminal(job).state == JobState::kSucceeded);
  auto pids = Pids(f.Dir(job) + "/pids");
  REQUIRE(pids.size() == 1);
  CHECK(WaitFor([&] { return Dead(pids[0]); }));
}

TEST_CASE("a registry root or job folder spelled differently (/./, trailing /) names the same folders") {
  Fixture f;
  auto opts = f.Options();
  opts.jobs_root = f.root.string() + "/./";
  LocalBackend odd(opts);
  auto job = f.Create({"/bin/sh", "-c", "exec sleep 1000"});
  auto s = odd.Submit(job, f.Dir(job) + "/");
  REQUIRE(s.ok());
  job.backend_id = s->backend_id;
  CHECK(odd.Poll(job)->state == JobState::kRunning);
  REQUIRE(odd.Cancel(job).ok());
  CHECK(f.WaitTerminal(job).state == JobState::kCancelled);
}

TEST_CASE("a non-zero exit fails with its code; a workdir applies") {
  Fixture f;
  JobRequest r;
  r.command = {"/bin/sh", "-c", "pwd; exit 3"};
  r.workdir = "/";
  auto rec = f.registry->Create(r, dsx::NowMs());
  auto job = f.Submit(*rec);
  auto st = f.WaitTerminal(job);
  CHECK(st.state == JobState::kFailed);
  CHECK(st.exit_code == 3);
  CHECK(st.backend_state == "exit 3");
  CHECK(f.Lines(job) == std::vector<std::string>{"/"});
}

TEST_CASE("a command that does not exist is Submit's error, not a job that fails later") {
  Fixture f;
  auto rec = f.Create({"dsx-no-such-command-xyz", "--flag"});
  auto s = f.backend->Submit(rec, f.Dir(rec));
  REQUIRE(!s.ok());
  CHECK(s.status().code() == Code::kNotFound);
  CHECK(s.status().message().find("cannot run 'dsx-no-such-command-xyz'") != std::string::npos);
  // The log says it too, for `dsx jobs logs`.
  auto log = dsx::fs::ReadFile(f.Dir(rec) + "/output.log");
  REQUIRE(log.ok());
  CHECK(log->find("dsx-no-such-command-xyz") != std::string::npos);

  JobRequest bad_dir;
  bad_dir.command = {"true"};
  bad_dir.workdir = "/nonexistent/dsx/dir";
  auto rec2 = f.registry->Create(bad_dir, dsx::NowMs());
  auto s2 = f.backend->Submit(*rec2, f.Dir(*rec2));
  CHECK(s2.status().code() == Code::kNotFound);
  CHECK(s2.status().message().find("/nonexistent/dsx/dir") != std::string::npos);
}

TEST_CASE("bad submissions: no command, a missing secret, a supervisor that cannot run") {
  Fixture f;
  auto empty = f.Create({});
  CHECK(f.backend->Submit(empty, f.Dir(empty)).status().code() == Code::kUsage);

  JobRequest r;
  r.command = {"true"};
  r.secret_env = {"DSX_TEST_SECRET_THAT_IS_NOT_SET"};
  ::unsetenv("DSX_TEST_SECRET_THAT_IS_NOT_SET");
  auto rec = f.registry->Create(r, dsx::NowMs());
  auto s = f.backend->Submit(*rec, f.Dir(*rec));
  CHECK(s.status().code() == Code::kUsage);
  CHECK(s.status().message().find("$DSX_TEST_SECRET_THAT_IS_NOT_SET") != std::string::npos);

  auto opts = f.Options();
  opts.supervisor_argv = {"/nonexistent/dsx-supervisor"};
  LocalBackend broken(opts);
  auto job = f.Create({"true"});
  auto s2 = broken.Submit(job, f.Dir(job));
  CHECK(s2.status().code() == Code::kNotFound);
  CHECK(s2.status().message().find("/nonexistent/dsx-supervisor") != std::string::npos);

  // A supervisor that exits without starting the job: its stderr is in the error.
  opts.supervisor_argv = {"/bin/sh", "-c", "echo broken supervisor >&2; exit 1"};
  LocalBackend quits(opts);
  auto s3 = quits.Submit(job, f.Dir(job));
  CHECK(s3.status().code() == Code::kFailed);
  CHECK(s3.status().message().find("broken supervisor") != std::string::npos);
}

// Regression (CI flake, "the job's supervisor exited before starting the job" with an empty log):
// Submit told a live supervisor from a dead one by its command line, which is empty while its exec
// is in flight and the wrapper's own while a wrapper runs. Here a wrapper shows other arguments
// for 300 ms before it execs the real supervisor in the same process; Submit must wait for it.
TEST_CASE("a supervisor that shows other arguments before it starts the job is waited for") {
  Fixture f;
  auto opts = f.Options();
  const std::string exe = opts.supervisor_argv[0];
  opts.supervisor_argv = {"/bin/sh", "-c",
                          "exec /bin/sh -c 'sleep 0.3; exec \"$0\" --dsx-test-supervise \"$1\"' \"$0\" \"$1\" "
                          "not-the-job-folder",
                          exe};
  LocalBackend wrapped(opts);
  auto job = f.Create({"true"});
  auto s = wrapped.Submit(job, f.Dir(job));
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  job.backend_id = s->backend_id;
  CHECK(f.WaitTerminal(job).state == JobState::kSucceeded);
}

TEST_CASE("a timeout stops the whole process tree") {
  Fixture f;
  auto job = f.Submit(f.Create(kTree, /*timeout_s=*/2));
  auto st = f.WaitTerminal(job);
  CHECK(st.state == JobState::kTimeout);
  REQUIRE(stdfs::exists(f.Dir(job) + "/ready"));  // the tree was whole before the timeout hit
  auto pids = Pids(f.Dir(job) + "/pids");
  REQUIRE(pids.size() == 5);
  for (long long pid : pids) {
    INFO(pid);
    CHECK(WaitFor([&] { return Dead(pid); }));
  }
  auto lines = f.Lines(job);
  REQUIRE(!lines.empty());
  CHECK(lines.back() == "dsx: timed out after 2 s; stopped");
}

TEST_CASE("cancel: SIGTERM to the supervisor stops the tree and the job is cancelled") {
  Fixture f;
  auto job = f.Submit(f.Create(kTree));
  REQUIRE(WaitFor([&] { return stdfs::exists(f.Dir(job) + "/ready"); }));
  auto running = f.backend->Poll(job);
  REQUIRE(running.ok());
  CHECK(running->state == JobState::kRunning);
  REQUIRE(f.backend->Cancel(job).ok());
  auto st = f.WaitTerminal(job);
  CHECK(st.state == JobState::kCancelled);
  for (long long pid : Pids(f.Dir(job) + "/pids")) {
    INFO(pid);
    CHECK(WaitFor([&] { return Dead(pid); }));
  }
  CHECK(f.backend->Cancel(job).ok());  // already terminal: fine
}

TEST_CASE("a supervisor killed with SIGKILL leaves the job lost, and cancel never signals a stranger") {
  Fixture f;
  auto job = f.Submit(f.Create({"sleep", "1000"}));
  auto local = ReadLocalState(f.Dir(job));
  REQUIRE(local.ok());
  REQUIRE(::kill(static_cast<pid_t>(local->supervisor_pid), SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return ProcessStartTime(static_cast<int>(local->supervisor_pid)) < 0; }));
  auto st = f.backend->Poll(job);
  REQUIRE(st.ok());
  CHECK(st->state == JobState::kLost);
  CHECK(st->detail == "the supervisor is gone (reboot or kill -9); the job's outcome is unknown");
  CHECK(f.backend->Cancel(job).ok());
  // The job's leader got SIGKILL with its supervisor (PR_SET_PDEATHSIG).
  CHECK(WaitFor([&] { return Dead(local->pgid); }));
  ::kill(static_cast<pid_t>(-local->pgid), SIGKILL);  // belt and braces for this test's machine
}

TEST_CASE("when a supervisor dies with SIGKILL, declaring the job lost stops what it left running") {
  Fixture f;
  auto job = f.Submit(f.Create(kTree));
  REQUIRE(WaitFor([&] { return stdfs::exists(f.Dir(job) + "/ready"); }));
  auto pids = Pids(f.Dir(job) + "/pids");
  REQUIRE(pids.size() == 5);
  auto local = ReadLocalState(f.Dir(job));
  REQUIRE(local.ok());
  REQUIRE(::kill(static_cast<pid_t>(local->supervisor_pid), SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return ProcessStartTime(static_cast<int>(local->supervisor_pid)) < 0; }));
  CHECK(WaitFor([&] { return Dead(pids[0]); }));  // the leader: PR_SET_PDEATHSIG
  CHECK(!Dead(pids[1]));                          // its background sleeps live on ...
  auto st = f.backend->Poll(job);
  REQUIRE(st.ok());
  CHECK(st->state == JobState::kLost);
  CHECK(st->detail.find("; stopped ") != std::string::npos);
  for (long long pid : pids) {  // ... until the job is declared lost
    INFO(pid);
    CHECK(WaitFor([&] { return Dead(pid); }));
  }
}

TEST_CASE("stray killing needs both the group and the job's mark") {
  // A child of ours in its own group, without DSX_JOB_DIR: not a job's stray.
  const pid_t child = ::fork();
  if (child == 0) {
    ::setpgid(0, 0);
    ::execlp("sleep", "sleep", "1000", static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::setpgid(child, child);
  CHECK(KillJobStrays(child, "/tmp/some-job") == 0);
  ::setenv("DSX_JOB_DIR", "/tmp/some-job", 1);
  const pid_t marked = ::fork();
  if (marked == 0) {
    ::setpgid(0, child);
    ::execlp("sleep", "sleep", "1000", static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::unsetenv("DSX_JOB_DIR");
  REQUIRE(WaitFor([&] {  // exec'd, so /proc/<pid>/environ is sleep's, with the mark
    auto env = dsx::fs::ReadFile("/proc/" + std::to_string(marked) + "/cmdline");
    return env.ok() && env->rfind("sleep", 0) == 0;
  }));
  CHECK(KillJobStrays(child, "/tmp/other-job") == 0);
  CHECK(KillJobStrays(child, "/tmp/some-job") == 1);
  CHECK(::waitpid(marked, nullptr, 0) == marked);
  CHECK(::kill(child, 0) == 0);  // the unmarked one is untouched
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

TEST_CASE("a pid reused by another process is not taken for the supervisor") {
  Fixture f;
  auto job = f.Create({"true"});
  // local.json says running under our own pid, but with another start time: a reused pid.
  LocalState fake;
  fake.supervisor_pid = ::getpid();
  fake.supervisor_start = ProcessStartTime(::getpid()) + 1;
  fake.state = JobState::kRunning;
  REQUIRE(dsx::fs::AtomicWriteFile(f.Dir(job) + "/local.json", ToJson(fake).dump()).ok());
  job.backend_id = std::to_string(::getpid());
  auto st = f.backend->Poll(job);
  REQUIRE(st.ok());
  CHECK(st->state == JobState::kLost);
  CHECK(f.backend->Cancel(job).ok());  // and we are still alive: no SIGTERM was sent to us

  // No local.json and no supervisor at all: lost too.
  auto none = f.Create({"true"});
  CHECK(f.backend->Poll(none)->detail.find("never started") == 0);  // no backend id: never submitted
  none.backend_id = "999999999";
  CHECK(f.backend->Poll(none)->state == JobState::kLost);
  CHECK(f.backend->Poll(none)->detail.find("the supervisor is gone") == 0);
  // A damaged local.json is an error, not a guess.
  REQUIRE(dsx::fs::AtomicWriteFile(f.Dir(none) + "/local.json", "{\"state\": 5}").ok());
  CHECK(f.backend->Poll(none).status().code() == Code::kFailed);
}

TEST_CASE("following the log returns every line and ends when the job does") {
  Fixture f;
  auto job = f.Submit(
      f.Create({"/bin/sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done; printf 'no newline'; exit 1"}));
  std::vector<std::string> lines;
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::thread guard([&] {  // bounds the test if following never ended
    WaitFor([&] { return done.load(); });
    stop = true;
  });
  auto s = f.backend->Logs(
      job, f.Dir(job), true,
      [&](std::string_view l) {
        lines.emplace_back(l);
        return true;
      },
      &stop);
  const bool ended_by_itself = !stop.load();
  done = true;
  guard.join();
  CHECK(s.ok());
  CHECK(ended_by_itself);
  CHECK(lines == std::vector<std::string>{"line1", "line2", "line3", "no newline"});
  CHECK(f.backend->Poll(job)->state == JobState::kFailed);
}

TEST_CASE("following stops when asked: *stop or the sink returning false") {
  Fixture f;
  auto job = f.Submit(f.Create({"/bin/sh", "-c", "echo first; echo second; exec sleep 1000"}));
  std::atomic<bool> stop{false};
  std::vector<std::string> lines;
  auto s = f.backend->Logs(
      job, f.Dir(job), true,
      [&](std::string_view l) {
        lines.emplace_back(l);
        if (lines.size() == 2) stop = true;
        return true;
      },
      &stop);
  CHECK(s.ok());
  CHECK(lines == std::vector<std::string>{"first", "second"});
  int calls = 0;
  CHECK(f.backend
            ->Logs(
                job, f.Dir(job), true, [&](std::string_view) { return ++calls < 1; }, nullptr)
            .ok());
  CHECK(calls == 1);
  REQUIRE(f.backend->Cancel(job).ok());
  CHECK(f.WaitTerminal(job).state == JobState::kCancelled);
}

TEST_CASE("a job outlives the process that submitted it; a new backend sees it to the end") {
  Fixture f;
  auto job = f.Create({"/bin/sh", "-c", "while [ ! -e {jobdir}/go ]; do sleep 0.05; done; echo finished"});
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t submitter = ::fork();
  if (submitter == 0) {  // a dsx that submits and exits at once
    ::close(pipe_fds[0]);
    LocalBackend b(f.Options());
    auto s = b.Submit(job, f.Dir(job));
    const std::string id = s.ok() ? s->backend_id : "error: " + s.status().message();
    (void)!::write(pipe_fds[1], id.data(), id.size());
    std::_Exit(s.ok() ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  char buf[256];
  const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(submitter, &status, 0) == submitter);
  REQUIRE(n > 0);
  job.backend_id.assign(buf, static_cast<std::size_t>(n));
  REQUIRE_MESSAGE(WIFEXITED(status), job.backend_id);
  REQUIRE_MESSAGE(WEXITSTATUS(status) == 0, job.backend_id);
  // The submitter is gone; the job still runs.
  LocalBackend later(f.Options());
  auto st = later.Poll(job);
  REQUIRE(st.ok());
  CHECK(st->state == JobState::kRunning);
  std::ofstream(f.Dir(job) + "/go") << "go";
  CHECK(f.WaitTerminal(job).state == JobState::kSucceeded);
  CHECK(f.Lines(job) == std::vector<std::string>{"finished"});
}

TEST_CASE("render shows the command line, env, workdir and timeout, shell-quoted") {
  Fixture f;
  JobRequest r;
  r.command = {"python3", "{jobdir}/train.py", "--name", "it's mine"};
  r.env = {{"A", "1 2"}};
  r.secret_env = {"HF_TOKEN"};
  r.timeout_s = 3600;
  JobRecord rec;
  rec.request = r;  // no id yet: a dry run
  auto out = f.backend->Render(rec);
  REQUIRE(out.ok());
  CHECK(out->find("command: python3 {jobdir}/train.py --name 'it'\\''s mine'\n") != std::string::npos);
  CHECK(out->find("env: 'A=1 2'\n") != std::string::npos);
  CHECK(out->find("workdir: {jobdir}\n") != std::string::npos);
  CHECK(out->find("timeout: 3600 s") != std::string::npos);
  CHECK(out->find("HF_TOKEN") != std::string::npos);
  rec.id = "j-20261207-013000-3fa9c1";
  auto with_id = f.backend->Render(rec);
  CHECK(with_id->find(f.root.string() + "/j-20261207-013000-3fa9c1/train.py") != std::string::npos);
  rec.request.command.clear();
  CHECK(f.backend->Render(rec).status().code() == Code::kUsage);
}

TEST_CASE("the supervisor records why a job cannot start, and fails without a job folder") {
  Fixture f;
  auto job = f.Create({"true"});
  std::ofstream(f.Dir(job) + "/job.json") << "{\"id\": 1";  // damaged after Create
  auto run = [](const std::string& dir) {
    const pid_t child = ::fork();
    if (child == 0) {
      const int null_fd = ::open("/dev/null", O_WRONLY);
      ::dup2(null_fd, 2);  // its complaint goes to supervisor.log in real use
      std::_Exit(RunSupervisor(dir));
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  CHECK(run(f.Dir(job)) == 0);  // the outcome is recorded: that is the supervisor's success
  auto local = ReadLocalState(f.Dir(job));
  REQUIRE(local.ok());
  CHECK(local->state == JobState::kFailed);
  CHECK(local->error.find("is not a job") != std::string::npos);
  CHECK(local->pgid == 0);
  CHECK(f.backend->Poll(job)->state == JobState::kFailed);
  CHECK(run(f.Dir(job) + "/missing") == 1);
}

TEST_CASE("a submitter with its stdio closed still starts the job and keeps the supervisor's stderr") {
  Fixture f;
  auto job = f.Create({"/bin/sh", "-c", "echo ran"});
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t submitter = ::fork();
  if (submitter == 0) {  // like a dsx run from cron with 0, 1 and 2 closed
    ::close(pipe_fds[0]);
    const int report = ::fcntl(pipe_fds[1], F_DUPFD, 10);
    ::close(pipe_fds[1]);
    ::close(0);
    ::close(1);
    ::close(2);
    LocalBackend b(f.Options());
    auto s = b.Submit(job, f.Dir(job));
    auto opts = f.Options();
    opts.supervisor_argv = {"/bin/sh", "-c", "echo broken supervisor >&2; exit 1"};
    LocalBackend broken(opts);
    auto job2 = f.Create({"true"});
    auto s2 = broken.Submit(job2, f.Dir(job2));  // its stderr must reach supervisor.log
    const bool heard = s2.status().message().find("broken supervisor") != std::string::npos;
    const char result[2] = {s.ok() ? 'y' : 'n', heard ? 'y' : 'n'};
    (void)!::write(report, result, 2);
    std::_Exit(0);
  }
  ::close(pipe_fds[1]);
  char result[2] = {0, 0};
  CHECK(::read(pipe_fds[0], result, 2) == 2);
  ::close(pipe_fds[0]);
  ::waitpid(submitter, nullptr, 0);
  CHECK(result[0] == 'y');
  CHECK(result[1] == 'y');
  REQUIRE(WaitFor([&] { return ReadLocalState(f.Dir(job)).ok() && IsTerminal(ReadLocalState(f.Dir(job))->state); }));
  CHECK(f.Lines(job) == std::vector<std::string>{"ran"});
}
