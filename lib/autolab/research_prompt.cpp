// The researcher's prompt (see research_prompt.hpp).
#include "autolab/research_prompt.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "autolab/hypothesis_json.hpp"
#include "autolab/note_text.hpp"

namespace dsx::autolab {

namespace {

constexpr std::size_t kMaxPatchShown = 2000;  // a tried patch longer than this is summarized

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// "train.py (+3 -1)" for each file a unified diff touches.
std::string PatchSummary(const std::string& patch) {
  std::map<std::string, std::pair<int, int>> files;
  std::string current;
  std::istringstream in(patch);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("+++ ", 0) == 0) {
      current = OneLine(line.substr(4));
      if (current.rfind("b/", 0) == 0) current = current.substr(2);
      current = current.substr(0, current.find(' '));
      files[current];
    } else if (!current.empty() && line.rfind("+", 0) == 0) {
      ++files[current].first;
    } else if (!current.empty() && line.rfind("-", 0) == 0 && line.rfind("--- ", 0) != 0) {
      ++files[current].second;
    }
  }
  std::string out;
  for (const auto& [f, n] : files) {
    out += (out.empty() ? "" : ", ") + f + " (+" + std::to_string(n.first) + " -" + std::to_string(n.second) + ")";
  }
  return out.empty() ? "a patch" : out;
}

struct ConfigRow {
  std::int64_t first_seq = 0, last_seq = 0;
  std::string hypothesis, rationale, params, patch;
  std::vector<double> metrics;
  std::vector<std::string> failures;  // "failed: reason"
  int running = 0;
  bool promoted = false;
  double mean() const {
    double s = 0;
    for (double m : metrics) s += m;
    return metrics.empty() ? NAN : s / static_cast<double>(metrics.size());
  }
};

std::string DescribeRow(const ConfigRow& r) {
  std::string s = "- " + (r.hypothesis.empty() ? std::string("(no hypothesis)") : r.hypothesis);
  if (r.promoted) s += " [current best]";
  s += ": params " + r.params;
  if (!r.patch.empty()) {
    s += "; patch " + PatchSummary(r.patch);
  }
  if (!r.metrics.empty()) {
    s += "; metric mean " + Num(r.mean()) + " over " + std::to_string(r.metrics.size()) + " run(s) [";
    for (std::size_t i = 0; i < r.metrics.size(); ++i) s += (i ? ", " : "") + Num(r.metrics[i]);
    s += "]";
  }
  if (r.running) s += "; " + std::to_string(r.running) + " not finished yet";
  for (const std::string& f : r.failures) s += "; " + f;
  if (!r.rationale.empty()) s += "\n  rationale: " + r.rationale;
  if (!r.patch.empty() && r.patch.size() <= kMaxPatchShown) s += "\n  patch:\n" + r.patch;
  return s + "\n";
}

std::string ResultsSection(const Plan& plan, const ResearchContext& context) {
  std::map<std::string, ConfigRow> rows;
  for (const ExperimentRecord& e : context.so_far) {
    const std::string key = e.config_key.empty() ? ConfigKey(e.params, e.patch) : e.config_key;
    auto [it, fresh] = rows.try_emplace(key);
    ConfigRow& r = it->second;
    if (fresh) {
      r.first_seq = e.seq;
      r.hypothesis = OneLine(ToValidUtf8(e.hypothesis));
      r.rationale = OneLine(ToValidUtf8(Utf8Prefix(e.rationale, kMaxRationaleBytes)));
      r.params = Dump(e.params);
      r.patch = ToValidUtf8(e.patch);
    }
    r.last_seq = std::max(r.last_seq, e.seq);
    r.promoted = r.promoted || e.promoted;
    if (e.state == ExpState::kFinished && e.metric) {
      r.metrics.push_back(*e.metric);
    } else if (IsTerminal(e.state)) {
      std::string reason = OneLine(ToValidUtf8(Utf8Prefix(e.reason, 200)));
      r.failures.push_back(std::string(ExpStateName(e.state)) + (reason.empty() ? "" : ": " + reason));
    } else {
      ++r.running;
    }
  }
  if (rows.empty()) return "No experiment has run yet.\n";

  std::vector<const ConfigRow*> all;
  for (const auto& [k, r] : rows) all.push_back(&r);
  std::sort(all.begin(), all.end(), [](const ConfigRow* a, const ConfigRow* b) { return a->first_seq < b->first_seq; });
  std::vector<const ConfigRow*> shown = all;
  std::size_t omitted = 0;
  if (all.size() > kMaxPromptConfigurations) {
    // The best ones (what to build on) and the most recent ones (what was just learned).
    const bool maximize = plan.objective.maximize;
    std::vector<const ConfigRow*> by_metric;
    for (const ConfigRow* r : all) {
      if (!r->metrics.empty()) by_metric.push_back(r);
    }
    std::sort(by_metric.begin(), by_metric.end(), [&](const ConfigRow* a, const ConfigRow* b) {
      return maximize ? a->mean() > b->mean() : a->mean() < b->mean();
    });
    std::vector<const ConfigRow*> keep;
    for (std::size_t i = 0; i < by_metric.size() && i < kMaxPromptConfigurations / 3; ++i) keep.push_back(by_metric[i]);
    for (auto it = all.rbegin(); it != all.rend() && keep.size() < kMaxPromptConfigurations; ++it) {
      if (std::find(keep.begin(), keep.end(), *it) == keep.end()) keep.push_back(*it);
    }
    std::sort(keep.begin(), keep.end(),
              [](const ConfigRow* a, const ConfigRow* b) { return a->first_seq < b->first_seq; });
    omitted = all.size() - keep.size();
    shown = keep;
  }
  std::string s = std::to_string(all.size()) + " configuration(s) so far, oldest first:\n";
  for (const ConfigRow* r : shown) s += DescribeRow(*r);
  if (omitted)
    s += "(" + std::to_string(omitted) + " more configuration(s) left out: neither among the best nor recent)\n";
  return s;
}

std::string NoteBlock(const Note& n, const char* kind) {
  std::string s = "### [" + n.name + "]";
  if (!n.skipped.empty()) return s + " (" + kind + " not available: " + n.skipped + ")\n\n";
  s += "\n" + n.text;
  if (!n.text.empty() && n.text.back() != '\n') s += "\n";
  if (n.cut) {
    s += "[... cut: the first " + std::to_string(n.text.size()) + " of " + std::to_string(n.full_size) +
         "+ bytes are shown]\n";
  }
  return s + "\n";
}

// The blocks of `notes` while their text fits kMaxPromptNotesBytes; the rest named as left out.
std::string NoteBlocks(const std::vector<Note>& notes, const char* kind) {
  std::string s;
  std::size_t used = 0;
  for (const Note& n : notes) {
    if (n.skipped.empty() && used + n.text.size() > kMaxPromptNotesBytes) {
      s += "### [" + n.name + "] (left out: the prompt already holds " + std::to_string(used) + " bytes of " + kind +
           "s)\n\n";
      continue;
    }
    used += n.text.size();
    s += NoteBlock(n, kind);
  }
  return s;
}

}  // namespace

std::string ResearchSystemPrompt(const Plan& plan, int max_hypotheses) {
  const bool has_base = plan.evolve && !plan.evolve->base.empty();
  std::string s =
      "You are the researcher of an automated experiment loop (keep-or-revert): you propose hypotheses, each ONE "
      "change tried against the best configuration so far; it is kept only if it measurably wins, otherwise reverted. "
      "You run nothing. Use the goal, the results so far and the notes. Propose changes that were not tried yet, that "
      "are likely to improve the metric, and that can be measured within the budget.\n\n"
      "Answer with exactly one JSON object and nothing else (no prose, no comments):\n"
      "{\"hypotheses\": [{\"id\": \"...\", \"rationale\": \"...\", \"overrides\": {...}, \"patch\": \"...\"}]}\n"
      "Rules:\n"
      "- at most " +
      std::to_string(max_hypotheses) +
      " hypotheses, best first; an empty list when nothing worth trying is left\n"
      "- id: 1-48 characters of a-z, 0-9 and '-', not starting with '-', new (never one already tried)\n"
      "- rationale: ONE line (at most 300 characters) that says why, citing the notes it draws on by their name in "
      "brackets, e.g. [notes.md]\n";
  if (has_base) {
    s += "- overrides: an object of parameters to change, ONLY names from the base parameters, each value of the same "
         "type as the base value (integer for an integer); {} when the change is a patch\n";
  } else {
    s += "- overrides: {} (this plan has no parameters to override: every change is a patch)\n";
  }
  s += "- patch: \"\" or a unified diff (---/+++ headers with a/ and b/ prefixes, applied with patch -p1 in the "
       "experiment's working folder) against the working files as shown, on top of the best configuration's patches\n"
       "- each hypothesis changes one thing (overrides or a patch, or both only when they belong together)";
  return s;
}

std::string ResearchUserPrompt(const Plan& plan, const ResearchContext& context, const std::vector<Note>& notes,
                               const std::vector<Note>& working_files) {
  std::string s;
  s += "## Goal\n";
  const std::string goal = plan.researcher ? plan.researcher->goal : "";
  s += (goal.empty() ? "(the plan states no goal beyond the objective)" : goal) + "\n\n";

  const Objective& o = plan.objective;
  s += "## Objective\nMetric '" + o.metric +
       "': " + (o.maximize ? "higher is better (maximize)" : "lower is better (minimize)") +
       ". Each configuration runs " + std::to_string(o.repeats) +
       " time(s) with different seeds; a change is kept only " + "when its mean beats the best mean by at least " +
       Num(o.margin) + " with " + Num(o.confidence * 100) + "% confidence.\n\n";

  s += "## How one experiment runs\nCommand template (placeholders in braces: the parameters below, {seed}, "
       "{workdir}):\n    " +
       plan.experiment.command + "\n";
  if (!plan.experiment.files.empty()) {
    s += "Working files copied into {workdir} before each run (by name, at these paths inside it; patch them as "
         "a/<path>):";
    for (const std::string& f : plan.experiment.files)
      s += " " + std::filesystem::path(f).lexically_normal().filename().string();
    s += "\n";
  }
  if (plan.experiment.git_worktree) s += "Each run works in a git worktree of the plan's repository.\n";
  s += "Time limit per run: " + std::to_string(plan.budget.experiment_timeout_s) + " s.\n\n";

  s += "## Base parameters (evolve.base)\n";
  if (plan.evolve && !plan.evolve->base.empty()) {
    for (const auto& [k, v] : plan.evolve->base) s += "- " + k + " = " + Dump(v) + " (" + v.type_name() + ")\n";
  } else {
    s += "(none: changes are patches to the working files)\n";
  }
  s += "\n";

  s += NoteBlocks(working_files, "file");

  s += "## Results so far\n";
  if (!context.best_summary.empty()) s += "Best so far: " + OneLine(ToValidUtf8(context.best_summary)) + "\n";
  s += ResultsSection(plan, context) + "\n";

  s += "## Hypothesis ids already used (never propose these again)\n";
  std::vector<std::string> used = context.tried_ids;
  if (plan.evolve) {
    for (const Hypothesis& h : plan.evolve->hypotheses) {
      if (std::find(used.begin(), used.end(), h.id) == used.end()) used.push_back(h.id);
    }
  }
  if (std::find(used.begin(), used.end(), "baseline") == used.end()) used.push_back("baseline");
  for (std::size_t i = 0; i < used.size(); ++i) s += (i ? ", " : "") + OneLine(ToValidUtf8(used[i]));
  s += "\n\n";

  s += "## Notes (cite them by the name in brackets)\n";
  if (notes.empty()) s += "(the plan lists no notes)\n\n";
  s += NoteBlocks(notes, "note");

  s += "## Your answer\nPropose at most " + std::to_string(context.max_hypotheses) +
       " new hypotheses as the JSON object described in the instructions.\n";
  return s;
}

std::string ResearchRetryPrompt(const std::vector<std::string>& problems, int max_hypotheses) {
  std::string s = "Your answer could not be used:\n";
  for (const std::string& p : problems) s += "- " + p + "\n";
  s += "Answer again with exactly one JSON object {\"hypotheses\": [...]} (at most " + std::to_string(max_hypotheses) +
       "), following every rule.";
  return s;
}

}  // namespace dsx::autolab
