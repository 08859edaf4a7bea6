// The Reporter's files: what a person reads in the morning and what a tool reads any time. Written
// from the ledger alone (so `dsx autolab report RUN` regenerates them identically at any time, and a
// run interrupted and resumed reports the same as one that was not):
//   report.md     the objective, the winner (mean +- CI over repeats and why it was promoted), the
//                 ranking table, failed/pruned experiments with reasons, the evolve history
//                 (kept / reverted), links to plots and logs
//   results.json  {"run","plan_hash","objective":{..},"best":{..},"configurations":[..ranked..],
//                  "experiments":[..one per experiment, ordered by id..]} (documented in docs/formats/autolab-results.md)
//   results.tsv   one row per finished experiment, its id in the first column, then config, seed,
//                 hypothesis, params (one column per parameter), metric; sorted by id
//   plots/metric.svg      metric per experiment (grouped by configuration, CI bars)
//   plots/best.svg        best so far over experiments in finishing order
//   plots/curves.svg      intermediate curves (when any)
// Files are written atomically (core/fs.hpp), so a reader never sees half a report.
#pragma once

#include <string>

#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

struct ReportFiles {
  std::string report_md, results_json, results_tsv;
  std::vector<std::string> plots;
};

// Writes every file into run_dir (plots into run_dir/plots). Deterministic: the same ledger gives
// byte-identical files (no wall-clock stamps in results.json / results.tsv).
Result<ReportFiles> WriteReport(const Plan& plan, Ledger& ledger, const std::string& run_dir);

}  // namespace dsx::autolab
