// Reading what the Slurm client commands print: job states (squeue -o %T, scontrol's JobState=),
// `scontrol show job` records, sbatch --parsable ids and error messages. Pure functions over
// text, so the unit tests pin them against real output without a cluster.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "jobs/job.hpp"

namespace dsx::jobs {

// A Slurm job state word ("PENDING", "CANCELLED", "OUT_OF_MEMORY"; scontrol may add " by 0" and
// squeue may shorten to "PD"/"R"...) -> JobState. kFailed for a word this code does not know: a
// newer Slurm's state is reported, not guessed.
Result<JobState> MapSlurmState(std::string_view word);

// The fields of `scontrol show job ID` the backend uses.
struct ScontrolJob {
  std::string state;               // JobState= ("COMPLETED")
  std::string reason;              // Reason= ("None", "NonZeroExitCode", "Resources")
  std::optional<int> exit_code;    // ExitCode=a:b -> a
  std::optional<int> exit_signal;  // ExitCode=a:b -> b (0 = none)
  std::string node_list;           // NodeList= ("(null)" while pending)
};

// kFailed when the text has no JobState= field.
Result<ScontrolJob> ParseScontrolJob(std::string_view text);

// Slurm's job id and cluster from `sbatch --parsable` ("123" or "123;cluster\n"). kFailed when
// it is not that shape.
struct SlurmJobRef {
  std::string id;       // digits, or "<digits>_<digits>" for an array task
  std::string cluster;  // "" on a single cluster
};
Result<SlurmJobRef> ParseSbatchParsable(std::string_view out);

// The backend_id kept in the registry: "<id>" or "<id>;<cluster>" (ParseSbatchParsable's shape).
// kNotFound for anything else (a record from another backend, a hand-edited file).
Result<SlurmJobRef> ParseBackendId(std::string_view backend_id);

// True for a client's "this job id is unknown" answer (squeue, scontrol, scancel).
bool SaysInvalidJobId(std::string_view err);

// A Slurm client's stderr as a Status: the "error:" lines joined ("Invalid partition name
// specified"), kUnavailable when the controller cannot be reached, kUsage when the request cannot
// run on this cluster (partition, account, gres, node configuration, time or memory limits),
// else kFailed. `tool` prefixes the message ("sbatch").
Status SlurmError(std::string_view tool, int exit_code, std::string_view err);

}  // namespace dsx::jobs
