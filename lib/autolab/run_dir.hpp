// Where a run lives. One folder per run (by default one per plan under the data directory; `--run-dir`
// chooses another), holding everything the run produces, so copying the folder copies the run:
//
//   <run>/ledger.sqlite            the ledger (and its -wal/-shm files): the one durable record
//   <run>/plan.json                the plan as it was first run (canonical JSON, PlanHash of it)
//   <run>/experiments/<id>/        one experiment's working folder (files copied or a git worktree,
//                                  patches applied), the {workdir} of its command
//   <run>/experiments/<id>/output.log  its output as the workers read it (stdout and stderr)
//   <run>/report.md, results.json, results.tsv, plots/*.svg   the reporter's files
//
// A RUN argument on the command line (status, stop, pause, resume, report) is a run folder, a plan
// file (its default run folder), or a plan name (the folder of that name under DefaultRunRoot()).
#pragma once

#include <string>

#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

// $DSX_AUTOLAB_DIR, else $XDG_DATA_HOME/dsx/autolab, else $HOME/.local/share/dsx/autolab.
std::string DefaultRunRoot();
// DefaultRunRoot()/<plan.name>: the run folder `dsx autolab run PLAN` uses without --run-dir.
std::string DefaultRunDir(const Plan& plan);

std::string LedgerPath(const std::string& run_dir);                                // <run>/ledger.sqlite
std::string ExperimentDir(const std::string& run_dir, const std::string& id);      // <run>/experiments/<id>
std::string ExperimentLogPath(const std::string& run_dir, const std::string& id);  // .../<id>/output.log

// Resolves a RUN argument (see above) to a run folder that holds a ledger: kNotFound naming what was
// tried otherwise.
Result<std::string> ResolveRunDir(const std::string& run_arg);

}  // namespace dsx::autolab
