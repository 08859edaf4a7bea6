// The training script and the job request for a fine-tune: spec + plan -> a PEP 723 TRL script
// rendered from the templates of the `finetune` Agent Skill (skills/finetune/templates/<method>.py)
// -> a jobs::JobRequest for the chosen backend (kind "finetune", the script as the job file
// train.py, `uv run {jobdir}/train.py`, timeout, resources, secrets by name only).
//
// Templates are plain Python with a few marks, so a person can read them as scripts:
//   {{name}}                 replaced by a Python literal ("Qwen/..." quoted, 2e-05, True, None)
//   {{#flag}} ... {{/flag}}  lines kept only when the flag is on (each mark alone on its line)
//   {{>name}}                the partial templates/_name.py, rendered with the same values and
//                            flags (alone on its line): the blocks every method shares (PEP 723
//                            header, imports, resume, data loading, adapters, the train/push tail)
//                            are written once. Partials may include partials (a few deep); the
//                            rendered script is still one self-contained file.
//   {{! note }}              a line for the template's reader only (not rendered)
// An unknown name or flag, a mark left open, a missing partial or a partial that includes itself is
// an error: a script is never rendered with a hole.
//
// The keyword check (CheckConfigKeywords) reads a rendered script and verifies that every `name=`
// argument of every `...Config(...)` call exists in configs/trl_args.toml (the argument names of
// TRL's documented config classes, with the TRL version they were taken from), so a template typo or
// a name TRL renamed (max_seq_length -> max_length) is caught here, not an hour into a paid job.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "finetune/plan.hpp"
#include "finetune/spec.hpp"
#include "jobs/job.hpp"

namespace dsx::finetune {

// Values for RenderTemplate: placeholders (already Python literals) and section flags.
struct TemplateValues {
  std::map<std::string, std::string> values;
  std::map<std::string, bool> flags;
};

// A partial's text and the name its errors cite (its file's path).
struct Partial {
  std::string text;
  std::string where;
};
// Finds the partial `name` for a {{>name}} line; an error (e.g. kNotFound) when there is none.
using PartialLoader = std::function<Result<Partial>(const std::string& name)>;

// The partials of a templates folder: {{>name}} reads <templates_dir>/_name.py. (Files, not a
// _partials/ folder: a templates folder stays a flat set of files that can be copied as one.)
PartialLoader PartialsIn(const std::string& templates_dir);

// Fills `text`; kUsage naming `where` (or the partial's file) and the line for an unknown
// placeholder or flag, an unclosed or unbalanced section, a stray "{{", a partial that is missing,
// includes itself or nests too deep (an error inside a partial also names the including line).
// Without `partials`, a {{>name}} line is an error.
Result<std::string> RenderTemplate(std::string_view text, const TemplateValues& values,
                                   const std::string& where = "template", const PartialLoader& partials = {});

// Python literal forms used for the placeholders.
std::string PyString(std::string_view s);  // "..." with escapes (valid Python and JSON)
std::string PyFloat(double v);             // 2e-05, 1.0, 0.0001: always reads back as a float
std::string PyBool(bool b);                // True / False

// Where the templates are: $DSX_SKILLS_DIR/finetune/templates, ./skills/finetune/templates, or
// next to the executable (../skills, ../../skills, ../share/dsx/skills), like `dsx skills`.
std::string DefaultTemplatesDir();

// The placeholder values and flags for `spec` (Complete()d) and `plan`: exposed so tests and
// `--dry-run` can show exactly what went into the script.
TemplateValues ScriptValues(const Spec& spec, const Plan& plan);

// Reads <templates_dir>/<method>.py and renders it with its partials (PartialsIn). kNotFound when the template is
// missing, kUsage for a method without a template or a template that does not render.
Result<std::string> RenderScript(const Spec& spec, const Plan& plan, const std::string& templates_dir);

// Options that are not part of the spec: where the job runs and how it reports.
struct RequestOptions {
  std::string backend = "local";  // "local" | "slurm" | "hf"
  std::string name;               // "" = derived from method, model and dataset ("sft-qwen2.5-0.5b-capybara")
  std::string trackio_space;      // TRACKIO_SPACE_ID when the tracker is trackio ("" = trackio's default)
  std::string trackio_project;    // TRACKIO_PROJECT ("" = the job name)
  // HF_TOKEN is set in the submitting environment. local/slurm pass it to a pushing job as a secret
  // only then; without it the job's huggingface_hub reads the same user's login token file.
  bool hf_token_in_env = true;
};

// The job's timeout: spec.timeout_s when said, else plan hours x 1.5 + 20 min, at least 30 min.
std::int64_t JobTimeoutSeconds(const Spec& spec, const Plan& plan);

// "sft-qwen2.5-0.5b-instruct-capybara": lower-case, [a-z0-9.-], at most 64 characters.
std::string JobName(const Spec& spec);

// The request for `script` on `options.backend`. kUsage for an unknown backend.
//   kind "finetune"; files {"train.py": script}; command {"uv", "run", "{jobdir}/train.py"};
//   timeout JobTimeoutSeconds; resources: hf the plan's flavor, slurm gpus (+ gres type), cpus and
//   memory from the plan; secret_env {"HF_TOKEN"} on hf, and on local/slurm when pushing to the Hub
//   with HF_TOKEN in the environment (options.hf_token_in_env) (and WANDB_API_KEY for
//   wandb); env TRACKIO_* when the tracker is trackio; labels {"dsx-kind": "finetune", ...};
//   meta {"spec": ToJson(spec), "plan": ToJson(plan)}.
Result<jobs::JobRequest> BuildRequest(const Spec& spec, const Plan& plan, const std::string& script,
                                      const RequestOptions& options);

// One `name=` argument of a `...Config(` call in a script.
struct ConfigKeyword {
  std::string config;   // "SFTConfig", "LoraConfig", "BitsAndBytesConfig"
  std::string keyword;  // "max_length"
  int line = 0;         // 1-based line of the keyword
};

// Every keyword argument of every call whose callee name ends in "Config" (top-level arguments
// only: the keys of a dict passed as a value are not the config's arguments).
std::vector<ConfigKeyword> ConfigKeywords(std::string_view script);

// configs/trl_args.toml: for each config class, the argument names it accepts (its own and the
// ones it inherits), and where they were taken from.
struct TrlArgs {
  std::string trl_version;                               // "1.9.0"
  std::string source;                                    // how the list was made
  std::map<std::string, std::set<std::string>> classes;  // "SFTConfig" -> {"max_length", ...} (inherited included)
  std::map<std::string, std::string> renamed;            // old name -> what to write instead
};

// Parses trl_args.toml. Each [classes.<Name>] has `args` (list of names) and optional `inherits`
// (class names whose args it also accepts). kUsage naming the file for bad TOML or shape.
Result<TrlArgs> ParseTrlArgs(std::string_view toml_text, const std::string& where = "trl_args.toml");
Result<TrlArgs> LoadTrlArgs(const std::string& path);

// Problems with a rendered script, one line each ("line 42: SFTConfig has no argument
// 'max_seq_length' (trl 1.9.0)", "line 7: unknown config class 'FooConfig'"); empty = all known.
std::vector<std::string> CheckConfigKeywords(std::string_view script, const TrlArgs& args);

}  // namespace dsx::finetune
