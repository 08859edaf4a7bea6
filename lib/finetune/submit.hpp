// `dsx finetune submit` as one library call: instruction + --set list + backend -> parse -> LLM
// fill (optional) -> --max-cost and --set -> Complete -> plan -> script (checked against TRL's
// argument names) -> jobs::JobRequest -> the backend's rendering of it. The same Prepared document
// serves --dry-run (printed, nothing submitted) and a real submit (the CLI hands `request` to the
// jobs service), so what a dry run shows is exactly what would be sent.
//
// This module may not use the jobs service (cmake/module_arrows.txt), and tests replace the LLM, so
// the two steps that need them come in as functions: `render` (JobService::Render) and `llm_chat`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "finetune/hub_lookup.hpp"
#include "finetune/llm_fill.hpp"
#include "finetune/plan.hpp"
#include "finetune/script.hpp"
#include "finetune/spec.hpp"
#include "jobs/job.hpp"

namespace dsx::finetune {

// The backend's exact rendering of a request (HTTP request, sbatch script, command line).
using RenderRequest = std::function<Result<std::string>(const jobs::JobRequest& request)>;

// This machine's GPUs, for planning --backend local.
struct LocalGpus {
  int count = 0;      // 0 = none found (no driver, no nvidia-smi)
  double mem_gb = 0;  // the smallest GPU's memory, GB (10^9 bytes): the run must fit each one
  std::string name;   // the first GPU's name ("NVIDIA H100 80GB HBM3")
};

// Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` (one "NAME, MiB"
// line per GPU). kFailed naming the line for anything else.
Result<LocalGpus> ParseNvidiaSmi(std::string_view text);
// Runs that query (nvidia-smi from PATH); count 0 when it is missing or fails.
LocalGpus DetectLocalGpus();

struct SubmitInputs {
  std::string instruction;
  std::vector<std::string> sets;       // "key=value", applied in order after the instruction
  std::string backend = "hf";          // "hf" | "slurm" | "local"
  std::optional<double> max_cost_usd;  // --max-cost: the planner refuses a costlier run
  std::string configs_dir;             // "" = DefaultConfigsDir() (models.toml, flavors.toml, trl_args.toml)
  std::string templates_dir;           // "" = DefaultTemplatesDir()
  RequestOptions request;              // name, trackio space/project (backend is taken from above)
  PlanInputs plan_inputs;              // dataset size, local GPUs (backend is taken from above)
  ChatFn llm_chat;       // --llm: asked (llm_fill.hpp FillWithLlm) when the parser left words, the model or
                         // the dataset; empty = no LLM, and words not understood are an error
  RenderRequest render;  // empty = no rendering in the document
  // --backend local: how to find this machine's GPUs when plan_inputs says nothing (the CLI passes
  // DetectLocalGpus; empty = unknown, and the plan says the memory was not checked).
  std::function<LocalGpus()> local_gpus;
  // The Hub lookups (hub_lookup.hpp): a model configs/models.toml lacks, the dataset's columns and
  // rows. Empty = no lookups (tests); the CLI passes net::CurlTransport. `offline` (--offline) or
  // HF_HUB_OFFLINE=1 skip them too.
  TransportFactory transport;
  bool offline = false;
};

struct Prepared {
  Spec spec;
  Plan plan;
  std::string backend;
  std::string script;  // the rendered train.py
  jobs::JobRequest request;
  std::string rendered;                 // render(request), "" when no renderer was given
  std::vector<std::string> notes;       // parser notes (corrections, inferences)
  std::vector<std::string> unparsed;    // words the parser left for the LLM (empty without --llm)
  std::vector<std::string> llm_filled;  // fields the LLM set (source llm)
};

// The whole pipeline. Errors:
//   kUsage     the instruction is incomplete, contradictory or impossible, a --set is wrong, words
//              were not understood and there is no LLM to ask (the message says what to add); the
//              Hub has no such model, dataset or split, or the dataset lacks the method's columns
//   kConflict  (also) the model is gated or private and there is no token with access
//   kNotFound  the model is unknown to the catalog (say its size: --set ... or a known alias)
//   kConflict  nothing fits, or the cost is over --max-cost
//   kFailed    the generated script uses an argument TRL does not have (a template bug)
Result<Prepared> Prepare(const SubmitInputs& in);

// The --json document, stable (man/dsx-finetune.1, JSON OUTPUT):
//   {"spec": ToJson(spec), "plan": ToJson(plan), "backend", "script_path", "script", "request":
//    the rendered request (string), "job_request": jobs::ToJson(request) without file contents,
//    "notes": [...], "unparsed": [...], "llm_filled": [...], "job": ToJson(record) or null}
nlohmann::json ToJson(const Prepared& p, const std::string& script_path, const nlohmann::json& job);

// Writes the dry run's script where a person (or agent) can read it before paying:
// <dir>/<job name>-<8 hex of its hash>.py, atomically. Returns the path.
Result<std::string> SaveScript(const Prepared& p, const std::string& dir);

// Where SaveScript puts dry-run scripts: $DSX_FINETUNE_DIR, else $XDG_CACHE_HOME/dsx/finetune,
// else $HOME/.cache/dsx/finetune, else $TMPDIR (or /tmp)/dsx-finetune.
std::string DefaultScriptDir();

}  // namespace dsx::finetune
