#include "kernel/gen/prompt.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace dsx::kernel::gen {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPassed: return "passed";
    case Outcome::kNoCode: return "no_code";
    case Outcome::kCompileError: return "compile_error";
    case Outcome::kRejected: return "rejected";
    case Outcome::kWrong: return "wrong";
    case Outcome::kCrashed: return "crashed";
    case Outcome::kError: return "error";
  }
  return "error";
}

double ScoreRows(const std::vector<TimingRow>& rows) {
  if (rows.empty()) return 0;
  bool speedups = std::all_of(rows.begin(), rows.end(), [](const TimingRow& r) { return r.speedup > 0; });
  double log_sum = 0;
  for (const auto& r : rows) {
    double v = speedups ? r.speedup : (r.median_ms > 0 ? 1.0 / r.median_ms : 0);
    if (v <= 0) return 0;
    log_sum += std::log(v);
  }
  return std::exp(log_sum / rows.size());
}

std::vector<std::string> SelectReferences(const llm::Skill& skill, const std::string& task) {
  std::vector<std::string> out;
  auto it = skill.metadata.find("dsx-gen-references");
  if (it != skill.metadata.end()) {
    std::istringstream words(it->second);
    for (std::string w; words >> w;) out.push_back(w);
  }
  for (const auto& f : skill.files) {
    if (!f.starts_with("examples/") || !f.ends_with(".md")) continue;
    // "examples/elementwise-vector-add.md" is about task "vector_add": compare with - for _.
    std::string stem = f.substr(9), name = task;
    std::replace(stem.begin(), stem.end(), '_', '-');
    std::replace(name.begin(), name.end(), '_', '-');
    if (!name.empty() && stem.find(name) != std::string::npos) continue;
    out.push_back(f);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

std::string Cap(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  return s.substr(0, n) + "\n... (" + std::to_string(s.size() - n) + " more characters cut)\n";
}

std::string Fence(const std::string& lang, const std::string& code) {
  std::string c = code;
  if (!c.empty() && c.back() != '\n') c += '\n';
  return "```" + lang + "\n" + c + "```\n";
}

void Timings(std::ostringstream& o, const Evaluation& e) {
  if (e.rows.empty()) return;
  o << "| dtype | size | median ms | GB/s | % peak BW | speedup vs reference |\n|---|---|---|---|---|---|\n";
  char buf[256];
  for (const auto& r : e.rows) {
    std::snprintf(buf, sizeof buf, "| %s | %s | %.4f | %.0f | %.1f | %.2fx |\n", r.dtype.c_str(), r.preset.c_str(),
                  r.median_ms, r.gbps, r.pct_peak, r.speedup);
    o << buf;
  }
}

}  // namespace

Prompt BuildPrompt(const PromptInputs& in) {
  const TaskInfo& t = *in.task;
  Prompt p;
  std::ostringstream s;
  s << "You are an expert CUDA kernel engineer. You write one complete CUDA source file per reply. "
       "It is compiled at run time with NVRTC for "
    << in.arch
    << ", verified against a reference kernel on fresh random inputs, and timed by the dsx harness. "
       "Correctness comes first; then speed. Follow the skill below exactly, hard constraints first.\n\n";
  if (in.skill) {
    s << "# Skill: " << in.skill->name << "\n\n" << in.skill->body << "\n";
  }
  for (const auto& [path, text] : in.references) s << "\n# Reference: " << path << "\n\n" << text << "\n";
  p.system = s.str();

  std::ostringstream u;
  u << "# Task: " << t.name << "\n\n" << t.description << "\n\n";
  u << "- Entry point: `" << t.entry << "` (define a `__global__` function named `" << t.entry_base << "`"
    << (t.entry.find("<T>") != std::string::npos
            ? "; it is a template over the element type T, instantiated through the name expression `" + t.entry + "`"
            : std::string())
    << ").\n";
  u << "- Parameters, in this order: `" << t.signature << "`.\n";
  u << "- Launch (from [impl.optimized]; expressions over the size variables): " << t.launch << ".\n";
  u << "- Element types (T): ";
  for (size_t i = 0; i < t.dtypes.size(); ++i) u << (i ? ", " : "") << t.dtypes[i];
  u << "\n- Sizes: " << t.sizes << "\n- Tolerance (relative L2 error vs the reference): " << t.tolerance << "\n\n";
  u << "To change the launch, put one line in the file, e.g.\n"
       "`// dsx-launch: entry = \""
    << t.entry
    << "\", grid = [\"...\"], block = [256], shared = \"0\"`\n"
       "(a TOML inline table: entry, grid, block, shared, options; missing keys keep the values above).\n\n";
  u << "## task.toml\n\n" << Fence("toml", t.toml_text) << "\n";
  if (!t.reference_source.empty())
    u << "## reference.cu (correct, slow)\n\n" << Fence("cuda", t.reference_source) << "\n";

  const Attempt* best = nullptr;
  for (const auto& a : in.history)
    if (a.eval.outcome == Outcome::kPassed && (!best || a.eval.score > best->eval.score)) best = &a;
  if (best) {
    u << "## Best kernel so far: " << best->id << " (score " << best->eval.score
      << ", geometric-mean speedup over the reference)\n\n"
      << Fence("cuda", best->source);
    std::ostringstream tm;
    Timings(tm, best->eval);
    u << tm.str() << "\n";
  }
  if (!in.history.empty()) {
    u << "## Feedback on earlier attempts (oldest first)\n\n";
    size_t n = in.history.size();
    size_t detailed_from = n > in.detailed_attempts ? n - in.detailed_attempts : 0;
    for (size_t i = 0; i < n; ++i) {
      const Attempt& a = in.history[i];
      u << "### " << a.id << ": " << OutcomeName(a.eval.outcome) << " - " << a.eval.summary << "\n\n";
      if (i < detailed_from) continue;
      if (!a.eval.feedback.empty()) u << Fence("text", Cap(a.eval.feedback, in.feedback_chars));
      std::ostringstream tm;
      Timings(tm, a.eval);
      u << tm.str() << "\n";
    }
    u << "Fix what failed above; where a kernel passed, make it faster (look at % of peak bandwidth).\n\n";
  }
  u << "## Reply format\n\nReply with a short plan (a few lines), then exactly ONE fenced ```cuda block "
       "holding the complete .cu file: includes (only <cuda_bf16.h>, <cuda_fp16.h>), helpers, and the "
       "`__global__` entry `"
    << t.entry_base << "` with the parameters above. No host code, no main().\n";
  p.user = u.str();
  return p;
}

}  // namespace dsx::kernel::gen
