// The static audit pipeline; see static_audit.hpp.
#include "audit/static_audit.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <tuple>
#include <thread>

#include "audit/static/evidence_scope.hpp"
#include "audit/static/manifests.hpp"
#include "audit/static/parse_repair.hpp"
#include "audit/static/script_blocks.hpp"
#include "audit/static/syntax.hpp"
#include "core/fs.hpp"

#ifndef DSX_AUDIT_RULES_DIR
#define DSX_AUDIT_RULES_DIR ""
#endif

namespace dsx::audit {

namespace stdfs = std::filesystem;

Result<std::unique_ptr<RuleSet>> LoadRuleSet(const stdfs::path& dir) {
  auto rules = std::make_unique<RuleSet>();
  rules->dir = dir;
  DSX_RETURN_IF_ERROR(LoadDetectors(dir / "detectors", rules->detectors, rules->packages, rules->kinds));
  auto index = BuildDetectorIndex(rules->detectors, rules->kinds);
  if (!index.ok()) return index.status();
  rules->index = std::move(index).value();
  auto cap = LoadCapabilityRules(dir / "capabilities");
  if (!cap.ok()) return cap.status();
  rules->capability = std::move(cap).value();
  return rules;
}

Result<stdfs::path> FindRulesDir(const std::string& flag, const stdfs::path& exe) {
  auto usable = [](const stdfs::path& p) {
    std::error_code ec;
    return stdfs::is_directory(p / "detectors", ec) && stdfs::is_directory(p / "capabilities", ec);
  };
  if (!flag.empty()) {
    if (usable(flag)) return stdfs::path(flag);
    return Status::NotFound("cannot use rules folder '" + flag + "': it needs detectors/ and capabilities/");
  }
  std::vector<stdfs::path> tried;
  if (const char* env = std::getenv("DSX_AUDIT_RULES"); env && *env) tried.emplace_back(env);
  std::error_code ec;
  stdfs::path bin = stdfs::weakly_canonical(exe, ec).parent_path();
  if (!bin.empty()) {
    tried.push_back(bin / ".." / "share" / "dsx" / "audit");
    tried.push_back(bin / ".." / ".." / "configs" / "audit");
  }
  if (*DSX_AUDIT_RULES_DIR) tried.emplace_back(DSX_AUDIT_RULES_DIR);
  std::string list;
  for (const auto& p : tried) {
    if (usable(p)) return stdfs::weakly_canonical(p, ec);
    list += (list.empty() ? "" : ", ") + p.string();
  }
  return Status::NotFound("cannot find the audit rules (tried " + list + "); pass --rules DIR or set DSX_AUDIT_RULES");
}

FileScan ScanFile(const RuleSet& rules, const SourceFile& file) {
  FileScan scan;
  scan.rel = file.rel;
  auto text = dsx::fs::ReadFile(file.path);
  if (!text.ok()) {
    scan.error = "cannot read: " + text.status().message();
    return scan;
  }
  // Binary: a NUL byte in the first 8 KiB (what git and grep use).
  std::string_view head(text->data(), std::min<size_t>(text->size(), 8192));
  if (head.find('\0') != std::string_view::npos) {
    scan.error = "binary file; not parsed";
    return scan;
  }
  // .svelte/.vue: only the <script> blocks are code; blanking the markup keeps every line in place.
  if (IsComponentFile(file.rel)) *text = ExtractScriptBlocks(*text);
  auto parsed = ParsedFile::Parse(file.lang, file.rel, std::move(text).value());
  if (!parsed.ok()) {
    scan.error = parsed.status().message();
    return scan;
  }
  // Known grammar gaps (a bare '&' in JSX text, `import("m").T` types) made whole files "syntax
  // errors": repair those rows and keep the second parse when it has fewer errors.
  ParseErrors errors = FindParseErrors(**parsed);
  // First the conservative repair; when it does not help, the aggressive one ('&&' in JSX text).
  for (int attempt = 0; attempt < 3 && errors.count > 0; ++attempt) {
    bool improved = false;
    for (bool aggressive : {false, true}) {
      std::string repaired = (*parsed)->text();
      if (!RepairKnownGrammarGaps(file.lang, repaired, errors.rows, aggressive)) continue;
      auto again = ParsedFile::Parse(file.lang, file.rel, std::move(repaired));
      if (!again.ok()) continue;
      ParseErrors now = FindParseErrors(**again);
      if (now.count >= errors.count) continue;
      parsed = std::move(again);
      errors = std::move(now);
      improved = true;
      break;
    }
    if (!improved) break;
  }
  const ParsedFile& pf = **parsed;
  if (errors.count > 0) {
    scan.syntax_errors = true;
    scan.first_error_line = errors.rows.empty() ? 1 : errors.rows.front() + 1;
  }
  FileDetection found = RunDetectors(rules.detectors, rules.kinds, rules.index, pf);
  scan.facts = std::move(found.facts);
  scan.deferred = std::move(found.deferred);
  scan.symbols = std::make_shared<const FileSymbols>(Summarize(pf, found.kind_hits));
  return scan;
}

void ResolveDeferred(std::vector<FileScan>& scans, const std::vector<std::string>& package_dirs) {
  bool any = false;
  for (const auto& s : scans) any = any || !s.deferred.empty();
  if (!any) return;
  std::vector<std::shared_ptr<const FileSymbols>> files;
  for (const auto& s : scans)
    if (s.symbols) files.push_back(s.symbols);
  ProjectSymbols project(std::move(files), package_dirs);
  for (auto& s : scans) {
    if (s.deferred.empty()) continue;
    std::set<std::tuple<std::string, std::string, int>> seen;
    for (const auto& f : s.facts) seen.insert({f.detector + "\x1f" + f.value, f.name, f.line});
    bool added = false;
    for (auto& d : s.deferred) {
      bool holds =
          std::all_of(d.probes.begin(), d.probes.end(), [&](const KindProbe& p) { return project.Holds(s.rel, p); });
      if (holds && !d.needs_import.empty()) {
        holds = false;
        auto have = project.EffectiveImports(s.rel);
        for (const auto& want : d.needs_import)
          for (const auto& h : have)
            if (ImportMatches(h, want)) holds = true;
      }
      if (!holds) continue;
      if (!seen.insert({d.fact.detector + "\x1f" + d.fact.value, d.fact.name, d.fact.line}).second) continue;
      s.facts.push_back(std::move(d.fact));
      added = true;
    }
    s.deferred.clear();
    if (added)
      std::stable_sort(s.facts.begin(), s.facts.end(), [](const Fact& a, const Fact& b) { return a.line < b.line; });
  }
}

namespace {

// The root-most manifest (package.json first), else the root-most source file: where SARIF
// anchors a finding that has no source line of its own.
std::string ProjectFile(const std::vector<SourceFile>& files) {
  auto rank = [](const SourceFile& f) {
    size_t depth = static_cast<size_t>(std::count(f.rel.begin(), f.rel.end(), '/'));
    std::string_view name = std::string_view(f.rel).substr(f.rel.rfind('/') == std::string::npos ? 0 : f.rel.rfind('/') + 1);
    int kind = !f.manifest ? 4 : name == "package.json" ? 0 : name == "pyproject.toml" ? 1 : name == "package-lock.json" ? 3 : 2;
    return std::make_tuple(kind == 4, depth, kind, f.rel);
  };
  const SourceFile* best = nullptr;
  for (const auto& f : files)
    if (!best || rank(f) < rank(*best)) best = &f;
  return best ? best->rel : std::string();
}

}  // namespace

Result<Report> RunStaticAudit(const RuleSet& rules, const StaticAuditOptions& options, Facts* facts_out) {
  auto t0 = std::chrono::steady_clock::now();
  AuditProgress* progress = options.progress;
  WalkOptions walk_options = options.walk;
  if (progress) {
    progress->Phase("finding files", 0);
    walk_options.on_found = [progress](size_t n) { progress->Advance(n); };
  }
  auto walked = WalkSources(options.root, walk_options);
  if (!walked.ok()) {
    if (progress) progress->Finish();
    return walked.status();
  }
  WalkResult& walk = *walked;

  Report report;
  report.source = Source::kStatic;
  report.target = options.root.string();
  report.skipped = std::move(walk.skipped);

  std::vector<const SourceFile*> sources, manifests;
  for (const auto& f : walk.files) (f.manifest ? manifests : sources).push_back(&f);

  // Parse in parallel: each worker takes the next file index; results land in their own slot, so
  // the output order (and so the report) does not depend on scheduling.
  std::vector<FileScan> scans(sources.size());
  std::atomic<size_t> next{0};
  std::atomic<size_t> parsed{0};
  if (progress) progress->Phase("parsing", sources.size());
  unsigned n = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  n = std::min<unsigned>(n, static_cast<unsigned>(std::max<size_t>(1, sources.size())));
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < sources.size();) {
      try {
        scans[i] = ScanFile(rules, *sources[i]);
      } catch (const std::exception& e) {  // e.g. std::bad_alloc on a pathological file
        scans[i].rel = sources[i]->rel;
        scans[i].error = std::string("internal error while scanning: ") + e.what();
      }
      if (progress) progress->Advance(parsed.fetch_add(1) + 1);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();

  if (progress) progress->Phase("scoring", 0);
  std::vector<std::string> package_dirs;
  for (const SourceFile* m : manifests) {
    std::string_view rel = m->rel;
    size_t slash = rel.rfind('/');
    if (rel.substr(slash == std::string_view::npos ? 0 : slash + 1) == "package.json")
      package_dirs.emplace_back(slash == std::string_view::npos ? "" : rel.substr(0, slash));
  }
  ResolveDeferred(scans, package_dirs);

  Facts facts;
  std::set<std::string> stacks;
  std::map<std::string, std::string> stack_of;
  for (const auto& d : rules.detectors)
    if (!d.stack.empty()) stack_of[d.id] = d.stack;
  for (auto& s : scans) {
    if (!s.error.empty()) {
      report.skipped.push_back({s.rel, s.error});
      continue;
    }
    ++report.stats.files_parsed;
    // Checked all the same (detectors ran over the tree, errors and all): partial, not skipped.
    if (s.syntax_errors) report.partial.push_back({s.rel, s.first_error_line});
    for (auto& f : s.facts) {
      if (!options.include_tests && IsNonProductPath(f.file)) continue;  // tests prove nothing about the app
      auto it = stack_of.find(f.detector);
      if (it != stack_of.end()) stacks.insert(it->second);
      facts.push_back(std::move(f));
    }
  }
  std::vector<Dependency> deps;
  for (const SourceFile* m : manifests) {
    auto text = dsx::fs::ReadFile(m->path);
    if (!text.ok()) {
      report.skipped.push_back({m->rel, "cannot read: " + text.status().message()});
      continue;
    }
    auto parsed = ParseManifest(m->rel, *text);
    if (!parsed.ok()) {
      report.skipped.push_back({m->rel, parsed.status().message()});
      continue;
    }
    deps.insert(deps.end(), parsed->begin(), parsed->end());
  }
  Facts pkg = PackageFacts(rules.packages, deps);
  facts.insert(facts.end(), pkg.begin(), pkg.end());

  Evaluate(rules.capability, facts, report);
  report.stacks.assign(stacks.begin(), stacks.end());
  report.properties["rules"] = rules.dir.string();
  report.stats.files_seen = static_cast<int>(walk.files.size());
  report.stats.files_skipped = static_cast<int>(report.skipped.size());
  report.stats.facts = static_cast<int>(facts.size());
  report.project_file = ProjectFile(walk.files);
  report.stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (progress) progress->Finish();
  if (facts_out) *facts_out = std::move(facts);
  return report;
}

}  // namespace dsx::audit
