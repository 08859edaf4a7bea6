// SARIF 2.1.0 printer (what GitHub code scanning reads). Each failure mode is a rule and each of
// its findings a result; a capability whose verdict is not "yes" is a result of rule
// "capability/<id>"; verdicts and scores also travel in run.properties.
//
// What code-scanning services check (the multitool's SARIF and GitHub rule sets, run over every
// log the tests produce: tests/audit/sarif):
// - every URI is an RFC 3986 reference: paths are percent-encoded (uri.hpp), and %SRCROOT% is an
//   absolute file:/// URI ending in '/';
// - every result has a location (GH1015/GH1017/GH2012). A result is located at its first source
//   line (locations holds that one place; the other evidence goes to relatedLocations, since a
//   second entry in `locations` would claim the problem must be fixed at every one of them).
//   A capability result takes the evidence of the failure mode that capped it, else the place of
//   its fix, else its own evidence; a result with no source line at all (nothing found, or a
//   live-only finding) is anchored at the project's manifest, line 1 (Report::project_file).
//   Live evidence (probe steps, URLs; line 0) is never a physical location.
// - the tool and each rule say where their documentation is (informationUri, helpUri), and the
//   run has an automationDetails.id, so two kinds of audit of one repository stay apart.
#include <algorithm>
#include <map>
#include <set>

#include "audit/report/report.hpp"
#include "audit/report/uri.hpp"

namespace dsx::audit {

namespace {

using nlohmann::json;

// The documentation every rule points at: the man page (a `man:` URI, RFC 3986, as systemd's
// Documentation= uses), with the rule id as the fragment: its entry in FAILURE MODES or DESCRIPTION.
constexpr std::string_view kInformationUri = "man:dsx-audit(1)";
constexpr int kContextLines = 2;     // lines shown around a finding (contextRegion)
constexpr size_t kMaxRelated = 20;   // relatedLocations per result; JSON has all the evidence

std::string Level(const std::string& severity) {
  if (severity == "high") return "error";
  if (severity == "medium") return "warning";
  return "note";
}

// A place in the audited tree: a relative path and a 1-based line (0 = the whole file).
struct Place {
  std::string file;
  int line = 0;
  std::string excerpt;
  std::string why;  // what the place shows (the fact), for relatedLocations
};

// Reads each audited file once (for snippets and context regions) through RenderOptions::read_source.
class SourceCache {
 public:
  explicit SourceCache(const RenderOptions& o) : read_(o.read_source) {}

  // Lines [first, last] (1-based, inclusive, clamped); nullopt when the file or line is unknown.
  std::optional<std::pair<int, std::string>> Lines(const std::string& file, int first, int last) {
    const std::vector<std::string>* lines = Get(file);
    if (!lines || first < 1 || first > static_cast<int>(lines->size())) return std::nullopt;
    last = std::min<int>(last, static_cast<int>(lines->size()));
    std::string text;
    for (int i = first; i <= last; ++i) text += (*lines)[static_cast<size_t>(i - 1)] + (i < last ? "\n" : "");
    return std::make_pair(last, text);
  }

 private:
  const std::vector<std::string>* Get(const std::string& file) {
    if (!read_) return nullptr;
    auto it = files_.find(file);
    if (it == files_.end()) {
      std::optional<std::vector<std::string>> lines;
      if (auto text = read_(file)) {
        lines.emplace();
        size_t start = 0;
        while (start <= text->size()) {
          size_t nl = text->find('\n', start);
          std::string line = text->substr(start, nl == std::string::npos ? std::string::npos : nl - start);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (nl == std::string::npos) {
            if (!line.empty()) lines->push_back(std::move(line));
            break;
          }
          lines->push_back(std::move(line));
          start = nl + 1;
        }
      }
      it = files_.emplace(file, std::move(lines)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  std::function<std::optional<std::string>(const std::string&)> read_;
  std::map<std::string, std::optional<std::vector<std::string>>> files_;
};

json PhysicalLocation(const Place& p, SourceCache& src) {
  json phys{{"artifactLocation", {{"uri", PathToUriReference(p.file)}, {"uriBaseId", "%SRCROOT%"}}}};
  int line = std::max(1, p.line);  // a whole-file anchor points at its first line
  json region{{"startLine", line}};
  if (auto exact = src.Lines(p.file, line, line)) region["snippet"] = {{"text", exact->second}};
  else if (p.line > 0 && !p.excerpt.empty()) region["snippet"] = {{"text", p.excerpt}};
  phys["region"] = std::move(region);
  int first = std::max(1, line - kContextLines);
  if (auto ctx = src.Lines(p.file, first, line + kContextLines))
    phys["contextRegion"] = {{"startLine", first}, {"endLine", ctx->first}, {"snippet", {{"text", ctx->second}}}};
  return phys;
}

// Source places from evidence: static lines only (live evidence names probe steps, line 0).
std::vector<Place> Places(const std::vector<Evidence>& evidence) {
  std::vector<Place> out;
  for (const auto& e : evidence)
    if (e.line > 0 && !e.file.empty()) out.push_back({e.file, e.line, e.excerpt, e.fact});
  return out;
}

// `locations` (the first place) and `relatedLocations` (the others, deduplicated, bounded) of a
// result; with no place, the anchor: the project file, else the probed URL.
void Locate(json& result, std::vector<Place> places, const Report& r, SourceCache& src) {
  std::set<std::pair<std::string, int>> seen;
  std::vector<Place> unique;
  for (auto& p : places)
    if (seen.insert({p.file, p.line}).second) unique.push_back(std::move(p));
  if (unique.empty() && !r.project_file.empty()) unique.push_back({r.project_file, 0, "", "project manifest"});
  if (unique.empty()) {
    // Live only: there is no file to point at, only the app the probe drove.
    if (r.target.find("://") != std::string::npos && IsUriReference(r.target))
      result["locations"] = json::array({{{"physicalLocation", {{"artifactLocation", {{"uri", r.target}}}}}}});
    return;
  }
  result["locations"] = json::array({{{"physicalLocation", PhysicalLocation(unique.front(), src)}}});
  json related = json::array();
  for (size_t i = 1; i < unique.size() && related.size() < kMaxRelated; ++i) {
    json loc{{"id", static_cast<int>(i)}, {"physicalLocation", PhysicalLocation(unique[i], src)}};
    if (!unique[i].why.empty()) loc["message"] = {{"text", unique[i].why}};
    related.push_back(std::move(loc));
  }
  if (!related.empty()) result["relatedLocations"] = std::move(related);
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

// The help shown next to an alert: what the rule means and how it is decided.
json Help(const std::string& text) {
  std::string more = "How this is decided and how to dispute it: man dsx-audit (DESCRIPTION); "
                     "`dsx audit --facts` lists the facts the detectors found.";
  return {{"text", text + "\n\n" + more}, {"markdown", text + "\n\n" + more}};
}

}  // namespace

json RenderSarif(const Comparison& c, const RenderOptions& o) {
  const Report& r = c.merged;
  SourceCache src(o);
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
                     {"helpUri", std::string(kInformationUri) + "#" + PathToUriReference(id)},
                     {"help", Help(text)}});
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
    Locate(result, Places(fm.evidence), r, src);
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
    // Where it was decided: the failure modes that capped it, then where the fix goes, then the
    // evidence of what it has.
    std::vector<Place> places;
    for (const auto& fm : r.failure_modes)
      if (std::find(fm.capabilities.begin(), fm.capabilities.end(), cap.id) != fm.capabilities.end() &&
          std::any_of(cap.caps.begin(), cap.caps.end(),
                      [&](const std::string& x) { return x.size() >= fm.id.size() && x.ends_with(" " + fm.id); })) {
        auto more = Places(fm.evidence);
        places.insert(places.end(), more.begin(), more.end());
      }
    for (const auto& f : fixes)
      if (!f.file.empty() && f.line > 0) places.push_back({f.file, f.line, "", "fix: " + f.kit});
    auto own = Places(cap.evidence);
    places.insert(places.end(), own.begin(), own.end());
    Locate(result, std::move(places), r, src);
    results.push_back(std::move(result));
  }

  std::string source = c.static_report && c.live_report ? "both" : std::string(SourceName(r.source));
  std::string version = o.tool_version.empty() ? "0" : o.tool_version;
  json run{{"tool",
            {{"driver",
              {{"name", "dsx audit"},
               {"fullName", "dsx audit " + version + " (streaming resilience audit of AI apps)"},
               {"version", version},
               {"informationUri", kInformationUri},
               {"rules", std::move(rules)}}}}},
           // The category (the id up to its last '/') keeps static, live and combined audits of
           // one repository apart in code scanning.
           {"automationDetails", {{"id", "dsx-audit/" + source + "/"}}},
           {"results", std::move(results)},
           {"columnKind", "utf16CodeUnits"},
           {"properties",
            {{"source", source},
             {"score", r.HasScore() ? json(r.OverallScore()) : json(nullptr)},
             {"capabilities", std::move(verdicts)}}}};
  if (c.static_report) {
    std::string root = o.source_root.empty() ? c.static_report->target : o.source_root;
    std::string uri = DirectoryFileUri(root);
    if (!uri.empty()) run["originalUriBaseIds"] = {{"%SRCROOT%", {{"uri", uri}}}};
  }
  return json{{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
              {"version", "2.1.0"},
              {"runs", json::array({std::move(run)})}};
}

}  // namespace dsx::audit
