#include "kernel/gen/bench_evaluator.hpp"

#include <cstdio>

#include "kernel/gen/subprocess.hpp"

namespace dsx::kernel::gen {

using nlohmann::json;

BenchEvaluator::BenchEvaluator(BenchOptions options) : options_(std::move(options)) {
  if (options_.dsx_binary.empty()) options_.dsx_binary = SelfExecutable();
}

std::vector<std::string> BenchEvaluator::Command(const std::filesystem::path& file) const {
  std::vector<std::string> argv = {options_.dsx_binary, "kernel", "bench", options_.task, "--impl",
                                   file.string(),       "--json"};
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  return argv;
}

std::vector<std::string> BenchEvaluator::CompileCommand(const std::filesystem::path& file) const {
  std::vector<std::string> argv = {options_.dsx_binary, "kernel", "compile", file.string(), "--task",
                                   options_.task,       "--json"};
  if (!options_.arch.empty()) {
    argv.push_back("--arch");
    argv.push_back(options_.arch);
  }
  return argv;
}

Result<Evaluation> BenchEvaluator::Evaluate(const std::filesystem::path& file) {
  auto c = RunProcess(CompileCommand(file), options_.timeout_s);
  if (!c.ok()) return c.status().Wrap("cannot run the kernel compiler");
  auto compiled = InterpretCompile(c->exit_code, c->timed_out, c->out, c->err);
  if (!compiled.ok() || compiled->outcome != Outcome::kPassed || options_.compile_only) return compiled;
  auto r = RunProcess(Command(file), options_.timeout_s);
  if (!r.ok()) return r.status().Wrap("cannot run the benchmark harness");
  return InterpretBench(r->exit_code, r->timed_out, r->out, r->err);
}

namespace {

double Num(const json& o, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = o.find(k);
    if (it != o.end() && it->is_number()) return it->get<double>();
  }
  return 0;
}

std::string Str(const json& o, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = o.find(k);
    if (it != o.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

// Timing rows: every object that carries a median time, wherever the harness nests it. The
// schema is `man dsx-kernel` (JSON OUTPUT); reading by field name keeps this robust to nesting.
void CollectRows(const json& j, const std::string& dtype, const std::string& preset, std::vector<TimingRow>& rows) {
  if (j.is_array()) {
    for (const auto& e : j) CollectRows(e, dtype, preset, rows);
    return;
  }
  if (!j.is_object()) return;
  std::string d = Str(j, {"dtype"});
  std::string p = Str(j, {"preset", "size", "sizes"});
  if (d.empty()) d = dtype;
  if (p.empty()) p = preset;
  double median = Num(j, {"median_ms", "time_ms", "median"});
  if (median > 0 && !j.contains("reference_only")) {
    TimingRow r;
    r.dtype = d;
    r.preset = p;
    r.median_ms = median;
    r.gbps = Num(j, {"gbps", "GBps", "bandwidth_gbps"});
    r.pct_peak = Num(j, {"pct_peak_bw", "pct_peak", "peak_pct", "pct_of_peak"});
    r.speedup = Num(j, {"speedup", "speedup_vs_reference", "speedup_vs_ref"});
    rows.push_back(r);
    return;  // the row's own sub-objects (cold/hot...) are details of this one
  }
  for (const auto& [k, v] : j.items()) {
    if (k == "reference" || k == "baseline") continue;  // the reference's own timings
    CollectRows(v, d, p, rows);
  }
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Outcome Classify(const std::string& text) {
  std::string t = Lower(text);
  auto has = [&](const char* w) { return t.find(w) != std::string::npos; };
  if (has("compile") && (has("error") || has("failed"))) return Outcome::kCompileError;
  if (has("nvrtc")) return Outcome::kCompileError;
  if (has("rejected") || has("static scan") || has("speed of light") || has("speed-of-light"))
    return Outcome::kRejected;
  if (has("illegal") || has("timed out") || has("timeout") || has("crash") || has("signal") || has("launch failed"))
    return Outcome::kCrashed;
  if (has("verif") || has("mismatch") || has("relative error") || has("nan") || has("tolerance") || has("modified"))
    return Outcome::kWrong;
  return Outcome::kError;
}

std::string FirstLine(const std::string& s) {
  size_t start = s.find_first_not_of(" \n");
  if (start == std::string::npos) return "";
  size_t nl = s.find('\n', start);
  std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
  if (line.starts_with("dsx: ")) line = line.substr(5);
  return line.size() > 200 ? line.substr(0, 200) + "..." : line;
}

}  // namespace

Result<Evaluation> InterpretBench(int exit_code, bool timed_out, const std::string& out, const std::string& err) {
  Evaluation e;
  json doc = json::parse(out, nullptr, false);
  if (!doc.is_discarded()) e.bench = doc;
  if (exit_code == 5) {
    return Status::Unavailable(FirstLine(err).empty() ? "the benchmark harness reports no GPU (exit 5)"
                                                      : FirstLine(err));
  }
  if (exit_code == 2 || exit_code == 3) {
    return Status(exit_code == 2 ? Code::kUsage : Code::kNotFound,
                  "the benchmark harness refused the run: " + FirstLine(err));
  }
  if (timed_out) {
    e.outcome = Outcome::kCrashed;
    e.summary = "timed out (the harness child was killed)";
    e.feedback = "The benchmark did not finish in time: the kernel probably hangs or is extremely slow.\n" + err;
    return e;
  }
  // The documented schema (man dsx-kernel, JSON OUTPUT): {"status", "reasons", "results": [row]},
  // each row {"dtype", "preset", "status", "reasons", "median_ms", "gbps", "pct_peak_bw",
  // "speedup", "flagged", "flags"}; "status" of the document names the first failure.
  if (e.bench.is_object() && e.bench.contains("results") && e.bench["results"].is_array()) {
    const std::string status = e.bench.value("status", std::string(exit_code == 0 ? "ok" : "failed"));
    std::string detail;
    for (const auto& row : e.bench["results"]) {
      if (!row.is_object()) continue;
      const std::string rs = row.value("status", std::string());
      const std::string where = row.value("dtype", std::string()) + "/" + row.value("preset", std::string());
      if (rs == "ok") {
        TimingRow r;
        r.dtype = row.value("dtype", std::string());
        r.preset = row.value("preset", std::string());
        r.median_ms = Num(row, {"median_ms"});
        r.gbps = Num(row, {"gbps"});
        r.pct_peak = Num(row, {"pct_peak_bw"});
        r.speedup = Num(row, {"speedup"});
        if (r.median_ms > 0) e.rows.push_back(r);
        if (row.value("flagged", false)) e.flagged = true;
        if (row.contains("flags") && row["flags"].is_array())
          for (const auto& f : row["flags"])
            if (f.is_string()) detail += where + ": flag: " + f.get<std::string>() + "\n";
      } else {
        detail += where + ": " + (rs.empty() ? "failed" : rs);
        if (row.contains("reasons") && row["reasons"].is_array())
          for (const auto& why : row["reasons"])
            if (why.is_string()) detail += "\n  - " + why.get<std::string>();
        detail += "\n";
        if (row.contains("child_log") && row["child_log"].is_string() && !row["child_log"].get<std::string>().empty())
          detail += "  child log (tail):\n" + row["child_log"].get<std::string>().substr(0, 2000) + "\n";
      }
    }
    if (exit_code == 0 && status == "ok") {
      e.outcome = Outcome::kPassed;
    } else if (status == "wrong") {
      e.outcome = Outcome::kWrong;
    } else if (status == "rejected") {
      e.outcome = Outcome::kRejected;
    } else if (status == "compile_error") {
      e.outcome = Outcome::kCompileError;
    } else if (status == "crashed") {
      e.outcome = Outcome::kCrashed;
    } else {
      e.outcome = Classify(detail + err);
    }
    if (e.outcome == Outcome::kPassed) {
      e.score = ScoreRows(e.rows);
      double best_pct = 0, min_speed = 0, max_speed = 0;
      for (const auto& r : e.rows) {
        best_pct = std::max(best_pct, r.pct_peak);
        min_speed = min_speed == 0 ? r.speedup : std::min(min_speed, r.speedup);
        max_speed = std::max(max_speed, r.speedup);
      }
      char buf[256];
      std::snprintf(buf, sizeof buf, "passed: score %.3f, speedup %.2fx-%.2fx vs reference, up to %.0f%% of peak BW",
                    e.score, min_speed, max_speed, best_pct);
      e.summary = buf;
      if (e.flagged) e.summary += " (flagged for review)";
      e.feedback = detail;
      return e;
    }
    std::string first_reason;
    if (e.bench.contains("reasons") && e.bench["reasons"].is_array() && !e.bench["reasons"].empty() &&
        e.bench["reasons"][0].is_string())
      first_reason = e.bench["reasons"][0].get<std::string>();
    e.summary = status + (first_reason.empty() ? "" : ": " + first_reason);
    if (e.summary.size() > 240) e.summary = e.summary.substr(0, 240) + "...";
    e.feedback = "harness verdict: " + status + "\n" + detail;
    return e;
  }
  if (exit_code == 0 && !e.bench.is_null()) {
    CollectRows(e.bench, "", "", e.rows);
    e.outcome = Outcome::kPassed;
    e.score = ScoreRows(e.rows);
    char buf[256];
    std::snprintf(buf, sizeof buf, "passed: score %.3f", e.score);
    e.summary = buf;
    return e;
  }
  // Failed: the harness explains why in its JSON and on stderr; the model reads both.
  std::string text = err + "\n" + (e.bench.is_null() ? out : e.bench.dump());
  e.outcome = Classify(text);
  if (!e.bench.is_null()) {
    for (const char* k : {"outcome", "status", "verdict"}) {
      std::string v = e.bench.is_object() ? Str(e.bench, {k}) : "";
      if (v.empty()) continue;
      std::string lv = Lower(v);
      if (lv.find("compile") != std::string::npos) e.outcome = Outcome::kCompileError;
      else if (lv.find("reject") != std::string::npos) e.outcome = Outcome::kRejected;
      else if (lv.find("wrong") != std::string::npos || lv.find("verif") != std::string::npos)
        e.outcome = Outcome::kWrong;
      break;
    }
  }
  e.summary = FirstLine(err);
  if (e.summary.empty()) e.summary = std::string(OutcomeName(e.outcome)) + " (exit " + std::to_string(exit_code) + ")";
  e.feedback = err;
  if (!e.bench.is_null()) e.feedback += "\nharness JSON:\n" + e.bench.dump(1).substr(0, 6000);
  else if (!out.empty()) e.feedback += "\n" + out.substr(0, 6000);
  return e;
}

Result<Evaluation> InterpretCompile(int exit_code, bool timed_out, const std::string& out, const std::string& err) {
  Evaluation e;
  json doc = json::parse(out, nullptr, false);
  if (exit_code == 5 || exit_code == 2 || exit_code == 3) {
    return Status(exit_code == 5   ? Code::kUnavailable
                  : exit_code == 2 ? Code::kUsage
                                   : Code::kNotFound,
                  "the kernel compiler refused the run: " + FirstLine(err));
  }
  if (timed_out) {
    e.outcome = Outcome::kCompileError;
    e.summary = "compile timed out";
    e.feedback = "NVRTC did not finish in time (huge unrolling or template recursion?).";
    return e;
  }
  if (!doc.is_discarded()) e.bench = doc;
  bool ok = exit_code == 0 && (doc.is_discarded() || doc.value("ok", true));
  if (ok) {
    e.outcome = Outcome::kPassed;
    e.summary = "compiled; not verified or timed (--compile-only)";
    return e;
  }
  e.outcome = Outcome::kCompileError;
  std::string log =
      !doc.is_discarded() && doc.contains("log") && doc["log"].is_string() ? doc["log"].get<std::string>() : "";
  int errors = 0;
  std::string first;
  if (!doc.is_discarded() && doc.contains("diagnostics") && doc["diagnostics"].is_array()) {
    for (const auto& d : doc["diagnostics"]) {
      // "error", "catastrophic error", "fatal error" (NVRTC's words for a missing header).
      if (d.value("severity", std::string()).find("error") == std::string::npos) continue;
      if (errors++ == 0)
        first = "line " + std::to_string(d.value("line", 0)) + ": " + d.value("message", std::string());
    }
  }
  e.summary = "compile error" + (first.empty() ? ": " + FirstLine(err) : " (" + std::to_string(errors) + "): " + first);
  e.feedback = "NVRTC compile log:\n" + (log.empty() ? err : log);
  return e;
}

}  // namespace dsx::kernel::gen
