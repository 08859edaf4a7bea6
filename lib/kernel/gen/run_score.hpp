// A gen run's contribution to fast_p (kernel/bench/fast_p.hpp): the run is one task, and its
// answer is the best passing candidate, judged exactly as `dsx kernel score RUN_DIR` judges the
// saved run folder (same bench document, same reference baseline). Exposed for tests.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/bench/fast_p.hpp"
#include "kernel/gen/gen_loop.hpp"

namespace dsx::kernel::gen {

// The task's outcome: not correct when nothing passed or nothing was verified and timed (a
// --compile-only run); else the best candidate's bench document (or, from a fake evaluator
// without one, its timing rows: baseline time = median_ms x speedup).
bench::TaskOutcome RunOutcome(const std::string& task, const GenResult& r);

// True when some candidate was verified and timed (a fast_p that says something).
bool RunWasTimed(const GenResult& r);

// FastPToJson over the one task.
nlohmann::json RunFastPJson(const std::string& task, const GenResult& r, const std::vector<double>& ps);

}  // namespace dsx::kernel::gen
