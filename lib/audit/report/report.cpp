// Report model helpers, Compare() and the JSON form (the documented --format json shape).
#include "audit/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace dsx::audit {

std::string_view KitName(std::string_view kit) {
  if (kit == kKitLlmProxy) return "durable LLM proxy: dsx session serve --llm-proxy URL, model base URL SERVER/llm/v1";
  if (kit == kKitAiSdkTransport) return "@dsx/ai-sdk-transport: useChat({ transport: new DsxChatTransport({...}) })";
  if (kit == kKitPythonAgent) return "clients/python/dsx_agent.py: DsxAgent / Run";
  if (kit == kKitSession) return "dsx session serve: /ui/dsx-session.js (DsxSession)";
  return "";
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kYes: return "yes";
    case Verdict::kPartial: return "partial";
    case Verdict::kNo: return "no";
    case Verdict::kUndetermined: return "undetermined";
  }
  return "no";
}

Result<Verdict> ParseVerdict(std::string_view s) {
  if (s == "yes") return Verdict::kYes;
  if (s == "partial") return Verdict::kPartial;
  if (s == "no") return Verdict::kNo;
  if (s == "undetermined") return Verdict::kUndetermined;
  return Status::Usage("unknown verdict '" + std::string(s) + "' (want yes, partial, no or undetermined)");
}

std::string_view SourceName(Source s) { return s == Source::kLive ? "live" : "static"; }

const Assessment* Capability::Part(std::string_view part_id) const {
  for (const auto& p : parts)
    if (p.id == part_id) return &p;
  return nullptr;
}

const Capability* Report::Find(std::string_view capability_id) const {
  for (const auto& c : capabilities)
    if (c.id == capability_id) return &c;
  return nullptr;
}

int Report::OverallScore() const {
  double sum = 0;
  int n = 0;
  for (const auto& c : capabilities) {
    if (c.verdict == Verdict::kUndetermined) continue;
    sum += c.score;
    ++n;
  }
  return n ? static_cast<int>(std::lround(sum / n)) : 0;
}

bool Report::HasScore() const {
  return std::any_of(capabilities.begin(), capabilities.end(),
                     [](const Capability& c) { return c.verdict != Verdict::kUndetermined; });
}

Result<Format> ParseFormat(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "markdown" || name == "md") return Format::kMarkdown;
  if (name == "json") return Format::kJson;
  if (name == "sarif") return Format::kSarif;
  return Status::Usage("unknown format '" + std::string(name) + "' (want text, markdown, json or sarif)");
}

// ----- Compare -----

namespace {

// The lower of two assessments; evidence and criteria of both are kept so the merged view can
// still show why each side decided as it did.
// An undetermined side saw nothing to judge: the other side's verdict and score stand.
void MergeLower(Assessment& into, const Assessment& other) {
  if (other.verdict == Verdict::kUndetermined) {
    into.caps.insert(into.caps.end(), other.caps.begin(), other.caps.end());
    return;
  }
  if (into.verdict == Verdict::kUndetermined) {
    Assessment keep = other;
    keep.evidence.insert(keep.evidence.end(), into.evidence.begin(), into.evidence.end());
    into = std::move(keep);
    return;
  }
  if (other.verdict < into.verdict) {
    into.verdict = other.verdict;
    into.verdict_rule = other.verdict_rule;
  }
  if (other.score < into.score) {
    into.score = other.score;
    into.derivation = other.derivation;
  }
  into.evidence.insert(into.evidence.end(), other.evidence.begin(), other.evidence.end());
  into.caps.insert(into.caps.end(), other.caps.begin(), other.caps.end());
  // The static side's fixes name files; the live side's only the kit. Keep what there is.
  if (into.verdict != Verdict::kYes && into.fixes.empty()) into.fixes = other.fixes;
}

std::string DisagreementNote(const std::string& what, Verdict s, Verdict l) {
  if (s == Verdict::kUndetermined)
    return "the static rules recognised no streaming AI code; the probe judged the running app (a stack the "
           "detectors do not read?)";
  if (l == Verdict::kUndetermined) return "the probe could not judge this; the static verdict stands";
  if (what == "live_control.distinguish" || what == "live_control.stop") {
    if (s > l)
      return "the code has a stop path the probe could not see work; platforms that never deliver "
             "the client's abort to the server (serverless streaming, buffering proxies) do this";
    return "the probe saw stop work through a path the static rules do not recognise";
  }
  if (what == "resilient_delivery" && s > l)
    return "resume is wired in code but failed live (producer-memory buffer, a proxy, or the wrong resume route)";
  if (s > l) return "the code suggests more than the running app delivered";
  return "the running app delivered more than the static rules recognised (a pattern the rules miss?)";
}

}  // namespace

Comparison Compare(std::optional<Report> static_report, std::optional<Report> live_report) {
  Comparison out;
  out.static_report = std::move(static_report);
  out.live_report = std::move(live_report);
  if (out.static_report && !out.live_report) {
    out.merged = *out.static_report;
    return out;
  }
  if (out.live_report && !out.static_report) {
    out.merged = *out.live_report;
    return out;
  }
  if (!out.static_report) return out;  // neither: an empty report

  const Report& s = *out.static_report;
  const Report& l = *out.live_report;
  out.merged = s;
  out.merged.target = s.target + " + " + l.target;
  for (auto& cap : out.merged.capabilities) {
    const Capability* live_cap = l.Find(cap.id);
    if (!live_cap) continue;
    const Capability* static_cap = s.Find(cap.id);
    if (static_cap->verdict != live_cap->verdict)
      out.disagreements.push_back({cap.id, static_cap->verdict, live_cap->verdict,
                                   DisagreementNote(cap.id, static_cap->verdict, live_cap->verdict)});
    MergeLower(cap, *live_cap);
    for (auto& part : cap.parts) {
      const Assessment* live_part = live_cap->Part(part.id);
      if (!live_part) continue;
      const Assessment* static_part = static_cap->Part(part.id);
      std::string what = cap.id + "." + part.id;
      if (static_part->verdict != live_part->verdict)
        out.disagreements.push_back({what, static_part->verdict, live_part->verdict,
                                     DisagreementNote(what, static_part->verdict, live_part->verdict)});
      MergeLower(part, *live_part);
    }
    for (const auto& [k, v] : live_cap->properties) cap.properties.emplace(k, v);
  }
  std::set<std::string> have;
  for (const auto& fm : out.merged.failure_modes) have.insert(fm.id);
  for (const auto& fm : l.failure_modes) {
    if (have.insert(fm.id).second) {
      out.merged.failure_modes.push_back(fm);
    } else {
      for (auto& mine : out.merged.failure_modes)
        if (mine.id == fm.id) mine.evidence.insert(mine.evidence.end(), fm.evidence.begin(), fm.evidence.end());
    }
  }
  out.merged.skipped.insert(out.merged.skipped.end(), l.skipped.begin(), l.skipped.end());
  out.merged.partial.insert(out.merged.partial.end(), l.partial.begin(), l.partial.end());
  out.merged.notes.insert(out.merged.notes.end(), l.notes.begin(), l.notes.end());
  for (const auto& [k, v] : l.properties) out.merged.properties.emplace(k, v);
  return out;
}

// ----- JSON -----

namespace {

nlohmann::json EvidenceJson(const std::vector<Evidence>& evidence) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& e : evidence) {
    nlohmann::json j{{"file", e.file}, {"line", e.line}, {"excerpt", e.excerpt}};
    if (!e.fact.empty()) j["fact"] = e.fact;
    arr.push_back(std::move(j));
  }
  return arr;
}

// {"kit", "kit_name", "file", "line", "change"}; file "" and line 0 when no place was found.
nlohmann::json FixJson(const Fix& f) {
  return {{"kit", f.kit}, {"kit_name", f.kit_name}, {"file", f.file}, {"line", f.line}, {"change", f.change}};
}

// "fix": the best fix or null; "fixes": all of them, best first.
void AddFixes(nlohmann::json& j, const std::vector<Fix>& fixes) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : fixes) arr.push_back(FixJson(f));
  j["fix"] = fixes.empty() ? nlohmann::json(nullptr) : arr.front();
  j["fixes"] = std::move(arr);
}

nlohmann::json AssessmentJson(const Assessment& a) {
  nlohmann::json j;
  j["verdict"] = VerdictName(a.verdict);
  // An undetermined assessment has no score: null, so that no consumer averages a 0 that means
  // "nothing found" into a real score.
  j["score"] = a.verdict == Verdict::kUndetermined ? nlohmann::json(nullptr) : nlohmann::json(a.score);
  j["derivation"] = a.derivation;
  j["verdict_rule"] = a.verdict_rule;
  j["evidence"] = EvidenceJson(a.evidence);
  nlohmann::json crit = nlohmann::json::array();
  for (const auto& c : a.criteria)
    crit.push_back({{"id", c.id},
                    {"description", c.description},
                    {"met", c.met},
                    {"points", c.points},
                    {"max_points", c.max_points},
                    {"evidence", EvidenceJson(c.evidence)},
                    {"against", EvidenceJson(c.against)}});
  j["criteria"] = std::move(crit);
  j["caps"] = a.caps;
  AddFixes(j, a.fixes);
  return j;
}

}  // namespace

nlohmann::json ToJson(const Report& r) {
  nlohmann::json j;
  j["source"] = SourceName(r.source);
  j["target"] = r.target;
  j["score"] = r.HasScore() ? nlohmann::json(r.OverallScore()) : nlohmann::json(nullptr);
  nlohmann::json caps = nlohmann::json::object();
  for (const auto& c : r.capabilities) {
    nlohmann::json cj = AssessmentJson(c);
    for (const auto& p : c.parts) cj[p.id] = AssessmentJson(p);
    if (!c.properties.empty()) cj["properties"] = c.properties;
    caps[c.id] = std::move(cj);
  }
  j["capabilities"] = std::move(caps);
  nlohmann::json fms = nlohmann::json::array();
  for (const auto& fm : r.failure_modes) {
    nlohmann::json fj{{"id", fm.id},
                      {"title", fm.title},
                      {"severity", fm.severity},
                      {"rule", fm.rule},
                      {"message", fm.message},
                      {"capabilities", fm.capabilities},
                      {"evidence", EvidenceJson(fm.evidence)}};
    AddFixes(fj, fm.fixes);
    fms.push_back(std::move(fj));
  }
  j["failure_modes"] = std::move(fms);
  nlohmann::json plan = nlohmann::json::array();
  for (const auto& s : r.migration)
    plan.push_back({{"step", s.number},
                    {"id", s.id},
                    {"title", s.title},
                    {"status", s.status},
                    {"action", s.action},
                    {"dsx_feature", s.dsx_feature},
                    {"files", s.files}});
  j["migration_plan"] = std::move(plan);
  j["stacks"] = r.stacks;
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : r.skipped) skipped.push_back({{"path", s.path}, {"reason", s.reason}});
  j["skipped"] = std::move(skipped);
  nlohmann::json partial = nlohmann::json::array();
  for (const auto& p : r.partial) partial.push_back({{"path", p.path}, {"line", p.line}});
  j["partial_parses"] = std::move(partial);
  j["notes"] = r.notes;
  j["properties"] = r.properties;
  j["stats"] = {{"files_seen", r.stats.files_seen},
                {"files_parsed", r.stats.files_parsed},
                {"files_skipped", r.stats.files_skipped},
                {"files_partial", r.partial.size()},
                {"facts", r.stats.facts},
                {"seconds", std::round(r.stats.seconds * 1000.0) / 1000.0}};
  return j;
}

nlohmann::json ToJson(const Comparison& c) {
  nlohmann::json j = ToJson(c.merged);
  if (c.static_report && c.live_report) {
    j["source"] = "both";
    j["static"] = ToJson(*c.static_report);
    j["live"] = ToJson(*c.live_report);
  }
  nlohmann::json d = nlohmann::json::array();
  for (const auto& x : c.disagreements)
    d.push_back({{"what", x.what},
                 {"static", VerdictName(x.static_verdict)},
                 {"live", VerdictName(x.live_verdict)},
                 {"note", x.note}});
  j["disagreements"] = std::move(d);
  j["schema"] = "dsx/audit-report@1";
  return j;
}

std::string Render(const Comparison& comparison, Format format, const RenderOptions& options) {
  switch (format) {
    case Format::kText: return RenderText(comparison, options);
    case Format::kMarkdown: return RenderMarkdown(comparison, options);
    // File names and source lines need not be UTF-8 (a Latin-1 name, a binary-ish line): such
    // bytes become U+FFFD instead of failing the whole report. SARIF's URIs keep the exact bytes
    // (percent-encoded, uri.hpp).
    case Format::kJson: return ToJson(comparison).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    case Format::kSarif:
      return RenderSarif(comparison, options).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return {};
}

}  // namespace dsx::audit
