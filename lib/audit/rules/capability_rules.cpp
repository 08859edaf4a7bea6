// Capability rules: loading and evaluation; see capability_rules.hpp.
#include "audit/rules/capability_rules.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <tuple>

#include <yaml-cpp/yaml.h>

#include "audit/rules/verdict_rule.hpp"
#include "audit/static/evidence_scope.hpp"

namespace dsx::audit {

namespace stdfs = std::filesystem;

int AssessmentRule::MaxPoints() const {
  int sum = 0;
  for (const auto& c : criteria) sum += c.points;
  return sum;
}

// ----- loading -----

namespace {

std::string Str(const YAML::Node& n, const char* key) { return n[key] ? n[key].as<std::string>() : std::string(); }

std::vector<std::string> Strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) out.push_back(n.as<std::string>());
  else
    for (const auto& x : n) out.push_back(x.as<std::string>());
  return out;
}

Result<Condition> When(const YAML::Node& n, const char* key, const std::string& ctx) {
  if (!n[key]) return Condition{};  // kAlways
  auto c = ParseCondition(n[key]);
  if (!c.ok()) return c.status().Wrap(ctx);
  return c;
}

Status LoadAssessment(const YAML::Node& n, AssessmentRule& a, const std::string& ctx) {
  a.id = Str(n, "id");
  if (a.id.empty()) return Status::Usage(ctx + ": capability or part without id");
  a.fixes = Strings(n["fixes"]);
  std::string here = ctx + " '" + a.id + "'";
  for (const auto& c : n["criteria"]) {
    CriterionRule cr;
    cr.id = Str(c, "id");
    cr.description = Str(c, "description");
    cr.points = c["points"] ? c["points"].as<int>() : 0;
    auto w = When(c, "when", here + " criterion '" + cr.id + "'");
    if (!w.ok()) return w.status();
    cr.when = std::move(w).value();
    a.criteria.push_back(std::move(cr));
  }
  for (const auto& v : n["verdicts"]) {
    VerdictRule vr;
    auto verdict = ParseVerdict(Str(v, "verdict"));
    if (!verdict.ok()) return verdict.status().Wrap(here);
    if (*verdict == Verdict::kUndetermined)
      return Status::Usage(here + ": 'undetermined' is not a verdict rule's to give; it comes from streaming_code");
    vr.verdict = *verdict;
    auto w = When(v, "when", here + " verdict rule");
    if (!w.ok()) return w.status();
    vr.when = std::move(w).value();
    a.verdicts.push_back(std::move(vr));
  }
  if (a.verdicts.empty() || a.verdicts.back().when.kind != Condition::Kind::kAlways)
    return Status::Usage(here + ": the last verdict rule must have no 'when' (the default)");
  return Status::Ok();
}

Status LoadFile(const stdfs::path& path, CapabilityRules& rules) {
  std::string origin = path.filename().string();
  YAML::Node doc = YAML::LoadFile(path.string());
  if (Str(doc, "schema") != "dsx/capability@1")
    return Status::Usage("'" + origin + "': schema must be dsx/capability@1");
  if (const YAML::Node n = doc["streaming_code"]) {
    if (rules.streaming.present) return Status::Usage("'" + origin + "': a second streaming_code section");
    if (!n["when"] || Str(n, "undetermined").empty())
      return Status::Usage("'" + origin + "': streaming_code needs when and undetermined (the reason shown)");
    auto w = When(n, "when", "'" + origin + "' streaming_code");
    if (!w.ok()) return w.status();
    rules.streaming = {true, std::move(w).value(), Str(n, "undetermined")};
    while (!rules.streaming.undetermined.empty() && rules.streaming.undetermined.back() == '\n')
      rules.streaming.undetermined.pop_back();
  }
  for (const auto& n : doc["failure_modes"]) {
    FailureModeRule fm;
    fm.id = Str(n, "id");
    fm.rule = Str(n, "rule");
    fm.title = Str(n, "title");
    fm.severity = Str(n, "severity");
    fm.message = Str(n, "message");
    while (!fm.message.empty() && (fm.message.back() == '\n' || fm.message.back() == ' ')) fm.message.pop_back();
    fm.capabilities = Strings(n["capabilities"]);
    fm.evidence_facts = Strings(n["evidence"]);
    fm.fixes = Strings(n["fixes"]);
    if (n["caps"])
      for (const auto& kv : n["caps"]) fm.caps[kv.first.as<std::string>()] = kv.second.as<int>();
    if (fm.id.empty() || fm.title.empty() || !n["when"])
      return Status::Usage("'" + origin + "': failure mode needs id, title and when");
    if (fm.severity != "high" && fm.severity != "medium" && fm.severity != "low")
      return Status::Usage("'" + origin + "': failure mode '" + fm.id + "': severity must be high, medium or low");
    auto w = When(n, "when", "'" + origin + "' failure mode '" + fm.id + "'");
    if (!w.ok()) return w.status();
    fm.when = std::move(w).value();
    rules.failure_modes.push_back(std::move(fm));
  }
  for (const auto& n : doc["capabilities"]) {
    CapabilityRule cap;
    DSX_RETURN_IF_ERROR(LoadAssessment(n, cap, "'" + origin + "' capability"));
    for (const auto& p : n["parts"]) {
      AssessmentRule part;
      DSX_RETURN_IF_ERROR(LoadAssessment(p, part, "'" + origin + "' capability '" + cap.id + "' part"));
      cap.parts.push_back(std::move(part));
    }
    int total = cap.MaxPoints();
    for (const auto& p : cap.parts) total += p.MaxPoints();
    if (total != 100)
      return Status::Usage("'" + origin + "' capability '" + cap.id + "': criteria points sum to " +
                           std::to_string(total) + ", not 100");
    rules.capabilities.push_back(std::move(cap));
  }
  for (const auto& n : doc["notes"]) {
    auto w = When(n, "when", "'" + origin + "' note");
    if (!w.ok()) return w.status();
    rules.notes.push_back({std::move(w).value(), Str(n, "text")});
  }
  for (const auto& n : doc["migration"]) {
    MigrationRule m;
    m.id = Str(n, "id");
    m.title = Str(n, "title");
    m.dsx_feature = Str(n, "dsx_feature");
    m.todo = Str(n, "todo");
    m.done = Str(n, "done");
    m.not_needed = Str(n, "not_needed");
    m.todo_no_files = Str(n, "todo_no_files");
    m.files_from = Strings(n["files_from"]);
    m.files_fallback = Strings(n["files_fallback"]);
    std::string ctx = "'" + origin + "' migration step '" + m.id + "'";
    if (n["done_when"]) {
      auto w = When(n, "done_when", ctx);
      if (!w.ok()) return w.status();
      m.done_when = std::move(w).value();
      m.has_done_when = true;
    }
    if (n["not_needed_when"]) {
      auto w = When(n, "not_needed_when", ctx);
      if (!w.ok()) return w.status();
      m.not_needed_when = std::move(w).value();
      m.has_not_needed_when = true;
    }
    rules.migration.push_back(std::move(m));
  }
  if (const YAML::Node fixes = doc["fixes"]) {
    if (!fixes.IsSequence()) return Status::Usage("'" + origin + "': fixes must be a list");
    for (const auto& n : fixes) {
      FixRule f;
      f.id = Str(n, "id");
      f.kit = Str(n, "kit");
      f.change = Str(n, "change");
      while (!f.change.empty() && (f.change.back() == '\n' || f.change.back() == ' ')) f.change.pop_back();
      f.at = Strings(n["at"]);
      f.languages = Strings(n["languages"]);
      std::string ctx = "'" + origin + "' fix '" + f.id + "'";
      if (f.id.empty() || f.change.empty()) return Status::Usage("'" + origin + "': a fix needs id and change");
      if (KitName(f.kit).empty())
        return Status::Usage(ctx + ": unknown kit '" + f.kit + "' (llm_proxy, ai_sdk_transport, python_agent, dsx_session)");
      for (const auto& l : f.languages)
        if (l != "js" && l != "ts" && l != "tsx" && l != "py")
          return Status::Usage(ctx + ": unknown language '" + l + "' (js, ts, tsx, py)");
      auto w = When(n, "when", ctx);
      if (!w.ok()) return w.status();
      f.when = std::move(w).value();
      rules.fixes.push_back(std::move(f));
    }
  }
  rules.origins.push_back(origin);
  return Status::Ok();
}

}  // namespace

Result<CapabilityRules> LoadCapabilityRules(const stdfs::path& dir) {
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec))
    return Status::NotFound("cannot open capability rule folder '" + dir.string() + "'");
  std::vector<stdfs::path> files;
  for (const auto& e : stdfs::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  CapabilityRules rules;
  for (const auto& f : files) {
    try {
      DSX_RETURN_IF_ERROR(LoadFile(f, rules));
    } catch (const YAML::Exception& e) {
      return Status::Usage("cannot load capability rules '" + f.filename().string() + "': " + e.what());
    }
  }
  std::set<std::string> ids;
  for (const auto& fm : rules.failure_modes)
    if (!ids.insert(fm.id).second) return Status::Usage("duplicate failure mode '" + fm.id + "'");
  std::set<std::string> fix_ids;
  for (const auto& f : rules.fixes)
    if (!fix_ids.insert(f.id).second) return Status::Usage("duplicate fix '" + f.id + "'");
  auto check_fixes = [&](const std::vector<std::string>& named, const std::string& by) {
    for (const auto& id : named)
      if (!fix_ids.count(id)) return Status::Usage(by + " names fix '" + id + "', which no fixes: list defines");
    return Status::Ok();
  };
  for (const auto& fm : rules.failure_modes) DSX_RETURN_IF_ERROR(check_fixes(fm.fixes, "failure mode '" + fm.id + "'"));
  for (const auto& c : rules.capabilities) {
    DSX_RETURN_IF_ERROR(check_fixes(c.fixes, "capability '" + c.id + "'"));
    for (const auto& p : c.parts) DSX_RETURN_IF_ERROR(check_fixes(p.fixes, "part '" + c.id + "." + p.id + "'"));
  }
  for (auto want : {kResilientDelivery, kContinuity, kLiveControl}) {
    bool found = std::any_of(rules.capabilities.begin(), rules.capabilities.end(),
                             [&](const CapabilityRule& c) { return c.id == want; });
    if (!found) return Status::Usage("capability rules define no '" + std::string(want) + "'");
  }
  return rules;
}

// ----- evaluation -----

namespace {

void Dedupe(std::vector<Evidence>& ev) {
  std::set<std::tuple<std::string, int, std::string>> seen;
  std::vector<Evidence> out;
  for (auto& e : ev)
    if (seen.insert({e.file, e.line, e.fact}).second) out.push_back(std::move(e));
  ev = std::move(out);
}

// Most relevant first. The printers show only the first few, so this order decides what a reader
// sees. A failure mode's `evidence:` list is the author's ranking: its order comes first, then the
// server's code before the client's (the server decides what survives a drop), then place. A
// criterion's condition order is not a ranking (`any: [a, b]` is a set): server first, then the
// condition's order, then place. A capability keeps its criteria's order: the first criterion's
// best evidence first. Within the same fact, one in a file on the streaming path (a file that
// also holds streaming code, per streaming_code) comes before one elsewhere: a create_task next
// to the model call says more than one in a connector.
enum class RankBy { kNamedOrder, kServerFirst };

using StreamingFiles = std::set<std::string>;

void Rank(std::vector<Evidence>& ev, const std::vector<std::string>& order, RankBy by, const StreamingFiles& path) {
  auto key = [&](const Evidence& e) {
    std::string name = e.fact.substr(0, e.fact.find('='));
    size_t pos = static_cast<size_t>(std::find(order.begin(), order.end(), name) - order.begin());
    size_t side = name.rfind("server.", 0) == 0 ? 0 : name.rfind("client.", 0) == 0 ? 2 : 1;
    size_t off_path = path.count(e.file) ? 0 : 1;
    return by == RankBy::kNamedOrder ? std::make_tuple(pos, side, off_path, std::cref(e.file), e.line)
                                     : std::make_tuple(side, pos, off_path, std::cref(e.file), e.line);
  };
  std::stable_sort(ev.begin(), ev.end(), [&](const Evidence& a, const Evidence& b) { return key(a) < key(b); });
}

void DedupeAndRank(std::vector<Evidence>& ev, const std::vector<std::string>& order, RankBy by,
                   const StreamingFiles& path) {
  Dedupe(ev);
  Rank(ev, order, by, path);
}

// Score the criteria and take the first matching verdict rule of one assessment (a capability or
// a part). Returns the points earned.
int Assess(const AssessmentRule& rule, EvalContext ctx, const StreamingFiles& path, Assessment& out) {
  out.id = rule.id;
  std::map<std::string, bool> met;
  int earned = 0;
  std::string sum;
  for (const auto& cr : rule.criteria) {
    Criterion c;
    c.id = cr.id;
    c.description = cr.description;
    c.max_points = cr.points;
    c.met = Eval(cr.when, ctx, &c.evidence);
    DedupeAndRank(c.evidence, FactNames(cr.when), RankBy::kServerFirst, path);
    if (!c.met) {  // what decided it is not met, when a line did
      Against(cr.when, ctx, &c.against);
      DedupeAndRank(c.against, FactNames(cr.when), RankBy::kServerFirst, path);
    }
    c.points = c.met ? cr.points : 0;
    met[cr.id] = c.met;
    if (c.met) {
      earned += cr.points;
      sum += (sum.empty() ? "" : " + ") + std::to_string(cr.points) + " (" + cr.description + ")";
      out.evidence.insert(out.evidence.end(), c.evidence.begin(), c.evidence.end());
    }
    out.criteria.push_back(std::move(c));
  }
  Dedupe(out.evidence);  // in criterion order, each already ranked
  ctx.criteria = &met;
  for (const auto& vr : rule.verdicts) {
    if (!Eval(vr.when, ctx, nullptr)) continue;
    out.verdict = vr.verdict;
    out.verdict_rule = std::string(VerdictName(vr.verdict)) + " because " + Describe(vr.when);
    break;
  }
  int max = rule.MaxPoints();
  out.score = max > 0 ? (earned * 100 + max / 2) / max : 0;
  out.derivation = (sum.empty() ? "no criterion met" : sum) + " = " + std::to_string(earned) + " of " +
                   std::to_string(max) + " points";
  return earned;
}

// Nothing to judge: keep the criteria (what was found), drop verdict, score and caps.
void MarkUndetermined(Assessment& a, const std::string& why) {
  a.verdict = Verdict::kUndetermined;
  a.score = 0;
  a.caps.clear();
  a.derivation = "undetermined: " + why;
  a.verdict_rule = "undetermined because no streaming AI code was recognised (streaming_code)";
}

// A failure mode's evidence: only its `evidence:` facts when it lists them, ranked in that order.
std::vector<Evidence> FailureModeEvidence(const FailureModeRule& rule, std::vector<Evidence> ev,
                                          const StreamingFiles& path) {
  if (!rule.evidence_facts.empty()) {
    std::vector<Evidence> kept;
    for (auto& e : ev) {
      std::string name = e.fact.substr(0, e.fact.find('='));
      if (std::find(rule.evidence_facts.begin(), rule.evidence_facts.end(), name) != rule.evidence_facts.end())
        kept.push_back(std::move(e));
    }
    ev = std::move(kept);
  }
  if (rule.evidence_facts.empty()) DedupeAndRank(ev, FactNames(rule.when), RankBy::kServerFirst, path);
  else DedupeAndRank(ev, rule.evidence_facts, RankBy::kNamedOrder, path);
  return ev;
}

std::string ReplaceAll(std::string s, std::string_view from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// The files a migration step changes, most relevant first: in `files_from` order (a fact name,
// or NAME=VALUE for one value), each fact's files by place; never test, script or mock files,
// which are not fix targets even when --include-tests made them evidence.
std::vector<std::string> StepFiles(const std::vector<std::string>& files_from, const FactIndex& index) {
  std::vector<std::string> files;
  for (const auto& from : files_from) {
    size_t eq = from.find('=');
    std::string name = from.substr(0, eq);
    std::vector<const Fact*> hits;
    for (const Fact* f : index.Named(name))
      if (eq == std::string::npos || f->value == from.substr(eq + 1)) hits.push_back(f);
    std::stable_sort(hits.begin(), hits.end(), [](const Fact* a, const Fact* b) {
      return std::tie(a->file, a->line) < std::tie(b->file, b->line);
    });
    for (const Fact* f : hits)
      if (!IsNonProductPath(f->file) && std::find(files.begin(), files.end(), f->file) == files.end())
        files.push_back(f->file);
  }
  return files;
}

// `{file}`: the step's first target file; `{done_by}`: "file:line" of the best evidence of the
// condition that made the step done or not needed.
std::string FillStepText(std::string text, const std::vector<std::string>& files, const std::vector<Evidence>& by) {
  text = ReplaceAll(std::move(text), "{file}",
                    files.empty() ? std::string("the code that streams the answer") : files.front());
  std::string done_by = "the code found";
  for (const auto& e : by)
    if (!IsNonProductPath(e.file)) {
      done_by = e.line > 0 ? e.file + ":" + std::to_string(e.line) : e.file;
      break;
    }
  return ReplaceAll(std::move(text), "{done_by}", done_by);
}

// The language class of a file, as fix rules name them ("" when none).
std::string FileLanguage(const std::string& file) {
  std::string ext = stdfs::path(file).extension().string();
  if (ext == ".js" || ext == ".jsx" || ext == ".mjs" || ext == ".cjs") return "js";
  if (ext == ".ts" || ext == ".mts" || ext == ".cts" || ext == ".svelte" || ext == ".vue") return "ts";
  if (ext == ".tsx") return "tsx";
  if (ext == ".py") return "py";
  return "";
}

// One fix rule made concrete for this codebase, or nothing when it does not apply here.
std::optional<Fix> MakeFix(const FixRule& rule, const EvalContext& base, const FactIndex& index) {
  if (!Eval(rule.when, base, nullptr)) return std::nullopt;
  Fix fix;
  fix.kit = rule.kit;
  fix.kit_name = std::string(KitName(rule.kit));
  if (!rule.at.empty()) {
    const Fact* place = nullptr;
    for (const auto& from : rule.at) {
      size_t eq = from.find('=');
      std::string name = from.substr(0, eq);
      for (const Fact* f : index.Named(name)) {
        if (eq != std::string::npos && f->value != from.substr(eq + 1)) continue;
        if (IsNonProductPath(f->file)) continue;
        if (!rule.languages.empty() &&
            std::find(rule.languages.begin(), rule.languages.end(), FileLanguage(f->file)) == rule.languages.end())
          continue;
        if (!place || std::tie(f->file, f->line) < std::tie(place->file, place->line)) place = f;
      }
      if (place) break;
    }
    if (!place) return std::nullopt;
    fix.file = place->file;
    fix.line = place->line;
  }
  std::string at = fix.file.empty() ? std::string("the code that streams the answer")
                                    : fix.file + (fix.line > 0 ? ":" + std::to_string(fix.line) : "");
  std::string text = ReplaceAll(rule.change, "{at}", at);
  text = ReplaceAll(std::move(text), "{file}", fix.file.empty() ? std::string("the code that streams the answer") : fix.file);
  fix.change = ReplaceAll(std::move(text), "{line}", std::to_string(fix.line));
  return fix;
}

// The fixes named by `ids` that apply here, in that order, each place named once per kit.
std::vector<Fix> MakeFixes(const CapabilityRules& rules, const std::vector<std::string>& ids, const EvalContext& base,
                           const FactIndex& index) {
  std::vector<Fix> out;
  std::set<std::tuple<std::string, std::string, int>> seen;
  for (const auto& id : ids)
    for (const auto& rule : rules.fixes) {
      if (rule.id != id) continue;
      auto fix = MakeFix(rule, base, index);
      if (fix && seen.insert({fix->kit, fix->file, fix->line}).second) out.push_back(std::move(*fix));
    }
  return out;
}

void EvaluateMigration(const CapabilityRules& rules, const EvalContext& base, const FactIndex& index,
                       const StreamingFiles& path, Report& report) {
  int number = 0;
  for (const auto& m : rules.migration) {
    MigrationStep step;
    step.number = ++number;
    step.id = m.id;
    step.title = m.title;
    step.dsx_feature = m.dsx_feature;
    std::vector<Evidence> not_needed_by, done_by, by;
    std::string text;
    if (m.has_not_needed_when && Eval(m.not_needed_when, base, &not_needed_by)) {
      step.status = "not_needed";
      text = m.not_needed;
      by = std::move(not_needed_by);
      DedupeAndRank(by, FactNames(m.not_needed_when), RankBy::kNamedOrder, path);
    } else if (m.has_done_when && Eval(m.done_when, base, &done_by)) {
      step.status = "done";
      text = m.done;
      by = std::move(done_by);
      DedupeAndRank(by, FactNames(m.done_when), RankBy::kNamedOrder, path);  // the author's most telling fact first
    } else {
      step.status = "todo";
      text = m.todo;
    }
    // A step that is done or not needed changes nothing: listing files there reads as "replace
    // your working code". Only the audit step lists what it read.
    if (step.status == "todo" || m.id == "audit") {
      step.files = StepFiles(m.files_from, index);
      if (step.files.empty()) step.files = StepFiles(m.files_fallback, index);
    }
    if (step.status == "todo" && step.files.empty() && !m.todo_no_files.empty()) text = m.todo_no_files;
    step.action = FillStepText(text, step.files, by);
    report.migration.push_back(std::move(step));
  }
}

}  // namespace

void Evaluate(const CapabilityRules& rules, const Facts& facts, Report& report) {
  FactIndex index(facts);
  std::set<std::string> found;
  EvalContext base;
  base.facts = &index;
  base.failure_modes = &found;
  const bool streaming = !rules.streaming.present || Eval(rules.streaming.when, base, nullptr);
  StreamingFiles path;  // files that hold streaming code: evidence there ranks first
  if (rules.streaming.present)
    for (const auto& name : FactNames(rules.streaming.when))
      for (const Fact* f : index.Named(name)) path.insert(f->file);

  // Without streaming code a failure mode would describe code that is not there (a sessionStorage
  // id in an app with no model call): none is reported.
  for (const auto& rule : streaming ? rules.failure_modes : std::vector<FailureModeRule>{}) {
    std::vector<Evidence> ev;
    if (!Eval(rule.when, base, &ev)) continue;
    if (!found.insert(rule.id).second) continue;
    report.failure_modes.push_back({rule.id, rule.title, rule.severity, rule.message, rule.rule, rule.capabilities,
                                    FailureModeEvidence(rule, std::move(ev), path),
                                    MakeFixes(rules, rule.fixes, base, index)});
  }

  for (const auto& rule : rules.capabilities) {
    Capability cap;
    std::map<std::string, Verdict> part_verdicts;
    int earned = 0;
    std::string parts_sum;
    for (const auto& part_rule : rule.parts) {
      Assessment part;
      int pts = Assess(part_rule, base, path, part);
      earned += pts;
      parts_sum += (parts_sum.empty() ? "" : " + ") + std::to_string(pts) + " (" + part_rule.id + ")";
      if (!streaming) MarkUndetermined(part, rules.streaming.undetermined);
      part_verdicts[part.id] = part.verdict;
      cap.parts.push_back(std::move(part));
    }
    EvalContext ctx = base;
    ctx.parts = &part_verdicts;
    earned += Assess(rule, ctx, path, cap);
    if (!rule.parts.empty()) {
      cap.score = earned;  // parts' points sum to 100 with the capability's own criteria
      for (const auto& p : cap.parts) cap.evidence.insert(cap.evidence.end(), p.evidence.begin(), p.evidence.end());
      Dedupe(cap.evidence);
      cap.derivation = parts_sum + " = " + std::to_string(earned) + " of 100 points";
    }
    VerdictInputs in;
    in.streaming_recognised = streaming;
    in.rule_verdict = cap.verdict;
    in.score_before_caps = cap.score;
    for (const auto& fm_rule : rules.failure_modes) {
      auto it = fm_rule.caps.find(rule.id);
      if (it == fm_rule.caps.end() || !found.count(fm_rule.id)) continue;
      if (it->second < in.ceiling) {
        in.ceiling = it->second;
        in.ceiling_by = fm_rule.id;
      }
      if (cap.score <= it->second) continue;
      cap.score = it->second;
      cap.caps.push_back("capped at " + std::to_string(it->second) + " by " + fm_rule.id);
    }
    if (!cap.caps.empty()) {
      cap.derivation += ", ";
      for (size_t i = 0; i < cap.caps.size(); ++i) cap.derivation += (i ? ", " : "") + cap.caps[i];
    }
    in.score = cap.score;
    VerdictDecision decided = DecideVerdict(in);
    if (!streaming) {
      MarkUndetermined(cap, rules.streaming.undetermined);
    } else if (!decided.overruled.empty()) {
      cap.verdict = decided.verdict;
      cap.verdict_rule = decided.overruled + " (overrules: " + cap.verdict_rule + ")";
    }
    if (streaming) {  // what closes the gap, in the app's own files
      if (cap.verdict != Verdict::kYes) cap.fixes = MakeFixes(rules, rule.fixes, base, index);
      for (size_t i = 0; i < cap.parts.size() && i < rule.parts.size(); ++i)
        if (cap.parts[i].verdict != Verdict::kYes) cap.parts[i].fixes = MakeFixes(rules, rule.parts[i].fixes, base, index);
    }
    report.capabilities.push_back(std::move(cap));
  }
  // Report order is fixed: resilient_delivery, continuity, live_control.
  auto order = [](const std::string& id) {
    return id == kResilientDelivery ? 0 : id == kContinuity ? 1 : id == kLiveControl ? 2 : 3;
  };
  std::stable_sort(report.capabilities.begin(), report.capabilities.end(),
                   [&](const Capability& a, const Capability& b) { return order(a.id) < order(b.id); });

  if (!streaming) {  // the reason first; no plan: there is no streaming path to migrate
    report.notes.push_back("undetermined: " + rules.streaming.undetermined);
    return;
  }
  for (const auto& n : rules.notes)
    if (Eval(n.when, base, nullptr)) report.notes.push_back(n.text);
  EvaluateMigration(rules, base, index, path, report);
}

}  // namespace dsx::audit
