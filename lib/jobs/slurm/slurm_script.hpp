// The sbatch batch script for a job request: the one artifact the Slurm backend produces, shown
// as is by --dry-run (Backend::Render) and written to <jobdir>/job.sbatch by Submit.
//
// Two quoting worlds meet in it. #SBATCH lines are parsed by sbatch itself (whitespace splits,
// "..." quotes, backslash escapes, '#' starts a comment), so values there are double-quoted when
// needed and anything with a newline or control character is refused: a newline in a job name
// would otherwise end the directive and turn the rest into a shell command. The body is bash, so
// env values and the command's words are single-quoted ('it'\''s'), which bash never expands:
// $(...), backticks, $VAR and newlines stay literal.
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"
#include "jobs/job.hpp"

namespace dsx::jobs {

// Site defaults the request's own Resources override.
struct SlurmDefaults {
  std::string partition;  // -p when the request names none ("" = the cluster's default partition)
  std::string account;    // -A when the request names none ("" = the user's default account)
  std::string gres_type;  // gpu type when the request asks for GPUs without naming one ("" = any)
};

// bash single-quoted word; bare when it holds only characters that need no quoting.
std::string ShellQuote(std::string_view word);
// Always single-quoted (env values: `export K='v'`, so every export reads the same).
std::string SingleQuote(std::string_view word);

// A value for an #SBATCH line; kUsage (naming `what`) for newlines or control characters.
Result<std::string> SbatchQuote(std::string_view value, std::string_view what);

// timeout_s as sbatch --time: D-HH:MM:SS, rounded up to whole minutes (Slurm's resolution).
std::string SlurmTime(std::int64_t timeout_s);

// The whole script for `record` with its job folder at `jobdir` ("{jobdir}" in the command is
// replaced by it). kUsage for a request that cannot become a safe script: no command, an env
// name that is not a shell identifier, a negative count, a control character in a directive.
Result<std::string> RenderBatchScript(const JobRecord& record, const std::string& jobdir,
                                      const SlurmDefaults& defaults);

}  // namespace dsx::jobs
