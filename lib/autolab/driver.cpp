// The run driver (driver.hpp). Being written: this placeholder only lets the CLI link.
#include "autolab/driver.hpp"

namespace dsx::autolab {

Result<RunResult> RunPlan(const Plan&, const RunOptions&) { return Status::Failed("autolab run: not built yet"); }

}  // namespace dsx::autolab
