// The plan a run folder was made with, read back from <run>/plan.json (run_dir.hpp). Commands that
// take a RUN (status, report) work from the run folder alone: the plan file may have moved or been
// edited since, and the run must still be described by the plan it ran (its objective decides the
// ranking, its budget the progress). plan.json is the canonical JSON of ToJson (plan.hpp), so
// PlanFromJson is its exact inverse: PlanHash(PlanFromJson(ToJson(p))) == PlanHash(p).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "autolab/plan.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

inline constexpr const char* kRunPlanFileName = "plan.json";

// <run>/plan.json.
std::string RunPlanPath(const std::string& run_dir);

// The inverse of ToJson. The file is written by dsx but lives on disk where anyone may edit it, so
// every field is checked: kFailed naming the first field that is missing or of the wrong type.
// path and dir are left empty (ToJson leaves them out).
Result<Plan> PlanFromJson(const nlohmann::json& j);

// Reads and parses <run>/plan.json (depth-bounded, core/json_limits.hpp); path and dir are set to
// the file and the run folder. kNotFound when the run has no plan.json (a run folder whose first
// invocation died before writing it), kFailed when it is not a plan.
Result<Plan> LoadRunPlan(const std::string& run_dir);

}  // namespace dsx::autolab
