#include "kernel/bench/fast_p.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace dsx::kernel::bench {

using nlohmann::json;

const std::vector<double>& DefaultFastPThresholds() {
  static const std::vector<double> kP = {0.0, 0.5, 0.8, 1.0, 1.5, 2.0};
  return kP;
}

namespace {

bool PositiveFinite(double v) { return std::isfinite(v) && v > 0; }

std::string Ms(double v) {
  char b[48];
  std::snprintf(b, sizeof b, "%g ms", v);
  return b;
}

std::string Where(const ConfigTime& c) { return c.dtype + "/" + c.preset; }

}  // namespace

std::string FastPKey(double p) {
  char b[48];
  std::snprintf(b, sizeof b, "fast_%g", p);
  return b;
}

TaskScore ScoreTask(const TaskOutcome& t) {
  TaskScore s;
  s.task = t.task;
  s.correct = t.correct;
  s.flagged = t.flagged;
  if (!t.correct) {
    s.note = (t.status.empty() ? std::string("failed") : t.status) + (t.reason.empty() ? "" : ": " + t.reason);
    return s;
  }
  if (t.configs.empty()) {
    s.note = "no timed configuration";
    return s;
  }
  // Sum of logs, not a product: 40 configurations of 10x would not overflow, but the log form
  // also keeps a 1e-300 ms time from turning the mean into 0 or inf silently.
  double log_sum = 0;
  for (const auto& c : t.configs) {
    if (!PositiveFinite(c.candidate_ms)) {
      s.note = Where(c) + ": kernel time " + Ms(c.candidate_ms) + " is not a measurement";
      return s;
    }
    if (!c.baseline_note.empty()) {
      s.note = Where(c) + ": " + c.baseline_note;
      return s;
    }
    if (!PositiveFinite(c.baseline_ms)) {
      s.note = Where(c) + ": baseline time " + Ms(c.baseline_ms) + " is not a measurement";
      return s;
    }
    log_sum += std::log(c.baseline_ms / c.candidate_ms);
  }
  s.speedup = std::exp(log_sum / static_cast<double>(t.configs.size()));
  if (!PositiveFinite(s.speedup)) {
    s.note = "speedup is not a finite number";
    return s;
  }
  s.scored = true;
  return s;
}

FastPReport ComputeFastP(const std::vector<TaskOutcome>& tasks, const std::vector<double>& ps) {
  FastPReport r;
  r.n = tasks.size();
  double log_sum = 0;
  for (const auto& t : tasks) {
    if (r.baseline.empty()) r.baseline = t.baseline;
    else if (r.baseline != t.baseline) r.baseline = "mixed";
    TaskScore s = ScoreTask(t);
    r.correct += s.correct;
    r.flagged += s.correct && s.flagged;
    if (s.scored) {
      ++r.scored;
      log_sum += std::log(s.speedup);
    }
    r.tasks.push_back(std::move(s));
  }
  if (r.scored) r.geomean_speedup = std::exp(log_sum / static_cast<double>(r.scored));
  for (double p : ps) {
    FastPPoint pt;
    pt.p = p;
    // Strict '>' (KernelBench): a kernel exactly as fast as the baseline is not "faster by 1".
    for (const auto& s : r.tasks) pt.count += s.scored && s.speedup > p;
    pt.fraction = r.n ? static_cast<double>(pt.count) / static_cast<double>(r.n) : 0.0;
    r.points.push_back(pt);
  }
  return r;
}

Result<std::vector<double>> ParseFastPThresholds(const std::string& text) {
  std::vector<double> out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty()) return Status::Usage("--fast-p: empty threshold in '" + text + "' (want e.g. 0,1,1.5)");
    char* end = nullptr;
    double v = std::strtod(item.c_str(), &end);
    if (end == item.c_str() || *end != '\0' || !std::isfinite(v) || v < 0)
      return Status::Usage("--fast-p: '" + item + "' is not a finite number >= 0");
    for (double seen : out)
      if (seen == v) return Status::Usage("--fast-p: threshold '" + item + "' given twice");
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.size() > 64) return Status::Usage("--fast-p: at most 64 thresholds");
  return out;
}

json FastPToJson(const FastPReport& r) {
  json thresholds = json::array(), fast = json::object(), tasks = json::array();
  for (const auto& pt : r.points) {
    thresholds.push_back({{"p", pt.p}, {"count", pt.count}, {"fraction", pt.fraction}});
    fast[FastPKey(pt.p)] = pt.fraction;
  }
  for (const auto& s : r.tasks)
    tasks.push_back({{"task", s.task},
                     {"correct", s.correct},
                     {"speedup", s.scored ? json(s.speedup) : json(nullptr)},
                     {"note", s.note},
                     {"flagged", s.flagged}});
  return {{"baseline", r.baseline.empty() ? json(nullptr) : json(r.baseline)},
          {"n", r.n},
          {"correct", r.correct},
          {"scored", r.scored},
          {"flagged", r.flagged},
          {"geomean_speedup", r.scored ? json(r.geomean_speedup) : json(nullptr)},
          {"thresholds", thresholds},
          {"fast_p", fast},
          {"tasks", tasks}};
}

std::string FormatFastP(const FastPReport& r) {
  std::string base = r.baseline == "reference"     ? "the task's reference kernel"
                     : r.baseline == "torch_eager" ? "PyTorch eager (torch_eager.py)"
                     : r.baseline.empty()          ? "none"
                                                   : r.baseline;
  char line[256];
  std::snprintf(line, sizeof line, "fast_p over %zu task%s (baseline: %s; speedup = baseline ms / kernel ms)\n", r.n,
                r.n == 1 ? "" : "s", base.c_str());
  std::string out = line;
  for (const auto& pt : r.points) {
    std::snprintf(line, sizeof line, "  %-10s %.3f  (%zu/%zu correct and speedup > %g)\n", FastPKey(pt.p).c_str(),
                  pt.fraction, pt.count, r.n, pt.p);
    out += line;
  }
  std::snprintf(line, sizeof line, "  correct %zu/%zu, with a speedup %zu", r.correct, r.n, r.scored);
  out += line;
  if (r.scored) {
    std::snprintf(line, sizeof line, ", geometric mean speedup %.3fx", r.geomean_speedup);
    out += line;
  }
  if (r.flagged) out += ", " + std::to_string(r.flagged) + " flagged for review";
  out += "\n";
  for (const auto& s : r.tasks) {
    if (s.scored) std::snprintf(line, sizeof line, "  %-16s %7.3fx%s\n", s.task.c_str(), s.speedup,
                                s.flagged ? "  (flagged for review)" : "");
    else std::snprintf(line, sizeof line, "  %-16s %8s  %s\n", s.task.c_str(), "-", s.note.substr(0, 180).c_str());
    out += line;
  }
  return out;
}

}  // namespace dsx::kernel::bench
