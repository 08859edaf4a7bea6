// Human-readable printers: terminal text and markdown. Both read only the report model.
#include <sstream>

#include "audit/report/report.hpp"

namespace dsx::audit {

namespace {

const char* kCapabilityTitles[][2] = {{"resilient_delivery", "Resilient delivery"},
                                      {"continuity", "Continuity across surfaces"},
                                      {"live_control", "Live control"},
                                      {"stop", "stop"},
                                      {"distinguish", "distinguish stop from drop"},
                                      {"steer", "steer"}};

std::string Title(const std::string& id) {
  for (const auto& t : kCapabilityTitles)
    if (id == t[0]) return t[1];
  return id;
}

std::string Paint(const RenderOptions& o, Verdict v, std::string_view text) {
  std::string s(text);
  if (!o.color) return s;
  const char* code = v == Verdict::kYes            ? "\033[32m"
                     : v == Verdict::kPartial      ? "\033[33m"
                     : v == Verdict::kUndetermined ? "\033[2m"
                                                   : "\033[31m";
  return code + s + "\033[0m";
}

std::string Where(const Evidence& e) { return e.line > 0 ? e.file + ":" + std::to_string(e.line) : e.file; }

// Every list in the human-readable reports is bounded (issue 18: a 20,000-file tree gave a 1.8 MB
// report with one 652 KB line): its count, the first few, then one line saying how many more
// there are and where to find them. --format json always has the full lists.
constexpr size_t kListShown = 10;    // files: not read, parsed partially, a step's files, stacks
constexpr size_t kEvidenceShown = 6;  // a failure mode's evidence (most relevant first)
constexpr size_t kCriterionShown = 3;  // a criterion's evidence

std::string MoreText(size_t more) { return "... and " + std::to_string(more) + " more (see --json)"; }

// "55/100", or "-" for an undetermined assessment (it has no score).
std::string ScoreText(const Assessment& a) {
  return a.verdict == Verdict::kUndetermined ? std::string("-") : std::to_string(a.score) + "/100";
}

// The markdown table's Score column: the number, or "-" when undetermined.
std::string MdScore(const Assessment& a) {
  return a.verdict == Verdict::kUndetermined ? std::string("-") : std::to_string(a.score);
}

std::string OverallText(const Report& r) {
  return r.HasScore() ? std::to_string(r.OverallScore()) + "/100" : std::string("none (nothing to score)");
}

void TextEvidence(std::ostringstream& out, const std::vector<Evidence>& ev, const std::string& indent, size_t limit) {
  for (size_t i = 0; i < ev.size() && i < limit; ++i) {
    out << indent << Where(ev[i]);
    if (!ev[i].excerpt.empty()) out << "  " << ev[i].excerpt;
    out << "\n";
  }
  if (ev.size() > limit) out << indent << MoreText(ev.size() - limit) << "\n";
}

// "files (N): a b c ... and N more (see --json)" on one line, the first kListShown only.
void TextInlineList(std::ostringstream& out, const std::vector<std::string>& items) {
  for (size_t i = 0; i < items.size() && i < kListShown; ++i) out << " " << items[i];
  if (items.size() > kListShown) out << " " << MoreText(items.size() - kListShown);
}

// The fixes of a finding: the change (naming the app's file and line) and the kit piece to use.
void TextFixes(std::ostringstream& out, const std::vector<Fix>& fixes, const std::string& indent) {
  for (const auto& f : fixes) {
    out << indent << "fix: " << f.change << "\n";
    out << indent << "     kit: " << f.kit_name << "\n";
  }
}

void TextAssessment(std::ostringstream& out, const Assessment& a, const RenderOptions& o, const std::string& indent) {
  std::string verdict(VerdictName(a.verdict));
  out << indent << Title(a.id) << ": " << Paint(o, a.verdict, verdict) << "  " << ScoreText(a) << "\n";
  if (a.verdict == Verdict::kUndetermined) return;  // nothing was judged; the note says why, once
  out << indent << "  score: " << a.derivation << "\n";
  if (!a.verdict_rule.empty()) out << indent << "  verdict: " << a.verdict_rule << "\n";
  for (const auto& c : a.criteria) {
    out << indent << "  [" << (c.met ? "x" : " ") << "] " << c.description << " (" << c.points << "/" << c.max_points
        << ")\n";
    if (c.met) TextEvidence(out, c.evidence, indent + "        ", kCriterionShown);
    else TextEvidence(out, c.against, indent + "        against: ", kCriterionShown);
  }
  TextFixes(out, a.fixes, indent + "  ");
}

std::string VerdictWord(Verdict v) { return std::string(VerdictName(v)); }

void TextReport(std::ostringstream& out, const Report& r, const RenderOptions& o) {
  out << "dsx audit (" << SourceName(r.source) << "): " << r.target << "\n";
  if (!r.stacks.empty()) {
    out << "stacks:";
    TextInlineList(out, r.stacks);
    out << "\n";
  }
  out << "overall score: " << OverallText(r);
  if (o.fail_under >= 0 && !r.HasScore()) out << "  (fails --fail-under " << o.fail_under << ": nothing to score)";
  else if (o.fail_under >= 0)
    out << (r.OverallScore() < o.fail_under ? "  (below --fail-under " : "  (meets --fail-under ") << o.fail_under
        << ")";
  out << "\n\n";
  for (const auto& c : r.capabilities) {
    TextAssessment(out, c, o, "");
    for (const auto& cap : c.caps) {  // with the place that decided it: the failure mode's best evidence
      out << "  cap: " << cap;
      for (const auto& fm : r.failure_modes)
        if (cap.ends_with(" by " + fm.id) && !fm.evidence.empty()) out << " at " << Where(fm.evidence.front());
      out << "\n";
    }
    for (const auto& p : c.parts) TextAssessment(out, p, o, "  ");
    for (const auto& [k, v] : c.properties) out << "  " << k << ": " << v << "\n";
    out << "\n";
  }
  if (r.failure_modes.empty() && !r.HasScore() && !r.capabilities.empty()) {
    out << "failure modes: not judged (nothing to score)\n\n";
  } else if (r.failure_modes.empty()) {
    out << "failure modes: none found\n\n";
  } else {
    out << "failure modes:\n";
    for (const auto& fm : r.failure_modes) {
      out << "  " << fm.id << " (" << fm.severity << "): " << fm.title << "\n";
      out << "    " << fm.message << "\n";
      TextEvidence(out, fm.evidence, "      ", kEvidenceShown);
      TextFixes(out, fm.fixes, "    ");
    }
    out << "\n";
  }
  if (!r.migration.empty()) {
    out << "migration plan:\n";
    for (const auto& s : r.migration) {
      out << "  " << s.number << ". " << s.title << " [" << s.status << "]\n";
      out << "     " << s.action << "\n";
      if (!s.dsx_feature.empty()) out << "     dsx: " << s.dsx_feature << "\n";
      if (!s.files.empty()) {  // most relevant first
        out << "     files (" << s.files.size() << "):";
        TextInlineList(out, s.files);
        out << "\n";
      }
    }
    out << "\n";
  }
  if (!r.skipped.empty()) {
    out << "could not read (" << r.skipped.size() << "):\n";
    for (size_t i = 0; i < r.skipped.size() && i < kListShown; ++i)
      out << "  " << r.skipped[i].path << ": " << r.skipped[i].reason << "\n";
    if (r.skipped.size() > kListShown) out << "  " << MoreText(r.skipped.size() - kListShown) << "\n";
    out << "\n";
  }
  if (!r.partial.empty()) {  // a repository of generated code can have hundreds
    out << "parsed with syntax errors, still checked (" << r.partial.size() << "):\n";
    for (size_t i = 0; i < r.partial.size() && i < kListShown; ++i)
      out << "  " << r.partial[i].path << ":" << r.partial[i].line << "\n";
    if (r.partial.size() > kListShown) out << "  " << MoreText(r.partial.size() - kListShown) << "\n";
    out << "\n";
  }
  for (size_t i = 0; i < r.notes.size() && i < kListShown; ++i) out << "note: " << r.notes[i] << "\n";
  if (r.notes.size() > kListShown) out << "note: " << MoreText(r.notes.size() - kListShown) << "\n";
  if (r.source == Source::kStatic)
    out << r.stats.files_seen << " files, " << r.stats.files_parsed << " parsed, " << r.stats.facts << " facts, "
        << r.stats.files_skipped << " not read, " << r.partial.size() << " parsed partially, " << r.stats.seconds
        << " s\n";
}

}  // namespace

std::string RenderText(const Comparison& c, const RenderOptions& o) {
  std::ostringstream out;
  out.precision(3);
  if (c.static_report && c.live_report) {
    TextReport(out, *c.static_report, o);
    out << "\n";
    TextReport(out, *c.live_report, o);
    out << "\nside by side (static / live):\n";
    for (const auto& cap : c.static_report->capabilities) {
      const Capability* live = c.live_report->Find(cap.id);
      out << "  " << Title(cap.id) << ": " << VerdictWord(cap.verdict) << " / "
          << (live ? VerdictWord(live->verdict) : "-") << "\n";
      for (const auto& p : cap.parts) {
        const Assessment* lp = live ? live->Part(p.id) : nullptr;
        out << "    " << Title(p.id) << ": " << VerdictWord(p.verdict) << " / " << (lp ? VerdictWord(lp->verdict) : "-")
            << "\n";
      }
    }
    if (c.disagreements.empty()) out << "static and live agree\n";
    for (const auto& d : c.disagreements)
      out << "DISAGREE " << d.what << ": static " << VerdictWord(d.static_verdict) << ", live "
          << VerdictWord(d.live_verdict) << " (" << d.note << ")\n";
  } else {
    TextReport(out, c.merged, o);
  }
  return out.str();
}

// ----- markdown -----

namespace {

std::string Md(std::string s) {  // keep table cells on one line
  for (auto& ch : s)
    if (ch == '|' || ch == '\n') ch = ' ';
  return s;
}

void MdReport(std::ostringstream& out, const Report& r) {
  out << "## " << (r.source == Source::kLive ? "Live probe" : "Static audit") << ": `" << r.target << "`\n\n";
  out << "Overall score: **" << OverallText(r) << "**";
  if (!r.stacks.empty()) {
    out << " · stacks:";
    for (size_t i = 0; i < r.stacks.size() && i < kListShown; ++i) out << " `" << r.stacks[i] << "`";
    if (r.stacks.size() > kListShown) out << " " << MoreText(r.stacks.size() - kListShown);
  }
  out << "\n\n| Capability | Verdict | Score | How it was scored |\n|---|---|---|---|\n";
  for (const auto& c : r.capabilities) {
    out << "| " << Title(c.id) << " | **" << VerdictName(c.verdict) << "** | " << MdScore(c) << " | "
        << Md(c.derivation) << " |\n";
    for (const auto& p : c.parts)
      out << "| ↳ " << Title(p.id) << " | " << VerdictName(p.verdict) << " | " << MdScore(p) << " | "
          << Md(p.derivation) << " |\n";
  }
  bool fix_heading = false;  // capabilities and parts that fall short: what closes the gap
  for (const auto& c : r.capabilities) {
    std::vector<std::pair<std::string, const Fix*>> rows;
    for (const auto& f : c.fixes) rows.push_back({Title(c.id), &f});
    for (const auto& p : c.parts)
      for (const auto& f : p.fixes) rows.push_back({Title(c.id) + " / " + Title(p.id), &f});
    for (const auto& [what, f] : rows) {
      if (!fix_heading) out << "\n**Fixes** (kit piece, then the change):\n\n";
      fix_heading = true;
      out << "- " << what << ": *" << Md(f->kit_name) << "*: " << Md(f->change) << "\n";
    }
  }
  out << "\n### Failure modes\n\n";
  if (r.failure_modes.empty()) out << "None found.\n";
  for (const auto& fm : r.failure_modes) {
    out << "- **" << fm.title << "** (`" << fm.id << "`, " << fm.severity << "): " << Md(fm.message) << "\n";
    for (size_t i = 0; i < fm.evidence.size() && i < kEvidenceShown; ++i) {
      const Evidence& e = fm.evidence[i];
      out << "  - `" << Where(e) << "`" << (e.excerpt.empty() ? "" : ": `" + Md(e.excerpt) + "`") << "\n";
    }
    if (fm.evidence.size() > kEvidenceShown) out << "  - " << MoreText(fm.evidence.size() - kEvidenceShown) << "\n";
    for (const auto& f : fm.fixes) out << "  - *Fix* (" << Md(f.kit_name) << "): " << Md(f.change) << "\n";
  }
  if (!r.migration.empty()) {
    out << "\n### Migration plan\n\n";
    for (const auto& s : r.migration) {
      out << s.number << ". **" << s.title << "** (" << s.status << "): " << Md(s.action);
      if (!s.dsx_feature.empty()) out << " *dsx:* " << Md(s.dsx_feature);
      if (!s.files.empty()) {
        out << " *Files (" << s.files.size() << "):*";
        for (size_t i = 0; i < s.files.size() && i < kListShown; ++i) out << " `" << s.files[i] << "`";
        if (s.files.size() > kListShown) out << " " << MoreText(s.files.size() - kListShown);
      }
      out << "\n";
    }
  }
  if (!r.skipped.empty()) {
    out << "\n### Not read (" << r.skipped.size() << ")\n\n";
    for (size_t i = 0; i < r.skipped.size() && i < kListShown; ++i)
      out << "- `" << r.skipped[i].path << "`: " << r.skipped[i].reason << "\n";
    if (r.skipped.size() > kListShown) out << "- " << MoreText(r.skipped.size() - kListShown) << "\n";
  }
  if (!r.partial.empty()) {
    out << "\n### Parsed with syntax errors, still checked (" << r.partial.size() << ")\n\n";
    for (size_t i = 0; i < r.partial.size() && i < kListShown; ++i)
      out << "- `" << r.partial[i].path << ":" << r.partial[i].line << "`\n";
    if (r.partial.size() > kListShown) out << "- " << MoreText(r.partial.size() - kListShown) << "\n";
  }
  for (const auto& n : r.notes) out << "\n> " << n << "\n";
  out << "\n";
}

}  // namespace

std::string RenderMarkdown(const Comparison& c, const RenderOptions& o) {
  std::ostringstream out;
  out << "# dsx audit\n\n";
  if (c.static_report) MdReport(out, *c.static_report);
  if (c.live_report) MdReport(out, *c.live_report);
  if (!c.static_report && !c.live_report) MdReport(out, c.merged);
  if (c.static_report && c.live_report) {
    out << "## Static vs live\n\n";
    if (c.disagreements.empty()) out << "Static and live verdicts agree.\n";
    else out << "| What | Static | Live | Why this can happen |\n|---|---|---|---|\n";
    for (const auto& d : c.disagreements)
      out << "| " << d.what << " | " << VerdictName(d.static_verdict) << " | " << VerdictName(d.live_verdict) << " | "
          << Md(d.note) << " |\n";
  }
  return out.str();
}

}  // namespace dsx::audit
