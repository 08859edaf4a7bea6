// The job commands two groups share: list, status, logs [-f] and cancel. `dsx jobs` acts on every
// job; `dsx finetune` on fine-tunes only (a job of another kind is refused before its backend is
// asked, naming the `dsx jobs` command to use). One implementation, so the two groups cannot
// drift apart in flags, output or exit codes (man dsx-jobs, man dsx-finetune).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "jobs/service/job_service.hpp"

namespace dsx::cmd::job_views {

// Flags every job command takes.
struct Common {
  std::string jobs_dir;  // --jobs-dir (DSX_JOBS_DIR)
  std::string config;    // --config
  bool json = false;
};
void AddCommon(CLI::App* cmd, Common& c, bool with_json = true);
jobs::ServiceOptions Options(const Common& c);

// Which jobs a group's commands act on.
struct Scope {
  std::string group;  // "jobs" | "finetune": the command names in messages
  std::string kind;   // "" = every kind (list gets --kind); else only jobs of this kind
  std::string noun;   // "job" | "fine-tune": help text
};

// Adds list, status, logs and cancel to `group`.
void Register(CLI::App* group, const Scope& scope);

}  // namespace dsx::cmd::job_views
