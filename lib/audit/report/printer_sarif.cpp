// SARIF 2.1.0 printer (what GitHub code scanning reads). Each failure mode is a rule and each of
// its findings a result located at its evidence; a capability whose verdict is not "yes" is a
// result of rule "capability/<id>"; verdicts and scores also travel in run.properties.
#include <algorithm>
#include <set>

#include "audit/report/report.hpp"

namespace dsx::audit {

namespace {

using nlohmann::json;

std::string Level(const std::string& severity) {
  if (severity == "high") return "error";
  if (severity == "medium") return "warning";
  return "note";
}

json Locations(const std::vector<Evidence>& evidence) {
  json locs = json::array();
  std::set<std::pair<std::string, int>> seen;
  for (const auto& e : evidence) {
    if (e.file.empty() || !seen.insert({e.file, e.line}).second) continue;
    json phys;
    bool is_url = e.file.find("://") != std::string::npos;
    phys["artifactLocation"] = is_url ? json{{"uri", e.file}} : json{{"uri", e.file}, {"uriBaseId", "%SRCROOT%"}};
    if (e.line > 0) {
      phys["region"] = {{"startLine", e.line}};
      if (!e.excerpt.empty()) phys["region"]["snippet"] = {{"text", e.excerpt}};
    }
    locs.push_back({{"physicalLocation", std::move(phys)}});
  }
  return locs;
}

// The fix texts appended to a result's message, and the structured fixes for its properties.
// (SARIF's own `fixes` needs byte-exact artifactChanges; these are instructions, not patches.)
std::string FixText(const std::vector<Fix>& fixes) {
  std::string text;
  for (const auto& f : fixes) text += " Fix (" + f.kit_name + "): " + f.change;
  return text;
}

json FixesJson(const std::vector<Fix>& fixes) {
  json arr = json::array();
  for (const auto& f : fixes)
    arr.push_back({{"kit", f.kit}, {"kitName", f.kit_name}, {"file", f.file}, {"line", f.line}, {"change", f.change}});
  return arr;
}

}  // namespace

json RenderSarif(const Comparison& c, const RenderOptions& o) {
  const Report& r = c.merged;
  json rules = json::array();
  json results = json::array();
  std::map<std::string, int> rule_index;

  auto add_rule = [&](const std::string& id, const std::string& name, const std::string& text,
                      const std::string& level) {
    auto it = rule_index.find(id);
    if (it != rule_index.end()) return it->second;
    int index = static_cast<int>(rules.size());
    rules.push_back({{"id", id},
                     {"name", name},
                     {"shortDescription", {{"text", name}}},
                     {"fullDescription", {{"text", text}}},
                     {"defaultConfiguration", {{"level", level}}},
                     {"help", {{"text", "How this is decided and how to dispute it: man dsx-audit (DESCRIPTION)."}}}});
    rule_index[id] = index;
    return index;
  };

  for (const auto& fm : r.failure_modes) {
    int index = add_rule(fm.id, fm.title, fm.message, Level(fm.severity));
    json result{{"ruleId", fm.id},
                {"ruleIndex", index},
                {"level", Level(fm.severity)},
                {"message", {{"text", fm.title + ": " + fm.message + FixText(fm.fixes)}}},
                {"properties", {{"capabilities", fm.capabilities}, {"rule", fm.rule}, {"fixes", FixesJson(fm.fixes)}}}};
    json locs = Locations(fm.evidence);
    if (!locs.empty()) result["locations"] = std::move(locs);
    results.push_back(std::move(result));
  }
  json verdicts = json::object();
  for (const auto& cap : r.capabilities) {
    bool undetermined = cap.verdict == Verdict::kUndetermined;
    json v{{"verdict", VerdictName(cap.verdict)}, {"score", undetermined ? json(nullptr) : json(cap.score)}};
    for (const auto& p : cap.parts) v[p.id] = VerdictName(p.verdict);
    verdicts[cap.id] = v;
    // Undetermined is not a finding: nothing was there to fall short (the note says why).
    if (cap.verdict == Verdict::kYes || undetermined) continue;
    std::string id = "capability/" + cap.id;
    std::string level = cap.verdict == Verdict::kNo ? "warning" : "note";
    int index = add_rule(id, "Capability " + cap.id + " not fully met",
                         "The app does not fully provide " + cap.id + "; see the score derivation.", level);
    std::vector<Fix> fixes = cap.fixes;
    for (const auto& p : cap.parts)
      for (const auto& f : p.fixes)
        if (std::none_of(fixes.begin(), fixes.end(), [&](const Fix& x) { return x.change == f.change; }))
          fixes.push_back(f);
    json result{{"ruleId", id},
                {"ruleIndex", index},
                {"level", level},
                {"message",
                 {{"text", cap.id + ": " + std::string(VerdictName(cap.verdict)) + ", score " +
                               std::to_string(cap.score) + ". " + cap.derivation + FixText(fixes)}}},
                {"properties", {{"fixes", FixesJson(fixes)}}}};
    json locs = Locations(cap.evidence);
    if (!locs.empty()) result["locations"] = std::move(locs);
    results.push_back(std::move(result));
  }

  json run{{"tool",
            {{"driver",
              {{"name", "dsx audit"},
               {"version", o.tool_version.empty() ? "0" : o.tool_version},
               {"rules", std::move(rules)}}}}},
           {"results", std::move(results)},
           {"columnKind", "utf16CodeUnits"},
           {"properties",
            {{"source", c.static_report && c.live_report ? "both" : std::string(SourceName(r.source))},
             {"score", r.HasScore() ? json(r.OverallScore()) : json(nullptr)},
             {"capabilities", std::move(verdicts)}}}};
  if (c.static_report) run["originalUriBaseIds"] = {{"%SRCROOT%", {{"uri", "file:///"}}}};
  if (c.static_report) {
    std::string root = c.static_report->target;
    if (!root.empty() && root.front() == '/') {
      if (root.back() != '/') root += '/';
      run["originalUriBaseIds"]["%SRCROOT%"]["uri"] = "file://" + root;
    } else {
      run.erase("originalUriBaseIds");
    }
  }
  return json{{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
              {"version", "2.1.0"},
              {"runs", json::array({std::move(run)})}};
}

}  // namespace dsx::audit
