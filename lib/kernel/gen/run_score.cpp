#include "kernel/gen/run_score.hpp"

#include "kernel/bench/fast_p_results.hpp"

namespace dsx::kernel::gen {

bool RunWasTimed(const GenResult& r) {
  for (const auto& a : r.attempts)
    if (!a.eval.rows.empty()) return true;
  return false;
}

bench::TaskOutcome RunOutcome(const std::string& task, const GenResult& r) {
  bench::TaskOutcome t;
  t.task = task;
  t.baseline = "reference";
  t.source = r.run_dir.string();
  if (r.best < 0) {
    t.status = "failed";
    t.reason = "no candidate passed verification (" + std::to_string(r.attempts.size()) + " tried)";
    return t;
  }
  const Attempt& best = r.attempts[static_cast<size_t>(r.best)];
  if (best.eval.bench.is_object() && best.eval.bench.contains("results")) {
    auto o = bench::OutcomeFromBenchDoc(best.eval.bench, "candidates/" + best.id + ".bench.json");
    if (o.ok()) {
      o->task = task;
      o->source = t.source;
      return *o;
    }
  }
  if (best.eval.rows.empty()) {
    t.status = "failed";
    t.reason = "compile-only run: the best candidate was compiled, never verified or timed";
    return t;
  }
  t.correct = true;
  t.status = "ok";
  t.flagged = best.eval.flagged;
  for (const auto& row : best.eval.rows) {
    bench::ConfigTime c;
    c.dtype = row.dtype;
    c.preset = row.preset;
    c.mode = "cold";
    c.candidate_ms = row.median_ms;
    c.baseline_ms = row.median_ms * row.speedup;
    if (!(row.speedup > 0)) c.baseline_note = "no reference time (no speedup reported)";
    t.configs.push_back(c);
  }
  return t;
}

nlohmann::json RunFastPJson(const std::string& task, const GenResult& r, const std::vector<double>& ps) {
  return bench::FastPToJson(bench::ComputeFastP({RunOutcome(task, r)}, ps));
}

}  // namespace dsx::kernel::gen
