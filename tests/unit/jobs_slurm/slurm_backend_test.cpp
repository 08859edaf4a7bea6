// SlurmBackend through its command-runner seam: the exact argv of every client call, the script
// Submit writes, how answers become JobStatus (squeue's fast path, scontrol after the job left
// squeue, neither => lost), error mapping (sbatch missing, a bad partition, a controller that
// is down), Cancel, and Logs(follow) driven by a ManualClock while the fake cluster appends to
// output.log between polls.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "jobs/slurm/slurm_backend.hpp"

using namespace dsx;
using namespace dsx::jobs;

namespace {

namespace sfs = std::filesystem;

// A fake Slurm: answers queued in order, every argv recorded. An answer may run an action first
// (append to the log file, flip a stop flag) to stand for what the cluster did meanwhile.
struct FakeSlurm {
  struct Answer {
    std::string expect_tool;  // "squeue", "scontrol", ... (argv[0]'s last component)
    Result<CommandResult> result = CommandResult{};
    std::function<void()> before;
  };
  std::deque<Answer> answers;
  std::vector<std::vector<std::string>> calls;

  void Add(std::string tool, int code, std::string out, std::string err = "", std::function<void()> before = {}) {
    answers.push_back({std::move(tool), CommandResult{code, std::move(out), std::move(err)}, std::move(before)});
  }
  void AddStatus(std::string tool, Status s) { answers.push_back({std::move(tool), std::move(s), {}}); }

  CommandRunner Runner() {
    return [this](const std::vector<std::string>& argv, const std::string& in) -> Result<CommandResult> {
      calls.push_back(argv);
      CHECK(in.empty());
      REQUIRE_MESSAGE(!answers.empty(), "unexpected call: " << argv[0]);
      Answer a = std::move(answers.front());
      answers.pop_front();
      CHECK(sfs::path(argv[0]).filename() == a.expect_tool);
      if (a.before) a.before();
      return a.result;
    };
  }
};

struct TempDir {
  sfs::path path;
  TempDir() {
    std::string tmpl = (sfs::temp_directory_path() / "dsx_slurm_unit_XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { sfs::remove_all(path); }
};

JobRecord Record(std::string backend_id = "4242") {
  JobRecord r;
  r.id = "j-20261207-013000-3fa9c1";
  r.request.name = "demo";
  r.request.backend = "slurm";
  r.request.command = {"bash", "-c", "echo hi"};
  r.backend_id = std::move(backend_id);
  return r;
}

void Append(const sfs::path& file, const std::string& text) { std::ofstream(file, std::ios::app) << text; }

using Argv = std::vector<std::string>;

}  // namespace

TEST_CASE("Submit writes job.sbatch and runs sbatch --parsable on it") {
  TempDir dir;
  FakeSlurm slurm;
  slurm.Add("sbatch", 0, "4242\n");
  SlurmBackend::Options o;
  o.partition = "debug";
  o.bin_dir = "/opt/slurm/bin";
  o.run = slurm.Runner();
  SlurmBackend backend(o);
  auto sub = backend.Submit(Record(""), dir.path.string());
  REQUIRE(sub.ok());
  CHECK(sub->backend_id == "4242");
  CHECK(sub->url.empty());
  const std::string script_path = (dir.path / "job.sbatch").string();
  REQUIRE(slurm.calls.size() == 1);
  CHECK(slurm.calls[0] == Argv{"/opt/slurm/bin/sbatch", "--parsable", script_path});
  auto written = fs::ReadFile(script_path);
  REQUIRE(written.ok());
  CHECK(*written == *backend.Script(Record(""), dir.path.string()));
  CHECK(written->find("#SBATCH --partition=debug\n") != std::string::npos);
  CHECK(written->find("#SBATCH --output=" + dir.path.string() + "/output.log\n") != std::string::npos);
}

TEST_CASE("Submit keeps a cluster name from a federated sbatch") {
  TempDir dir;
  FakeSlurm slurm;
  slurm.Add("sbatch", 0, "77;alpine\n");
  SlurmBackend::Options o;
  o.run = slurm.Runner();
  SlurmBackend backend(o);
  auto sub = backend.Submit(Record(""), dir.path.string());
  REQUIRE(sub.ok());
  CHECK(sub->backend_id == "77;alpine");
  // ... and every later call names that cluster
  slurm.Add("squeue", 0, "RUNNING None\n");
  auto st = backend.Poll(Record(sub->backend_id));
  REQUIRE(st.ok());
  CHECK(slurm.calls[1] == Argv{"squeue", "-h", "-M", "alpine", "-j", "77", "-o", "%T %r"});
}

TEST_CASE("Submit errors: no sbatch, a bad partition, an unreachable controller, an unset secret") {
  TempDir dir;
  FakeSlurm slurm;
  SlurmBackend::Options o;
  o.run = slurm.Runner();
  SlurmBackend backend(o);

  slurm.AddStatus("sbatch", Status::NotFound("cannot run 'sbatch': No such file or directory"));
  auto missing = backend.Submit(Record(""), dir.path.string());
  CHECK(missing.status().code() == Code::kUnavailable);
  CHECK(missing.status().message() == "sbatch not found: is Slurm installed?");

  slurm.Add("sbatch", 1, "",
            "sbatch: error: invalid partition specified: nope\n"
            "sbatch: error: Batch job submission failed: Invalid partition name specified\n");
  auto bad = backend.Submit(Record(""), dir.path.string());
  CHECK(bad.status().code() == Code::kUsage);
  CHECK(bad.status().message() == "sbatch: invalid partition specified: nope; Invalid partition name specified");

  slurm.Add("sbatch", 1, "", "sbatch: error: Batch job submission failed: Unable to contact slurm controller\n");
  CHECK(backend.Submit(Record(""), dir.path.string()).status().code() == Code::kUnavailable);

  slurm.Add("sbatch", 0, "Submitted batch job 5\n");
  CHECK(backend.Submit(Record(""), dir.path.string()).status().code() == Code::kFailed);

  // A secret the environment lacks: refused before sbatch runs (no call queued for it).
  JobRecord r = Record("");
  r.request.secret_env = {"DSX_SLURM_TEST_SECRET_UNSET"};
  ::unsetenv("DSX_SLURM_TEST_SECRET_UNSET");
  auto secret = backend.Submit(r, dir.path.string());
  CHECK(secret.status().code() == Code::kUsage);
  CHECK(secret.status().message().find("DSX_SLURM_TEST_SECRET_UNSET") != std::string::npos);
  // ... and when it is set, its value is nowhere in the script or the argv
  ::setenv("DSX_SLURM_TEST_SECRET_UNSET", "s3cr3t-value", 1);
  slurm.Add("sbatch", 0, "6\n");
  REQUIRE(backend.Submit(r, dir.path.string()).ok());
  ::unsetenv("DSX_SLURM_TEST_SECRET_UNSET");
  CHECK(fs::ReadFile(dir.path / "job.sbatch")->find("s3cr3t") == std::string::npos);
  for (const auto& arg : slurm.calls.back()) CHECK(arg.find("s3cr3t") == std::string::npos);

  // The session token is never handed to sbatch, so a job cannot ask for it.
  JobRecord tok = Record("");
  tok.request.secret_env = {"DSX_TOKEN"};
  auto token = backend.Submit(tok, dir.path.string());
  CHECK(token.status().code() == Code::kUsage);
  CHECK(token.status().message().find("DSX_TOKEN is never passed to Slurm jobs") != std::string::npos);

  // A request that cannot become a script: nothing written, nothing run.
  std::size_t calls = slurm.calls.size();
  JobRecord none = Record("");
  none.request.command.clear();
  CHECK(backend.Submit(none, dir.path.string()).status().code() == Code::kUsage);
  CHECK(slurm.calls.size() == calls);
}

TEST_CASE("Render shows the script with the job folder under jobs_root, or {jobdir}") {
  SlurmBackend::Options o;
  o.run = [](const Argv&, const std::string&) -> Result<CommandResult> {
    FAIL("Render must not run anything");
    return CommandResult{};
  };
  JobRecord r = Record("");
  r.request.command = {"python3", "{jobdir}/train.py"};
  auto placeholder = SlurmBackend(o).Render(r);
  REQUIRE(placeholder.ok());
  CHECK(placeholder->find("#SBATCH --output=\"{jobdir}/output.log\"\n") != std::string::npos);
  CHECK(placeholder->find("\npython3 '{jobdir}/train.py'\n") != std::string::npos);
  o.jobs_root = "/var/dsx/jobs";
  auto real = SlurmBackend(o).Render(r);
  REQUIRE(real.ok());
  CHECK(real->find("\npython3 /var/dsx/jobs/j-20261207-013000-3fa9c1/train.py\n") != std::string::npos);
}

TEST_CASE("Poll: squeue while the controller lists the job") {
  FakeSlurm slurm;
  SlurmBackend::Options o;
  o.run = slurm.Runner();
  SlurmBackend backend(o);
  slurm.Add("squeue", 0, "PENDING Resources\n");
  auto q = backend.Poll(Record());
  REQUIRE(q.ok());
  CHECK(q->state == JobState::kQueued);
  CHECK(q->backend_state == "PENDING");
  CHECK(q->detail == "Resources");
  CHECK(slurm.calls[0] == Argv{"squeue", "-h", "-j", "4242", "-o", "%T %r"});
  slurm.Add("squeue", 0, "RUNNING None\n");
  auto r = backend.Poll(Record());
  CHECK(r->state == JobState::kRunning);
  CHECK(r->detail == "");
  CHECK(!r->exit_code);
}

TEST_CASE("Poll: after squeue, scontrol gives the end state and exit code") {
  FakeSlurm slurm;
  SlurmBackend::Options o;
  o.run = slurm.Runner();
  SlurmBackend backend(o);

  // squeue no longer lists it (empty), scontrol still remembers
  slurm.Add("squeue", 0, "");
  slurm.Add("scontrol", 0,
            "JobId=4242 JobName=demo\n   JobState=COMPLETED Reason=None Dependency=(null)\n"
            "   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0\n");
  auto ok = backend.Poll(Record());
  REQUIRE(ok.ok());
  CHECK(slurm.calls[1] == Argv{"scontrol", "show", "job", "4242"});
  CHECK(ok->state == JobState::kSucceeded);
  CHECK(ok->backend_state == "COMPLETED");
  CHECK(ok->exit_code == 0);
  CHECK(ok->detail == "exit 0");

  // squeue says a terminal word itself: scontrol is still asked, for the exit code
  slurm.Add("squeue", 0, "FAILED NonZeroExitCode\n");
  slurm.Add("scontrol", 0, "   JobState=FAILED Reason=NonZeroExitCode Dependency=(null)\n   ExitCode=3:0\n");
  auto failed = backend.Poll(Record());
  CHECK(failed->state == JobState::kFailed);
  CHECK(failed->exit_code == 3);
  CHECK(failed->detail == "exit 3, NonZeroExitCode");

  slurm.Add("squeue", 1, "", "slurm_load_jobs error: Invalid job id specified\n");
  slurm.Add("scontrol", 0, "   JobState=CANCELLED Reason=None\n   ExitCode=0:15\n");
  auto cancelled = backend.Poll(Record());
  CHECK(cancelled->state == JobState::kCancelled);
  CHECK(!cancelled->exit_code);
  CHECK(cancelled->detail == "signal 15");

  slurm.Add("squeue", 0, "");
  slurm.Add("scontrol", 0, "   JobState=TIMEOUT Reason=TimeLimit\n   ExitCode=0:0\n");
  auto timeout = backend.Poll(Record());
  CHECK(timeout->state == JobState::kTimeout);
  CHECK(!timeout->exit_code);
}

TEST_CASE("Poll: a job neither squeue nor scontrol knows is lost, not an error") {
  FakeSlurm slurm;
  SlurmBackend::Options o;
  o.run = slurm.Runner();
  SlurmBackend backend(o);
  slurm.Add("squeue", 1, "", "slurm_load_jobs error: Invalid job id specified\n");
  slurm.Add("scontrol", 1, "", "slurm_load_jobs error: Invalid job id specified\n");
  auto lost = backend.Poll(Record());
  REQUIRE(lost.ok());
  CHECK(lost->state == JobState::kLost);
  CHECK(lost->detail.find("Slurm no longer knows job 4242") == 0);
}

TEST_CASE("Poll errors: controller down, clients missing, an unknown state, a bad backend id") {
  FakeSlurm slurm;
  SlurmBackend::Options o;
  o.run = slurm.Runner();
  SlurmBackend backend(o);
  slurm.Add("squeue", 1, "", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n");
  auto down = backend.Poll(Record());
  CHECK(down.status().code() == Code::kUnavailable);
  CHECK(down.status().message() == "squeue: Unable to contact slurm controller (connect failure)");

  slurm.AddStatus("squeue", Status::NotFound("cannot run 'squeue'"));
  CHECK(backend.Poll(Record()).status().message() == "squeue not found: is Slurm installed?");

  slurm.Add("squeue", 0, "LEVITATING None\n");
  CHECK(backend.Poll(Record()).status().message() == "squeue: unknown Slurm job state 'LEVITATING'");

  std::size_t calls = slurm.calls.size();
  CHECK(backend.Poll(Record("12; rm -rf /")).status().code() == Code::kNotFound);
  CHECK(backend.Poll(Record("")).status().code() == Code::kNotFound);
  CHECK(slurm.calls.size() == calls);
}

TEST_CASE("Cancel runs scancel; an ended job is fine, an unknown one is not found") {
  FakeSlurm slurm;
  SlurmBackend::Options o;
  o.run = slurm.Runner();
  SlurmBackend backend(o);
  slurm.Add("scancel", 0, "");
  CHECK(backend.Cancel(Record()).ok());
  CHECK(slurm.calls[0] == Argv{"scancel", "4242"});
  slurm.Add("scancel", 1, "",
            "scancel: error: Kill job error on job id 4242: Job/step already completing or completed\n");
  CHECK(backend.Cancel(Record()).ok());
  slurm.Add("scancel", 1, "", "scancel: error: Kill job error on job id 4242: Invalid job id specified\n");
  CHECK(backend.Cancel(Record()).code() == Code::kNotFound);
  slurm.Add("scancel", 1, "", "scancel: error: Unable to contact slurm controller (connect failure)\n");
  CHECK(backend.Cancel(Record()).code() == Code::kUnavailable);
  slurm.AddStatus("scancel", Status::NotFound("cannot run"));
  CHECK(backend.Cancel(Record()).message() == "scancel not found: is Slurm installed?");
}

TEST_CASE("Logs without follow: what the file holds now, last line without newline included") {
  TempDir dir;
  FakeSlurm slurm;
  SlurmBackend::Options o;
  o.run = slurm.Runner();
  SlurmBackend backend(o);
  std::vector<std::string> lines;
  auto sink = [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  };
  // not started: no file yet, no lines, no error
  CHECK(backend.Logs(Record(), dir.path.string(), false, sink, nullptr).ok());
  CHECK(lines.empty());
  Append(dir.path / "output.log", "a\n\nb\r\nprogress 10%\rprogress 20%\rtail");
  CHECK(backend.Logs(Record(), dir.path.string(), false, sink, nullptr).ok());
  CHECK(lines == std::vector<std::string>{"a", "", "b", "progress 10%", "progress 20%", "tail"});
  CHECK(slurm.calls.empty());
}

TEST_CASE("Logs follow: lines as the file grows, until the job is terminal and the file drained") {
  TempDir dir;
  const sfs::path log = dir.path / "output.log";
  FakeSlurm slurm;
  ManualClock clock;
  SlurmBackend::Options o;
  o.run = slurm.Runner();
  o.clock = &clock;
  SlurmBackend backend(o);
  // Poll 1: queued, no file. Poll 2: running, two lines. Poll 3: running, a third line in two
  // writes. Poll 4: squeue done; the last line (no newline) lands just before scontrol answers.
  slurm.Add("squeue", 0, "PENDING Priority\n");
  slurm.Add("squeue", 0, "RUNNING None\n", "", [&] { Append(log, "step 1\nstep 2\n"); });
  slurm.Add("squeue", 0, "RUNNING None\n", "", [&] { Append(log, "step 3 of"); });
  slurm.Add("squeue", 0, "", "", [&] { Append(log, " 4\n"); });
  slurm.Add("scontrol", 0, "JobState=COMPLETED Reason=None\n ExitCode=0:0\n", "", [&] { Append(log, "done"); });
  std::vector<std::string> lines;
  auto st = backend.Logs(
      Record(), dir.path.string(), true,
      [&](std::string_view l) {
        lines.emplace_back(l);
        return true;
      },
      nullptr);
  CHECK(st.ok());
  CHECK(lines == std::vector<std::string>{"step 1", "step 2", "step 3 of 4", "done"});
  CHECK(slurm.answers.empty());
  // the file is re-read every 250 ms, the state polled every 1000 ms: 3 waits of 4 sleeps each
  auto sleeps = clock.sleeps();
  CHECK(sleeps.size() == 12);
  for (auto s : sleeps) CHECK(s == 250);
}

TEST_CASE("Logs follow stops when the sink says so, when *stop turns true, and on repeated poll failures") {
  TempDir dir;
  const sfs::path log = dir.path / "output.log";
  Append(log, "one\ntwo\nthree\n");
  ManualClock clock;
  SlurmBackend::Options o;
  o.clock = &clock;
  {
    FakeSlurm slurm;
    o.run = slurm.Runner();
    SlurmBackend backend(o);
    std::vector<std::string> lines;
    CHECK(backend
              .Logs(
                  Record(), dir.path.string(), true,
                  [&](std::string_view l) {
                    lines.emplace_back(l);
                    return lines.size() < 2;
                  },
                  nullptr)
              .ok());
    CHECK(lines == std::vector<std::string>{"one", "two"});
    CHECK(slurm.calls.empty());
  }
  {
    FakeSlurm slurm;
    std::atomic<bool> stop{false};
    slurm.Add("squeue", 0, "RUNNING None\n");
    slurm.Add("squeue", 0, "RUNNING None\n", "", [&] { stop = true; });
    o.run = slurm.Runner();
    SlurmBackend backend(o);
    int n = 0;
    CHECK(backend
              .Logs(
                  Record(), dir.path.string(), true,
                  [&](std::string_view) {
                    ++n;
                    return true;
                  },
                  &stop)
              .ok());
    CHECK(n == 3);
    CHECK(slurm.answers.empty());
  }
  {
    FakeSlurm slurm;
    for (int i = 0; i < 5; ++i) slurm.Add("squeue", 1, "", "squeue: error: Socket timed out on send/recv operation\n");
    o.run = slurm.Runner();
    SlurmBackend backend(o);
    auto st = backend.Logs(
        Record(), dir.path.string(), true, [](std::string_view) { return true; }, nullptr);
    CHECK(st.code() == Code::kUnavailable);
    CHECK(st.message() == "following logs: squeue: Socket timed out on send/recv operation");
  }
}
