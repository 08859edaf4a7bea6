// Detectors: loading (YAML), compiling (tree-sitter queries) and running; see detector.hpp.
#include "audit/rules/detector.hpp"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <set>
#include <thread>
#include <tuple>

#include <yaml-cpp/yaml.h>

#include "audit/static/gitignore.hpp"
#include "audit/static/syntax.hpp"

namespace dsx::audit {

namespace stdfs = std::filesystem;

// ----- CompiledQuery -----

CompiledQuery::~CompiledQuery() {
  if (query_) ts_query_delete(query_);
}

namespace {

const char* QueryErrorName(TSQueryError e) {
  switch (e) {
    case TSQueryErrorSyntax: return "syntax error";
    case TSQueryErrorNodeType: return "unknown node type";
    case TSQueryErrorField: return "unknown field";
    case TSQueryErrorCapture: return "unknown capture";
    case TSQueryErrorStructure: return "impossible structure";
    default: return "error";
  }
}

std::string Unquoted(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'' || s.front() == '`') && s.back() == s.front())
    return std::string(s.substr(1, s.size() - 2));
  return std::string(s);
}

}  // namespace

Result<std::unique_ptr<CompiledQuery>> CompiledQuery::Compile(Lang lang, const std::string& source, bool allow_kinds) {
  uint32_t error_offset = 0;
  TSQueryError error = TSQueryErrorNone;
  TSQuery* q =
      ts_query_new(GrammarFor(lang), source.data(), static_cast<uint32_t>(source.size()), &error_offset, &error);
  if (!q) {
    size_t a = error_offset > 20 ? error_offset - 20 : 0;
    return Status::Usage(std::string(QueryErrorName(error)) + " in " + std::string(LangName(lang)) +
                         " query at offset " + std::to_string(error_offset) + " near '" + source.substr(a, 40) + "'");
  }
  std::unique_ptr<CompiledQuery> cq(new CompiledQuery());
  cq->query_ = q;
  uint32_t captures = ts_query_capture_count(q);
  for (uint32_t i = 0; i < captures; ++i) {
    uint32_t len = 0;
    const char* name = ts_query_capture_name_for_id(q, i, &len);  // sets len
    cq->capture_names_.emplace_back(name, len);
  }
  uint32_t patterns = ts_query_pattern_count(q);
  cq->predicates_.resize(patterns);
  for (uint32_t p = 0; p < patterns; ++p) {
    uint32_t steps = 0;
    const TSQueryPredicateStep* s = ts_query_predicates_for_pattern(q, p, &steps);
    std::vector<TSQueryPredicateStep> cur;
    for (uint32_t i = 0; i < steps; ++i) {
      if (s[i].type != TSQueryPredicateStepTypeDone) {
        cur.push_back(s[i]);
        continue;
      }
      if (cur.empty() || cur[0].type != TSQueryPredicateStepTypeString)
        return Status::Usage("malformed predicate in query");
      uint32_t len = 0;
      const char* op_text = ts_query_string_value_for_id(q, cur[0].value_id, &len);  // sets len
      std::string op(op_text, len);
      Predicate pred;
      pred.op = op;
      if (cur.size() < 3 || cur[1].type != TSQueryPredicateStepTypeCapture)
        return Status::Usage("predicate #" + op + " needs a capture and a value");
      pred.capture = cur[1].value_id;
      for (size_t k = 2; k < cur.size(); ++k) {
        if (cur[k].type == TSQueryPredicateStepTypeCapture) {
          pred.other_is_capture = true;
          pred.other_capture = cur[k].value_id;
        } else {
          const char* str = ts_query_string_value_for_id(q, cur[k].value_id, &len);  // sets len
          pred.strings.emplace_back(str, len);
        }
      }
      if (op == "match?" || op == "not-match?") {
        if (pred.strings.size() != 1) return Status::Usage("#" + op + " takes one regex");
        // A regex without metacharacters is a substring test: much cheaper than std::regex.
        if (pred.strings[0].find_first_of("^$.*+?()[]{}|\\") == std::string::npos) pred.literal = pred.strings[0];
        try {
          pred.regex = std::make_shared<std::regex>(pred.strings[0], std::regex::ECMAScript | std::regex::optimize);
        } catch (const std::regex_error& e) {
          return Status::Usage("bad regex '" + pred.strings[0] + "' in #" + op + ": " + e.what());
        }
      } else if (op == "kind?" || op == "not-kind?") {
        if (!allow_kinds)
          return Status::Usage("#" + op + " is only allowed in a detector's `query` (not in inside/file_has/kinds)");
        if (pred.strings.size() != 1 || pred.other_is_capture) return Status::Usage("#" + op + " takes one kind name");
      } else if (op != "eq?" && op != "not-eq?" && op != "any-of?" && op != "not-any-of?") {
        return Status::Usage("unsupported predicate #" + op +
                             " (use eq?, not-eq?, match?, not-match?, any-of?, not-any-of?, kind?, not-kind?)");
      }
      cq->predicates_[p].push_back(std::move(pred));
      cur.clear();
    }
  }
  return cq;
}

std::vector<CompiledQuery::Match> CompiledQuery::Run(const ParsedFile& file) const {
  std::vector<Match> out;
  TSQueryCursor* cursor = ts_query_cursor_new();
  ts_query_cursor_exec(cursor, query_, file.root());
  TSQueryMatch m;
  while (ts_query_cursor_next_match(cursor, &m)) {
    auto text_of = [&](uint32_t capture_id, std::string& out_text) {
      for (uint16_t i = 0; i < m.capture_count; ++i)
        if (m.captures[i].index == capture_id) {
          out_text = std::string(file.NodeText(m.captures[i].node));
          return true;
        }
      return false;
    };
    bool ok = true;
    std::vector<Match::KindCheck> kind_checks;
    for (const auto& pred : predicates_[m.pattern_index]) {
      if (pred.op == "kind?" || pred.op == "not-kind?") {
        for (uint16_t i = 0; i < m.capture_count; ++i)
          if (m.captures[i].index == pred.capture) {
            kind_checks.push_back({m.captures[i].node, pred.strings[0], pred.op == "not-kind?"});
            break;
          }
        continue;
      }
      std::string text;
      if (!text_of(pred.capture, text)) continue;  // optional capture absent: predicate vacuous
      std::string bare = Unquoted(text);
      bool r = true;
      if (pred.op == "eq?" || pred.op == "not-eq?") {
        std::string other;
        if (pred.other_is_capture) {
          if (!text_of(pred.other_capture, other)) continue;
          r = text == other;
        } else {
          r = text == pred.strings[0] || bare == pred.strings[0];
        }
        if (pred.op == "not-eq?") r = !r;
      } else if (pred.op == "match?" || pred.op == "not-match?") {
        r = pred.literal.empty() ? std::regex_search(text, *pred.regex) : text.find(pred.literal) != std::string::npos;
        if (pred.op == "not-match?") r = !r;
      } else {  // any-of? / not-any-of?
        r = std::find(pred.strings.begin(), pred.strings.end(), text) != pred.strings.end() ||
            std::find(pred.strings.begin(), pred.strings.end(), bare) != pred.strings.end();
        if (pred.op == "not-any-of?") r = !r;
      }
      if (!r) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    Match match;
    match.pattern = m.pattern_index;
    match.kind_checks = std::move(kind_checks);
    for (uint16_t i = 0; i < m.capture_count; ++i)
      match.captures.emplace(capture_names_[m.captures[i].index], m.captures[i].node);
    out.push_back(std::move(match));
  }
  ts_query_cursor_delete(cursor);
  return out;
}

uint32_t CompiledQuery::PatternCount() const { return ts_query_pattern_count(query_); }
uint32_t CompiledQuery::PatternStartByte(uint32_t pattern) const {
  return ts_query_start_byte_for_pattern(query_, pattern);
}

// ----- loading -----

namespace {

std::vector<std::string> StringList(const YAML::Node& n) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
  } else if (n.IsSequence()) {
    for (const auto& x : n) out.push_back(x.as<std::string>());
  }
  return out;
}

std::string Str(const YAML::Node& n, const char* key) { return n[key] ? n[key].as<std::string>() : std::string(); }

// A condition query (inside, not_inside, file_has, file_lacks) waiting to be compiled. Each
// ts_query_new analyses the grammar's parse states, ~10 ms for TypeScript however small the
// query, so LoadDetectors compiles them all at the end, on every core.
struct PendingCompile {
  size_t detector;
  Lang lang;
  std::unique_ptr<CompiledQuery> Detector::Compiled::*slot;
  std::string source;
  std::string what;
};

Status LoadDetector(const YAML::Node& n, const std::string& origin, Detector& d, size_t index,
                    std::vector<PendingCompile>& pending) {
  d.id = Str(n, "id");
  if (d.id.empty()) return Status::Usage("a detector has no id");
  d.description = Str(n, "description");
  d.stack = Str(n, "stack");
  d.origin = origin;
  d.fact = Str(n, "fact");
  d.value = Str(n, "value");
  if (d.fact.empty()) return Status::Usage("detector '" + d.id + "' has no fact");
  d.imports = StringList(n["imports"]);
  if (n["paths"]) {
    d.paths_include = StringList(n["paths"]["include"]);
    d.paths_exclude = StringList(n["paths"]["exclude"]);
  }
  d.query_text = Str(n, "query");
  if (d.query_text.empty()) return Status::Usage("detector '" + d.id + "' has no query");
  auto langs = StringList(n["languages"]);
  if (langs.empty()) return Status::Usage("detector '" + d.id + "' names no languages");
  for (const auto& name : langs) {
    auto lang = ParseLangName(name);
    if (!lang.ok()) return lang.status().Wrap("detector '" + d.id + "'");
    d.langs.push_back(*lang);
    std::string ctx = "detector '" + d.id + "' (" + origin + ")";
    // The match query itself is compiled once for all detectors (BuildDetectorIndex); only when
    // that fails is each detector's query compiled alone, to name the culprit.
    const std::pair<const char*, std::unique_ptr<CompiledQuery> Detector::Compiled::*> conditions[] = {
        {"inside", &Detector::Compiled::inside},
        {"not_inside", &Detector::Compiled::not_inside},
        {"file_has", &Detector::Compiled::file_has},
        {"file_lacks", &Detector::Compiled::file_lacks}};
    for (const auto& [key, slot] : conditions) {
      std::string src = Str(n, key);
      if (!src.empty()) pending.push_back({index, *lang, slot, std::move(src), ctx + " " + key});
    }
    d.compiled.emplace(*lang, Detector::Compiled{});
  }
  return Status::Ok();
}

Status LoadKindRule(const YAML::Node& n, const std::string& origin, KindRule& k) {
  k.id = Str(n, "id");
  if (k.id.empty()) return Status::Usage("a kind rule has no id");
  k.kind = Str(n, "kind");
  if (k.kind.empty() || k.kind.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") != std::string::npos)
    return Status::Usage("kind rule '" + k.id + "' needs a kind name of [a-z0-9_]");
  k.origin = origin;
  std::string target = Str(n, "target");
  if (target == "function") k.target_function = true;
  else if (!target.empty() && target != "value")
    return Status::Usage("kind rule '" + k.id + "': target must be value or function, not '" + target + "'");
  k.imports = StringList(n["imports"]);
  if (n["paths"]) {
    k.paths_include = StringList(n["paths"]["include"]);
    k.paths_exclude = StringList(n["paths"]["exclude"]);
  }
  k.query_text = Str(n, "query");
  if (k.query_text.empty()) return Status::Usage("kind rule '" + k.id + "' has no query");
  if (k.query_text.find("@value") == std::string::npos)
    return Status::Usage("kind rule '" + k.id + "': its query must capture @value");
  // What a kind rule marks is what #kind? is decided from: it cannot ask for kinds itself.
  if (k.query_text.find("#kind?") != std::string::npos || k.query_text.find("#not-kind?") != std::string::npos)
    return Status::Usage("kind rule '" + k.id + "': #kind? is only allowed in a detector's query");
  auto langs = StringList(n["languages"]);
  if (langs.empty()) return Status::Usage("kind rule '" + k.id + "' names no languages");
  for (const auto& name : langs) {
    auto lang = ParseLangName(name);
    if (!lang.ok()) return lang.status().Wrap("kind rule '" + k.id + "'");
    k.langs.push_back(*lang);
  }
  return Status::Ok();
}

bool AnyGlob(const std::vector<std::string>& globs, std::string_view rel) {
  for (const auto& g : globs) {
    // A glob without '/' matches the file name anywhere, like .gitignore.
    if (g.find('/') == std::string::npos) {
      size_t slash = rel.rfind('/');
      if (GlobMatch(g, slash == std::string_view::npos ? rel : rel.substr(slash + 1))) return true;
    } else if (GlobMatch(g, rel)) {
      return true;
    }
  }
  return false;
}

bool PathsSelected(const std::vector<std::string>& include, const std::vector<std::string>& exclude,
                   std::string_view rel) {
  if (!include.empty() && !AnyGlob(include, rel)) return false;
  return !AnyGlob(exclude, rel);
}

bool ImportsAny(const std::vector<std::string>& wanted, const std::vector<std::string>& have) {
  for (const auto& want : wanted)
    for (const auto& h : have)
      if (ImportMatches(h, want)) return true;
  return false;
}

}  // namespace

Status LoadDetectors(const stdfs::path& dir, std::vector<Detector>& detectors, std::vector<PackageRule>& packages,
                     std::vector<KindRule>& kinds) {
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) return Status::NotFound("cannot open detector folder '" + dir.string() + "'");
  std::vector<stdfs::path> files;
  for (const auto& e : stdfs::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::set<std::string> ids, kind_ids;
  std::vector<PendingCompile> pending;
  for (const auto& path : files) {
    std::string origin = path.filename().string();
    try {
      YAML::Node doc = YAML::LoadFile(path.string());
      if (Str(doc, "schema") != "dsx/detector@1")
        return Status::Usage("detector file '" + origin + "': schema must be dsx/detector@1");
      for (const auto& n : doc["detectors"]) {
        Detector d;
        DSX_RETURN_IF_ERROR(
            LoadDetector(n, origin, d, detectors.size(), pending).Wrap("detector file '" + origin + "'"));
        if (!ids.insert(d.id).second)
          return Status::Usage("detector file '" + origin + "': duplicate id '" + d.id + "'");
        detectors.push_back(std::move(d));
      }
      for (const auto& n : doc["kinds"]) {
        KindRule k;
        DSX_RETURN_IF_ERROR(LoadKindRule(n, origin, k).Wrap("detector file '" + origin + "'"));
        if (!kind_ids.insert(k.id).second)
          return Status::Usage("detector file '" + origin + "': duplicate kind rule id '" + k.id + "'");
        kinds.push_back(std::move(k));
      }
      for (const auto& n : doc["packages"]) {
        PackageRule p{Str(n, "id"), Str(n, "ecosystem"), Str(n, "name"), Str(n, "fact"), Str(n, "value")};
        if (p.name.empty() || p.fact.empty() || (p.ecosystem != "npm" && p.ecosystem != "pypi"))
          return Status::Usage("detector file '" + origin + "': package rule needs name, fact and ecosystem npm|pypi");
        if (p.value.empty()) p.value = "major";
        if (p.id.empty()) p.id = "pkg." + p.name;
        packages.push_back(std::move(p));
      }
    } catch (const YAML::Exception& e) {
      return Status::Usage("cannot load detector file '" + origin + "': " + e.what());
    }
  }
  // Compile the conditions on every core; report the first failure in file order.
  std::vector<Status> results(pending.size(), Status::Ok());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < pending.size();) {
      PendingCompile& job = pending[i];
      auto q = CompiledQuery::Compile(job.lang, job.source);
      if (!q.ok()) {
        results[i] = q.status().Wrap(job.what);
        continue;
      }
      detectors[job.detector].compiled.at(job.lang).*job.slot = std::move(q).value();
    }
  };
  unsigned n = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), 8));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n && t < pending.size(); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (const auto& r : results)
    if (!r.ok()) return r;
  return Status::Ok();
}

// ----- running -----

bool PathSelected(const Detector& d, std::string_view rel) {
  return PathsSelected(d.paths_include, d.paths_exclude, rel);
}

namespace {

bool Within(TSNode inner, TSNode outer) {
  return ts_node_start_byte(inner) >= ts_node_start_byte(outer) && ts_node_end_byte(inner) <= ts_node_end_byte(outer);
}

std::vector<TSNode> Scopes(const CompiledQuery& q, const ParsedFile& file) {
  std::vector<TSNode> out;
  for (const auto& m : q.Run(file)) {
    auto it = m.captures.find("scope");
    if (it != m.captures.end()) out.push_back(it->second);
  }
  return out;
}

}  // namespace

Result<DetectorIndex> BuildDetectorIndex(const std::vector<Detector>& detectors, const std::vector<KindRule>& kinds) {
  DetectorIndex index;
  index.detector_count = detectors.size();
  auto text_of = [&](size_t i) -> const std::string& {
    return i < detectors.size() ? detectors[i].query_text : kinds[i - detectors.size()].query_text;
  };
  auto name_of = [&](size_t i) {
    return i < detectors.size()
               ? "detector '" + detectors[i].id + "' (" + detectors[i].origin + ")"
               : "kind rule '" + kinds[i - detectors.size()].id + "' (" + kinds[i - detectors.size()].origin + ")";
  };
  // One combined query per language. ts_query_new's analysis dominates loading the rules (about a
  // second for the TypeScript grammar alone), so the four languages compile on their own threads.
  const Lang langs[] = {Lang::kJavaScript, Lang::kTypeScript, Lang::kTsx, Lang::kPython};
  struct Job {
    std::string source;
    std::vector<std::pair<uint32_t, size_t>> starts;  // byte offset where rule i's text begins
    Result<std::unique_ptr<CompiledQuery>> query = Status::Failed("not compiled");
  };
  std::vector<Job> jobs(std::size(langs));
  for (size_t l = 0; l < jobs.size(); ++l) {
    for (size_t i = 0; i < detectors.size() + kinds.size(); ++i) {
      bool applies = i < detectors.size() ? detectors[i].compiled.count(langs[l]) > 0
                                          : std::count(kinds[i - detectors.size()].langs.begin(),
                                                       kinds[i - detectors.size()].langs.end(), langs[l]) > 0;
      if (!applies) continue;
      jobs[l].starts.emplace_back(static_cast<uint32_t>(jobs[l].source.size()), i);
      jobs[l].source += text_of(i);
      jobs[l].source += "\n";
    }
  }
  {
    std::vector<std::thread> threads;
    for (size_t l = 0; l < jobs.size(); ++l)
      if (!jobs[l].starts.empty())
        threads.emplace_back(
            [&, l] { jobs[l].query = CompiledQuery::Compile(langs[l], jobs[l].source, /*allow_kinds=*/true); });
    for (auto& t : threads) t.join();
  }
  for (size_t l = 0; l < jobs.size(); ++l) {
    Job& job = jobs[l];
    if (job.starts.empty()) continue;
    if (!job.query.ok()) {
      for (const auto& [at, i] : job.starts) {
        auto alone = CompiledQuery::Compile(langs[l], text_of(i), /*allow_kinds=*/true);
        if (!alone.ok()) return alone.status().Wrap(name_of(i) + " query");
      }
      return job.query.status().Wrap("cannot combine the " + std::string(LangName(langs[l])) + " detectors");
    }
    DetectorIndex::PerLang per;
    per.combined = std::move(job.query).value();
    for (uint32_t p = 0; p < per.combined->PatternCount(); ++p) {
      uint32_t at = per.combined->PatternStartByte(p);
      auto it = std::upper_bound(job.starts.begin(), job.starts.end(), std::make_pair(at, SIZE_MAX));
      per.pattern_detector.push_back(std::prev(it)->second);
    }
    index.langs.emplace(langs[l], std::move(per));
  }
  return index;
}

FileDetection RunDetectors(const std::vector<Detector>& detectors, const std::vector<KindRule>& kinds,
                           const DetectorIndex& index, const ParsedFile& file) {
  FileDetection out;
  auto per = index.langs.find(file.lang());
  if (per == index.langs.end()) return out;
  // One pass over the tree; group the matches by detector (kind rules after the detectors).
  std::map<size_t, std::vector<CompiledQuery::Match>> by_detector;
  for (auto& m : per->second.combined->Run(file))
    by_detector[per->second.pattern_detector[m.pattern]].push_back(std::move(m));
  if (by_detector.empty()) return out;

  std::set<std::tuple<std::string, std::string, int>> seen;
  const auto& imports = file.Imports();
  // Whether a missing import may still come through a project file (checked project-wide).
  bool has_imports = !imports.empty();
  for (auto& [di, matches] : by_detector) {
    if (di >= detectors.size()) {
      const KindRule& k = kinds[di - detectors.size()];
      if (!PathsSelected(k.paths_include, k.paths_exclude, file.rel())) continue;
      if (!k.imports.empty() && !ImportsAny(k.imports, imports)) continue;
      for (const auto& m : matches) {
        auto v = m.captures.find("value");
        if (v != m.captures.end()) out.kind_hits.push_back({v->second, &k});
      }
      continue;
    }
    const Detector& d = detectors[di];
    auto it = d.compiled.find(file.lang());
    if (it == d.compiled.end()) continue;
    if (!PathSelected(d, file.rel())) continue;
    bool import_deferred = false;
    if (!d.imports.empty() && !ImportsAny(d.imports, imports)) {
      if (!has_imports) continue;
      import_deferred = true;  // e.g. `from app.server import sio`: app/server.py may import socketio
    }
    const Detector::Compiled& c = it->second;
    if (c.file_has && c.file_has->Run(file).empty()) continue;
    if (c.file_lacks && !c.file_lacks->Run(file).empty()) continue;
    std::vector<TSNode> inside, not_inside;
    if (c.inside) inside = Scopes(*c.inside, file);
    if (c.not_inside) not_inside = Scopes(*c.not_inside, file);
    if (c.inside && inside.empty()) continue;
    for (const auto& m : matches) {
      if (m.captures.empty()) continue;
      auto hit = m.captures.find("hit");
      TSNode node = hit != m.captures.end() ? hit->second : m.captures.begin()->second;
      if (c.inside && std::none_of(inside.begin(), inside.end(), [&](TSNode s) { return Within(node, s); })) continue;
      if (std::any_of(not_inside.begin(), not_inside.end(), [&](TSNode s) { return Within(node, s); })) continue;
      Fact f;
      f.name = d.fact;
      f.value = d.value;
      if (!f.value.empty() && f.value[0] == '$') {
        auto cap = m.captures.find(f.value.substr(1));
        f.value = cap != m.captures.end() ? Unquoted(file.NodeText(cap->second)) : "";
      }
      f.file = file.rel();
      f.line = static_cast<int>(ts_node_start_point(node).row) + 1;
      f.excerpt = MakeStatementExcerpt(file.text(), ts_node_start_byte(node), ts_node_end_byte(node));
      f.detector = d.id;
      if (m.kind_checks.empty() && !import_deferred) {
        if (seen.insert({d.id + "\x1f" + f.value, f.name, f.line}).second) out.facts.push_back(std::move(f));
        continue;
      }
      DeferredFact df;
      df.fact = std::move(f);
      for (const auto& check : m.kind_checks) {
        KindProbe p = ProbeFor(file, check.node);
        p.kind = check.kind;
        p.negate = check.negate;
        df.probes.push_back(std::move(p));
      }
      if (import_deferred) df.needs_import = d.imports;
      out.deferred.push_back(std::move(df));
    }
  }
  std::stable_sort(out.facts.begin(), out.facts.end(), [](const Fact& a, const Fact& b) { return a.line < b.line; });
  return out;
}

}  // namespace dsx::audit
