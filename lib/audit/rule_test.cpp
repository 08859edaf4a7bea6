// Detector fixture tests; see rule_test.hpp.
#include "audit/rule_test.hpp"

#include <map>
#include <set>
#include <sstream>

#include "core/fs.hpp"

namespace dsx::audit {

namespace stdfs = std::filesystem;

namespace {

struct Annotation {
  std::set<std::string> ruleid, ok;
};

// "a.b, c.d trailing words" -> {a.b, c.d}: comma-separated ids, each ending at a blank.
std::vector<std::string> SplitIds(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream parts(s);
  std::string part;
  while (std::getline(parts, part, ',')) {
    std::istringstream words(part);
    std::string id;
    if (words >> id) out.push_back(id);
    else break;
  }
  return out;
}

// Finds "ruleid:" / "ok:" inside a comment on this line. Returns whether the line holds only
// the comment (then it annotates the next code line).
bool ParseAnnotation(const std::string& line, Annotation& a) {
  size_t c = line.find("//");
  size_t h = line.find('#');
  size_t start = std::min(c, h);
  if (start == std::string::npos) return false;
  std::string comment = line.substr(start + (start == c ? 2 : 1));
  bool found = false;
  for (const char* key : {"ruleid:", "ok:"}) {
    size_t k = comment.find(key);
    if (k == std::string::npos) continue;
    if (k > 0 && comment[k - 1] != ' ' && comment[k - 1] != '\t') continue;  // "todoruleid:" etc.
    std::string rest = comment.substr(k + std::string(key).size());
    size_t stop = rest.find_first_of(";*");
    if (stop != std::string::npos) rest.resize(stop);
    for (const auto& id : SplitIds(rest)) (std::string(key) == "ok:" ? a.ok : a.ruleid).insert(id);
    found = true;
  }
  if (!found) return false;
  std::string before = line.substr(0, start);
  return before.find_first_not_of(" \t") == std::string::npos;
}

}  // namespace

Result<RuleTestResult> RunRuleTests(const RuleSet& rules, const stdfs::path& dir) {
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) return Status::NotFound("cannot open fixture folder '" + dir.string() + "'");
  RuleTestResult result;
  std::set<std::string> tested;
  std::vector<stdfs::path> paths;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec); it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file() && LangForPath(it->path().string()) != Lang::kNone) paths.push_back(it->path());
  }
  std::sort(paths.begin(), paths.end());
  // Scan every fixture first, then decide deferred facts (#kind?, imports through project files)
  // per top-level fixture folder: each folder is one small project.
  std::vector<FileScan> scans(paths.size());
  std::map<std::string, std::vector<size_t>> groups;
  std::map<std::string, std::vector<std::string>> package_dirs;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec); it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file() || it->path().filename() != "package.json") continue;
    std::string rel = stdfs::relative(it->path(), dir).generic_string();
    std::string group = rel.substr(0, rel.find('/'));
    std::string parent = stdfs::path(rel).parent_path().generic_string();
    package_dirs[group].push_back(parent == group ? "" : parent.substr(group.size() + 1));
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    SourceFile f;
    f.path = paths[i];
    f.rel = stdfs::relative(paths[i], dir).generic_string();
    f.lang = LangForPath(f.rel);
    size_t slash = f.rel.find('/');
    std::string group = slash == std::string::npos ? "" : f.rel.substr(0, slash);
    // Scan with paths relative to the group, as an audit of that folder would see them.
    if (!group.empty()) f.rel = f.rel.substr(slash + 1);
    scans[i] = ScanFile(rules, f);
    groups[group].push_back(i);
  }
  for (auto& [group, members] : groups) {
    std::vector<FileScan> part;
    for (size_t i : members) part.push_back(std::move(scans[i]));
    ResolveDeferred(part, package_dirs[group]);
    for (size_t k = 0; k < members.size(); ++k) scans[members[k]] = std::move(part[k]);
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    const stdfs::path& p = paths[i];
    SourceFile f;
    f.path = p;
    f.rel = stdfs::relative(p, dir).generic_string();
    FileScan& scan = scans[i];
    if (!scan.error.empty()) {
      result.failures.push_back(f.rel + ": " + scan.error);
      continue;
    }
    if (scan.syntax_errors)
      result.failures.push_back(f.rel + ":" + std::to_string(scan.first_error_line) + ": fixture has syntax errors");
    ++result.files;
    auto text = dsx::fs::ReadFile(p);
    if (!text.ok()) return text.status();
    std::map<int, Annotation> at;  // line -> annotation
    std::set<std::string> named;   // detectors this file talks about
    std::istringstream in(*text);
    std::string line;
    int n = 0;
    Annotation pending;
    bool has_pending = false;
    while (std::getline(in, line)) {
      ++n;
      Annotation a;
      bool alone = ParseAnnotation(line, a);
      for (const auto& id : a.ruleid) named.insert(id);
      for (const auto& id : a.ok) named.insert(id);
      if (alone) {
        pending.ruleid.insert(a.ruleid.begin(), a.ruleid.end());
        pending.ok.insert(a.ok.begin(), a.ok.end());
        has_pending = true;
        continue;
      }
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Annotation& here = at[n];
      here.ruleid.insert(a.ruleid.begin(), a.ruleid.end());
      here.ok.insert(a.ok.begin(), a.ok.end());
      if (has_pending) {
        here.ruleid.insert(pending.ruleid.begin(), pending.ruleid.end());
        here.ok.insert(pending.ok.begin(), pending.ok.end());
        pending = Annotation{};
        has_pending = false;
      }
    }
    std::set<std::pair<std::string, int>> got;
    for (const auto& fact : scan.facts) got.insert({fact.detector, fact.line});
    std::set<std::string> known;
    for (const auto& d : rules.detectors) known.insert(d.id);
    for (const auto& [ln, a] : at) {
      for (const auto& id : a.ruleid) {
        ++result.checks;
        if (!known.count(id))
          result.failures.push_back(f.rel + ":" + std::to_string(ln) + ": unknown detector '" + id + "'");
        else if (!got.count({id, ln}))
          result.failures.push_back(f.rel + ":" + std::to_string(ln) + ": expected a match of '" + id + "', got none");
        else tested.insert(id);
      }
      for (const auto& id : a.ok) {
        ++result.checks;
        if (got.count({id, ln}))
          result.failures.push_back(f.rel + ":" + std::to_string(ln) + ": '" + id + "' matched a line marked ok");
      }
    }
    for (const auto& [id, ln] : got) {
      if (!named.count(id)) continue;
      auto it = at.find(ln);
      if (it == at.end() || !it->second.ruleid.count(id))
        result.failures.push_back(f.rel + ":" + std::to_string(ln) + ": unexpected match of '" + id + "'");
    }
  }
  for (const auto& d : rules.detectors)
    if (!tested.count(d.id)) result.untested.push_back(d.id);
  return result;
}

}  // namespace dsx::audit
