// The child side of `dsx kernel bench`: verifies and times ONE (task, impl, dtype, preset) in
// this process and returns a JSON result. The parent (bench.hpp) starts one child per
// configuration, so a candidate that crashes the context, hangs, or scribbles over device memory
// takes down only its own process; the parent reports it and goes on.
//
// Order of work, which is what makes the checks trustworthy:
//   1. compile candidate, reference and harness kernels (cache);
//   2. verification trials (>= 5): fresh seeds -> inputs; outputs := NaN (0xFF bytes);
//      candidate; inputs re-derived from their seeds and compared bit for bit; THEN the reference
//      runs on those inputs into its own buffers (so the candidate cannot have pre-written them);
//      float64 relative L2 error + non-finite count; CPU reference on a sample (trial 0);
//   3. timing: cold (L2 flushed with a buffer of 4x the L2 size) then hot; every timed call gets
//      freshly generated inputs in one of several rotating buffer sets and NaN outputs; start
//      event, launch, cuCtxSynchronize (work anywhere in the context is counted), stop event;
//      the first calls and every Nth are verified like a trial; samples with the SM clock under
//      75% of the reference clock are discarded;
//   4. the reference kernel is timed the same way (not verified: it is the ground truth).
#pragma once

#include <nlohmann/json.hpp>

namespace dsx::kernel::bench {

// Request fields (all set by the parent): task_dir, impl_file, dtype, preset, device, arch,
// cache_dir, trials, max_noise_pct, timeout_s, min_samples, modes ["cold","hot"],
// time_reference, rotate_sets, verify_every.
// Result: {"status": ok|wrong|compile_error|crashed|failed|unavailable, "reasons": [...], ...};
// never throws.
nlohmann::json RunConfig(const nlohmann::json& request);

}  // namespace dsx::kernel::bench
