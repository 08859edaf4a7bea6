// Reading Slurm's answers: state words (long and short forms, scontrol's "CANCELLED by 0"),
// `scontrol show job` records as Slurm 22.05 prints them, sbatch --parsable ids, and client
// error messages mapped to exit codes.
#include <doctest/doctest.h>

#include "jobs/slurm/slurm_state.hpp"

using namespace dsx;
using namespace dsx::jobs;

namespace {

// `scontrol show job 1` from the test cluster (tests/slurm) after `exit 3`.
constexpr const char* kFailedJob = R"(JobId=1 JobName=t1
   UserId=root(0) GroupId=root(0) MCS_label=N/A
   Priority=4294901759 Nice=0 Account=(null) QOS=(null)
   JobState=FAILED Reason=NonZeroExitCode Dependency=(null)
   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0
   RunTime=00:00:03 TimeLimit=00:05:00 TimeMin=N/A
   SubmitTime=2026-12-07T01:38:22 EligibleTime=2026-12-07T01:38:22
   Partition=debug AllocNode:Sid=localhost:1404
   ReqNodeList=(null) ExcNodeList=(null)
   NodeList=vm
   BatchHost=vm
   Command=/tmp/slurmtest.zDEHyc/j.sbatch
   Comment=dsx-job=j-1 
   StdOut=/tmp/slurmtest.zDEHyc/out.log
)";

constexpr const char* kCancelledJob = R"(JobId=7 JobName=sleepy
   JobState=CANCELLED Reason=None Dependency=(null)
   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15
   DerivedExitCode=0:0
   NodeList=vm
)";

}  // namespace

TEST_CASE("Slurm state words map to JobState") {
  CHECK(*MapSlurmState("PENDING") == JobState::kQueued);
  CHECK(*MapSlurmState("CONFIGURING") == JobState::kQueued);
  CHECK(*MapSlurmState("RUNNING") == JobState::kRunning);
  CHECK(*MapSlurmState("COMPLETING") == JobState::kRunning);
  CHECK(*MapSlurmState("SUSPENDED") == JobState::kRunning);
  CHECK(*MapSlurmState("COMPLETED") == JobState::kSucceeded);
  CHECK(*MapSlurmState("CANCELLED") == JobState::kCancelled);
  CHECK(*MapSlurmState("CANCELLED by 0") == JobState::kCancelled);
  for (const char* w : {"FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED"}) {
    CHECK(*MapSlurmState(w) == JobState::kFailed);
  }
  CHECK(*MapSlurmState("TIMEOUT") == JobState::kTimeout);
  CHECK(*MapSlurmState("  R\n") == JobState::kRunning);
  CHECK(*MapSlurmState("PD") == JobState::kQueued);
  CHECK(*MapSlurmState("RUNNING+") == JobState::kRunning);
  auto unknown = MapSlurmState("LEVITATING");
  CHECK(unknown.status().code() == Code::kFailed);
  CHECK(unknown.status().message() == "unknown Slurm job state 'LEVITATING'");
  CHECK(!MapSlurmState("").ok());
}

TEST_CASE("scontrol show job: state, reason, exit code and signal") {
  auto j = ParseScontrolJob(kFailedJob);
  REQUIRE(j.ok());
  CHECK(j->state == "FAILED");
  CHECK(j->reason == "NonZeroExitCode");
  CHECK(j->exit_code == 3);
  CHECK(j->exit_signal == 0);
  CHECK(j->node_list == "vm");
  auto c = ParseScontrolJob(kCancelledJob);
  REQUIRE(c.ok());
  CHECK(c->state == "CANCELLED");
  CHECK(c->exit_code == 0);  // ExitCode=, not DerivedExitCode=
  CHECK(c->exit_signal == 15);
  CHECK(ParseScontrolJob("slurm_load_jobs error: Invalid job id specified").status().code() == Code::kFailed);
}

TEST_CASE("sbatch --parsable ids, with and without a cluster") {
  CHECK(ParseSbatchParsable("42\n")->id == "42");
  auto r = ParseSbatchParsable("42;alpine\n");
  CHECK(r->id == "42");
  CHECK(r->cluster == "alpine");
  CHECK(ParseSbatchParsable("17_3")->id == "17_3");
  CHECK(ParseSbatchParsable("Submitted batch job 42").status().code() == Code::kFailed);
  CHECK(!ParseSbatchParsable("").ok());
  CHECK(!ParseSbatchParsable("42;bad cluster").ok());
  CHECK(ParseBackendId("42;alpine")->cluster == "alpine");
  CHECK(ParseBackendId("12345").ok());
  CHECK(ParseBackendId("4242 ").status().code() == Code::kNotFound);
  CHECK(ParseBackendId("-rf").status().code() == Code::kNotFound);
  CHECK(ParseBackendId("").status().code() == Code::kNotFound);
}

TEST_CASE("client errors become clear statuses with Slurm's own words") {
  auto part = SlurmError("sbatch", 1,
                         "sbatch: error: invalid partition specified: nope\n"
                         "sbatch: error: Batch job submission failed: Invalid partition name specified\n");
  CHECK(part.code() == Code::kUsage);
  CHECK(part.message() == "sbatch: invalid partition specified: nope; Invalid partition name specified");
  auto down = SlurmError("squeue", 1,
                         "squeue: error: Unable to contact slurm controller (connect failure)\n"
                         "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n");
  CHECK(down.code() == Code::kUnavailable);
  CHECK(down.message() == "squeue: Unable to contact slurm controller (connect failure)");
  CHECK(SlurmError("sbatch", 1,
                   "sbatch: error: Batch job submission failed: Requested node configuration is not "
                   "available\n")
            .code() == Code::kUsage);
  CHECK(SlurmError("sbatch", 1,
                   "sbatch: error: Batch job submission failed: Invalid generic resource (gres) "
                   "specification\n")
            .code() == Code::kUsage);
  auto odd = SlurmError("scancel", 1, "scancel: error: something new\n");
  CHECK(odd.code() == Code::kFailed);
  CHECK(odd.message() == "scancel: something new");
  CHECK(SlurmError("sbatch", 9, "").message() == "sbatch: exited with status 9 and said nothing");
  CHECK(SaysInvalidJobId("slurm_load_jobs error: Invalid job id specified\n"));
  CHECK(!SaysInvalidJobId("Unable to contact slurm controller"));
}
