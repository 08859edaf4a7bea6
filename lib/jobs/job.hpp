// The jobs layer's vocabulary: what to run (JobRequest), where it stands (JobState, JobStatus)
// and the record kept for it in the registry (JobRecord). Backend-neutral: the local, Slurm and
// Hugging Face Jobs backends (lib/jobs/{local,slurm,hf}) each turn a JobRequest into their own
// submission; fine-tuning and AutoLab build JobRequests and never talk to a backend directly.
//
// Everything here round-trips through JSON (job.json / state.json in the job's registry folder,
// and `--json` output), so the field names below are part of the documented, stable shape
// (man/dsx-jobs.1, JSON OUTPUT). Secrets never appear in any of it: a request names the
// environment variables whose values are sent as secrets, never the values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::jobs {

// Where a job stands. Terminal: succeeded, failed, cancelled, timeout, lost.
//   queued     accepted by the backend, not running yet (Slurm PENDING, HF SCHEDULING)
//   running    running (HF RUNNING/UPDATING, Slurm RUNNING/COMPLETING)
//   succeeded  exit 0 / COMPLETED
//   failed     non-zero exit, ERROR, FAILED, NODE_FAIL, OUT_OF_MEMORY
//   cancelled  stopped on request (dsx jobs cancel, the session's Stop, scancel, HF CANCELED/DELETED)
//   timeout    killed at its time limit (the request's timeout_s, Slurm TIMEOUT)
//   lost       the backend no longer knows it, or the local supervisor died with it
//              (a reboot): its outcome cannot be known
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kTimeout, kLost };

const char* JobStateName(JobState state);  // "queued", "running", ...
Result<JobState> ParseJobState(std::string_view name);
bool IsTerminal(JobState state);

// Resources a job asks for. Each backend uses the fields that mean something to it and says so
// in its Render output; unset fields are left to the backend's defaults.
struct Resources {
  std::string flavor;     // HF Jobs hardware flavor ("a10g-large"); local/Slurm ignore it
  int gpus = 0;           // Slurm --gres=gpu[:type]:N
  std::string gpu_type;   // Slurm gres type ("a100"), "" = any
  int cpus = 0;           // Slurm --cpus-per-task
  int mem_gb = 0;         // Slurm --mem=<N>G
  std::string partition;  // Slurm -p (config or flag)
  std::string account;    // Slurm -A
  std::string image;      // HF Jobs docker image ("" = ghcr.io/astral-sh/uv:python3.12-bookworm)
  std::string namespace_; // HF Jobs namespace ("" = the token's user, from whoami)
};

struct JobRequest {
  std::string name;                          // human label ("sft-qwen-capy"); not unique
  std::string kind = "generic";              // "generic" | "finetune" | "autolab" (list filters)
  std::string backend = "local";             // "local" | "slurm" | "hf"
  std::vector<std::string> command;          // argv; command[0] looked up in PATH (local/Slurm)
  std::map<std::string, std::string> env;    // plain environment (stored, shown)
  std::vector<std::string> secret_env;       // names of variables sent as secrets; values are read
                                             // from the submitting environment, never stored
  std::map<std::string, std::string> files;  // name -> content: written into the job folder
                                             // before submit (the training script); the command
                                             // may name them as "{jobdir}/<name>"
  std::string workdir;                       // local/Slurm working directory ("" = the job folder)
  std::int64_t timeout_s = 0;                // 0 = none (HF: the backend's default is 30 min, so
                                             // finetune always sets one)
  Resources resources;
  std::map<std::string, std::string> labels; // HF labels / Slurm comment; dsx adds dsx-job=<id>
  nlohmann::json meta = nlohmann::json::object();  // the caller's own (finetune spec and plan)
};

// What a backend says about a job right now.
struct JobStatus {
  JobState state = JobState::kQueued;
  std::string backend_state;  // the backend's own word ("PENDING", "RUNNING", "exit 3")
  std::string detail;         // one line for people ("node gpu01", "OOM at step 120"), may be ""
  std::optional<int> exit_code;
};

// The registry's record of one job (job.json + state.json merged).
struct JobRecord {
  std::string id;            // dsx job id: "j-YYYYMMDD-HHMMSS-xxxxxx" (stable, unique per registry)
  JobRequest request;
  std::string backend_id;    // the backend's id (pid of the supervisor, Slurm job id, HF job id)
  std::string url;           // where a person can look (HF job page; "" when none)
  std::string session;       // "jobs/<id>" when a session server was configured, else ""
  std::string server;        // that server's URL (never the token)
  JobStatus status;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::int64_t started_ms = 0;   // 0 = not yet
  std::int64_t finished_ms = 0;  // 0 = not yet
};

// JSON forms (stable; documented in man/dsx-jobs.1). FromJson is strict about types and
// returns kFailed naming the bad field ("job.json: 'request.timeout_s' must be an integer").
nlohmann::json ToJson(const JobRequest& request);
nlohmann::json ToJson(const JobStatus& status);
nlohmann::json ToJson(const JobRecord& record);
Result<JobRequest> RequestFromJson(const nlohmann::json& j);
Result<JobRecord> RecordFromJson(const nlohmann::json& j);

// kUsage unless every string of the request is valid UTF-8. job.json, the HF create body and
// --json output are JSON, and JSON text is UTF-8; a request with other bytes (an argv word in
// Latin-1) is refused before anything is written or sent, rather than stored or run altered.
Status CheckRequestText(const JobRequest& request);

// "j-20261207-013000-3fa9c1" from the time and 24 random bits.
std::string NewJobId(std::int64_t now_ms);
// True for ids NewJobId can produce (and nothing else: ids become folder and session names).
bool IsValidJobId(std::string_view id);

}  // namespace dsx::jobs
