// An experiment's working folder, the {workdir} of its command: made fresh for every attempt so an
// experiment never sees what an earlier attempt (or another experiment) left behind.
//   - experiment.files: copied from the plan's folder into {workdir} by name (digits/train.py is
//     {workdir}/train.py; a folder is copied whole under its name); a path that leaves the plan's
//     folder, or two entries with one name, are refused
//   - experiment.git_worktree: a detached `git worktree` of the plan's repository at HEAD instead
//     (committed content only: what the report can name by commit)
//   - then the candidate's patches are applied in order (ApplyPatches: all or nothing)
#pragma once

#include <string>
#include <vector>

#include "autolab/plan.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

// Removes whatever is at `workdir` (a worktree is unregistered first) and builds it again.
// kFailed naming the file or patch that went wrong (the patch's own message included).
Status PrepareWorkdir(const Plan& plan, const std::string& workdir, const std::vector<std::string>& patches);

// Removes the folder (and unregisters it when it is a git worktree). Missing is fine.
Status RemoveWorkdir(const Plan& plan, const std::string& workdir);

}  // namespace dsx::autolab
