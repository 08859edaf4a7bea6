// The Slurm backend against a real cluster (run by run_e2e.sh, which starts one): a job that
// prints progress is submitted, its log lines followed as they come, its states seen through
// squeue and then scontrol; another is cancelled mid-run; a failing one reports its exit code; a
// bad partition is a clear usage error; a secret reaches the job without being written anywhere;
// a job id the cluster never had is lost; no sbatch at all is "not found"; an unreachable
// controller is unavailable. Waits are bounded and generous: a loaded 2-core machine runs this.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "jobs/slurm/slurm_backend.hpp"

using namespace dsx;
using namespace dsx::jobs;
namespace sfs = std::filesystem;

namespace {

using Steady = std::chrono::steady_clock;

std::string JobsRoot() {
  const char* dir = std::getenv("DSX_SLURM_E2E_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "run through tests/slurm/run_e2e.sh (it starts the cluster)");
  return dir;
}

// A record with a fresh id and its folder, as the registry would make them.
JobRecord NewJob(const std::string& name, std::vector<std::string> command, std::string& jobdir) {
  static int n = 0;
  JobRecord r;
  r.id = "j-20261207-0130" + std::to_string(10 + n++) + "-abcdef";
  r.request.name = name;
  r.request.backend = "slurm";
  r.request.command = std::move(command);
  r.request.timeout_s = 300;
  r.request.resources.cpus = 1;
  jobdir = JobsRoot() + "/" + r.id;
  REQUIRE(fs::EnsureDir(jobdir).ok());
  return r;
}

SlurmBackend MakeSlurm() {
  SlurmBackend::Options o;
  o.partition = "debug";
  o.jobs_root = JobsRoot();
  return SlurmBackend(o);
}

// Polls until the job is terminal (bounded), recording each state seen.
JobStatus WaitTerminal(SlurmBackend& b, const JobRecord& r, std::vector<JobState>* seen = nullptr,
                       std::chrono::seconds limit = std::chrono::seconds(120)) {
  auto deadline = Steady::now() + limit;
  for (;;) {
    auto st = b.Poll(r);
    REQUIRE_MESSAGE(st.ok(), st.status().message());
    if (seen && (seen->empty() || seen->back() != st->state)) seen->push_back(st->state);
    if (IsTerminal(st->state)) return *st;
    REQUIRE_MESSAGE(Steady::now() < deadline,
                    "job " << r.backend_id << " not done after " << limit.count() << " s: " << st->backend_state);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

TEST_CASE("a job that prints progress: submitted, followed line by line as it runs, succeeded") {
  SlurmBackend b = MakeSlurm();
  std::string jobdir;
  JobRecord r = NewJob("progress", {"bash", "-c", "for i in 1 2 3 4 5; do echo step $i; sleep 1; done"}, jobdir);
  auto sub = b.Submit(r, jobdir);
  REQUIRE_MESSAGE(sub.ok(), sub.status().message());
  r.backend_id = sub->backend_id;
  CHECK(sfs::exists(jobdir + "/job.sbatch"));

  auto first = b.Poll(r);
  REQUIRE(first.ok());
  CHECK((first->state == JobState::kQueued || first->state == JobState::kRunning));

  std::vector<std::string> lines;
  std::vector<Steady::time_point> at;
  std::atomic<bool> stop{false};
  auto st = b.Logs(
      r, jobdir, true,
      [&](std::string_view l) {
        lines.emplace_back(l);
        at.push_back(Steady::now());
        return true;
      },
      &stop);
  REQUIRE_MESSAGE(st.ok(), st.message());
  CHECK(lines == std::vector<std::string>{"step 1", "step 2", "step 3", "step 4", "step 5"});
  // Followed while running, not read once at the end: the lines arrived seconds apart.
  if (at.size() == 5) CHECK(at[4] - at[0] >= std::chrono::seconds(2));

  std::vector<JobState> seen;
  JobStatus end = WaitTerminal(b, r, &seen);
  CHECK(end.state == JobState::kSucceeded);
  CHECK(end.backend_state == "COMPLETED");
  CHECK(end.exit_code == 0);
}

TEST_CASE("cancel mid-run: scancel, and the state turns cancelled") {
  SlurmBackend b = MakeSlurm();
  std::string jobdir;
  JobRecord r =
      NewJob("sleeper", {"bash", "-c", "echo started; for i in $(seq 1 300); do echo tick $i; sleep 1; done"}, jobdir);
  auto sub = b.Submit(r, jobdir);
  REQUIRE_MESSAGE(sub.ok(), sub.status().message());
  r.backend_id = sub->backend_id;
  // Follow until "started" (bounded by a watchdog that flips the stop flag).
  std::atomic<bool> stop{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 1200 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  bool started = false;
  auto st = b.Logs(
      r, jobdir, true,
      [&](std::string_view l) {
        started = started || l == "started";
        return !started;
      },
      &stop);
  stop = true;
  watchdog.join();
  REQUIRE(st.ok());
  REQUIRE_MESSAGE(started, "the job never printed 'started'");
  auto running = b.Poll(r);
  REQUIRE(running.ok());
  CHECK(running->state == JobState::kRunning);

  REQUIRE(b.Cancel(r).ok());
  JobStatus end = WaitTerminal(b, r);
  CHECK(end.state == JobState::kCancelled);
  CHECK(end.backend_state == "CANCELLED");
  // Cancelling what has ended is fine.
  CHECK(b.Cancel(r).ok());
  // The job is really gone: its log stops growing.
  auto size = sfs::file_size(jobdir + "/output.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(sfs::file_size(jobdir + "/output.log") == size);
}

TEST_CASE("a failing job is failed with its exit code; its output is still there") {
  SlurmBackend b = MakeSlurm();
  std::string jobdir;
  JobRecord r = NewJob("fails", {"bash", "-c", "echo about to fail; exit 3"}, jobdir);
  auto sub = b.Submit(r, jobdir);
  REQUIRE_MESSAGE(sub.ok(), sub.status().message());
  r.backend_id = sub->backend_id;
  JobStatus end = WaitTerminal(b, r);
  CHECK(end.state == JobState::kFailed);
  CHECK(end.backend_state == "FAILED");
  CHECK(end.exit_code == 3);
  CHECK(end.detail.find("exit 3") == 0);
  std::vector<std::string> lines;
  CHECK(b.Logs(
             r, jobdir, false,
             [&](std::string_view l) {
               lines.emplace_back(l);
               return true;
             },
             nullptr)
            .ok());
  CHECK(lines == std::vector<std::string>{"about to fail"});
}

TEST_CASE(
    "env values, secrets and the job folder reach the job intact; the secret is written nowhere, the session token not "
    "passed") {
  SlurmBackend b = MakeSlurm();
  std::string jobdir;
  const std::string hostile = "it's $(echo pwned) `id` \"q\"\nsecond line";
  JobRecord r =
      NewJob("env",
             {"bash", "-c", "printf '%s|' \"$PWD\" \"$HOSTILE\" \"$DSX_E2E_SECRET\" \"$1\" \"${DSX_TOKEN-no token}\"",
              "-", "{jobdir}/x"},
             jobdir);
  r.request.env = {{"HOSTILE", hostile}};
  r.request.secret_env = {"DSX_E2E_SECRET"};
  ::setenv("DSX_E2E_SECRET", "s3cr3t-e2e-value", 1);
  ::setenv("DSX_TOKEN", "session-token-never-in-jobs", 1);  // dsx's own: never handed to Slurm
  auto sub = b.Submit(r, jobdir);
  ::unsetenv("DSX_E2E_SECRET");
  ::unsetenv("DSX_TOKEN");
  REQUIRE_MESSAGE(sub.ok(), sub.status().message());
  r.backend_id = sub->backend_id;
  CHECK(WaitTerminal(b, r).state == JobState::kSucceeded);
  auto out = fs::ReadFile(jobdir + "/output.log");
  REQUIRE(out.ok());
  CHECK(*out == jobdir + "|" + hostile + "|s3cr3t-e2e-value|" + jobdir + "/x|no token|");
  CHECK(fs::ReadFile(jobdir + "/job.sbatch")->find("s3cr3t") == std::string::npos);
}

TEST_CASE("an invalid partition is a clear usage error; nothing is queued") {
  SlurmBackend b = MakeSlurm();
  std::string jobdir;
  JobRecord r = NewJob("badpart", {"true"}, jobdir);
  r.request.resources.partition = "no-such-partition";
  auto sub = b.Submit(r, jobdir);
  CHECK(sub.status().code() == Code::kUsage);
  CHECK_MESSAGE(sub.status().message().find("Invalid partition") != std::string::npos, sub.status().message());
}

TEST_CASE("a job id the cluster never had is lost; no Slurm clients at all is unavailable") {
  SlurmBackend b = MakeSlurm();
  JobRecord r;
  r.id = "j-20261207-013000-000000";
  r.backend_id = "987654";
  auto st = b.Poll(r);
  REQUIRE_MESSAGE(st.ok(), st.status().message());
  CHECK(st->state == JobState::kLost);

  SlurmBackend::Options o;
  o.bin_dir = "/nonexistent/slurm/bin";
  SlurmBackend none(o);
  std::string jobdir;
  JobRecord j = NewJob("nobin", {"true"}, jobdir);
  auto sub = none.Submit(j, jobdir);
  CHECK(sub.status().code() == Code::kUnavailable);
  CHECK(sub.status().message() == "/nonexistent/slurm/bin/sbatch not found: is Slurm installed?");
}

TEST_CASE("a controller that cannot be reached is unavailable, with Slurm's words") {
  // The same cluster's config with the controller's port moved to one where nothing listens.
  const char* conf = std::getenv("SLURM_CONF");
  REQUIRE(conf != nullptr);
  auto text = fs::ReadFile(conf);
  REQUIRE(text.ok());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);  // free again, and nothing listens on it
  std::string moved;
  std::size_t at = text->find("SlurmctldPort=");
  REQUIRE(at != std::string::npos);
  moved = text->substr(0, at) + "SlurmctldPort=" + std::to_string(ntohs(addr.sin_port)) +
          text->substr(text->find('\n', at));
  const std::string dead_conf = JobsRoot() + "/dead-controller.conf";
  REQUIRE(fs::AtomicWriteFile(dead_conf, moved).ok());
  const std::string live_conf = conf;
  ::setenv("SLURM_CONF", dead_conf.c_str(), 1);

  SlurmBackend b = MakeSlurm();
  std::string jobdir;
  JobRecord r = NewJob("unreachable", {"true"}, jobdir);
  auto sub = b.Submit(r, jobdir);
  r.backend_id = "1";
  auto cancel = b.Cancel(r);
  ::setenv("SLURM_CONF", live_conf.c_str(), 1);
  CHECK(sub.status().code() == Code::kUnavailable);
  CHECK_MESSAGE(sub.status().message().find("Unable to contact slurm controller") != std::string::npos,
                sub.status().message());
  CHECK(cancel.code() == Code::kUnavailable);
}

TEST_CASE("a job past its time limit is stopped by Slurm and reported as timeout") {
  SlurmBackend b = MakeSlurm();
  std::string jobdir;
  JobRecord r = NewJob("overtime", {"bash", "-c", "echo started; sleep 600"}, jobdir);
  r.request.timeout_s = 30;  // rounded up to Slurm's one minute
  auto sub = b.Submit(r, jobdir);
  REQUIRE_MESSAGE(sub.ok(), sub.status().message());
  r.backend_id = sub->backend_id;
  CHECK(fs::ReadFile(jobdir + "/job.sbatch")->find("#SBATCH --time=0-00:01:00\n") != std::string::npos);
  JobStatus end = WaitTerminal(b, r, nullptr, std::chrono::seconds(240));
  CHECK(end.state == JobState::kTimeout);
  CHECK(end.backend_state == "TIMEOUT");
  CHECK(!end.exit_code);
}
