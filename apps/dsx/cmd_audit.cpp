// dsx audit: score an AI app's streaming on resilient delivery, continuity and live control.
//   dsx audit [PATH] [--format text|markdown|json|sarif] [--fail-under SCORE] ...   static audit
//   dsx audit rules test|list                                                       the rule set
// The live probe (--url, mock-llm) is added by register_audit_probe (audit_probe.cpp) and reaches
// this file through audit::SetLiveAudit (lib/audit/live_hook.hpp). See man/dsx-audit.1.
#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "audit/live_hook.hpp"
#include "audit/report/report.hpp"
#include "audit/rule_test.hpp"
#include "audit/static_audit.hpp"
#include "cli.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"
#include "commands.hpp"
#include "version.hpp"

namespace dsx::cmd {

namespace {

namespace stdfs = std::filesystem;

struct AuditFlags {
  std::string path;
  std::string format = "text";
  bool json = false;
  int fail_under = -1;
  std::string rules;
  double max_file_mb = 2.0;
  bool no_gitignore = false;
  unsigned threads = 0;
  bool facts = false;
  bool include_tests = false;
};

stdfs::path SelfExe() {
  std::error_code ec;
  auto p = stdfs::read_symlink("/proc/self/exe", ec);
  return ec ? stdfs::path() : p;
}

Result<std::unique_ptr<audit::RuleSet>> Rules(const std::string& flag) {
  auto dir = audit::FindRulesDir(flag, SelfExe());
  if (!dir.ok()) return dir.status();
  auto rules = audit::LoadRuleSet(*dir);
  if (!rules.ok()) return rules.status().Wrap("cannot load audit rules from '" + dir->string() + "'");
  return rules;
}

void RunAudit(const AuditFlags& f) {
  auto format = audit::ParseFormat(f.json ? "json" : f.format);
  if (!format.ok()) return cli::Finish(format.status());
  if (f.fail_under > 100) return cli::Finish(Status::Usage("--fail-under must be 0-100"));

  std::optional<audit::Report> live;
  if (const auto& hook = audit::LiveAudit()) {
    auto r = hook();
    if (!r.ok()) return cli::Finish(r.status());
    live = std::move(r).value();
  }
  std::optional<audit::Report> stat;
  audit::Facts facts;
  if (!live || !f.path.empty()) {
    auto rules = Rules(f.rules);
    if (!rules.ok()) return cli::Finish(rules.status());
    audit::StaticAuditOptions opts;
    opts.root = f.path.empty() ? "." : f.path;
    opts.walk.max_file_bytes = static_cast<std::uintmax_t>(f.max_file_mb * 1024 * 1024);
    opts.walk.use_gitignore = !f.no_gitignore;
    opts.threads = f.threads;
    opts.include_tests = f.include_tests;
    // Progress only for a person watching: stderr a terminal and no -q/--quiet (the global flag,
    // cli::Quiet(); man dsx-audit).
    std::unique_ptr<audit::ProgressLine> progress;
    if (!cli::Quiet() && cli::StderrIsTty()) {
      progress = std::make_unique<audit::ProgressLine>(
          [](std::string_view s) {
            std::fwrite(s.data(), 1, s.size(), stderr);
            std::fflush(stderr);
          },
          Clock::System());
      opts.progress = progress.get();
    }
    auto report = audit::RunStaticAudit(**rules, opts, f.facts ? &facts : nullptr);
    if (!report.ok()) return cli::Finish(report.status());
    stat = std::move(report).value();
  }
  if (f.facts) {  // debugging the rules: the raw facts, one per line
    for (const auto& x : facts)
      std::printf("%s:%d: %s%s%s  [%s]\n", x.file.c_str(), x.line, x.name.c_str(), x.value.empty() ? "" : "=",
                  x.value.c_str(), x.detector.c_str());
    return cli::SetExit(0);
  }
  audit::Comparison cmp = audit::Compare(std::move(stat), std::move(live));
  audit::RenderOptions ro;
  ro.color = *format == audit::Format::kText && cli::StdoutIsTty() && cli::Env("NO_COLOR").empty();
  ro.fail_under = f.fail_under;
  ro.tool_version = DSX_VERSION;
  if (stat && *format == audit::Format::kSarif) {
    // SARIF names files relative to the audited folder (%SRCROOT%, an absolute file URI) and
    // shows each finding's exact line and the lines around it.
    std::error_code ec;
    stdfs::path root = stdfs::absolute(f.path.empty() ? "." : f.path, ec).lexically_normal();
    if (!ec && !stdfs::is_directory(root, ec)) root = root.parent_path();
    if (!ec) {
      std::string r = root.string();
      if (r.size() > 1 && r.back() == '/') r.pop_back();
      ro.source_root = r;
      ro.read_source = [root](const std::string& rel) -> std::optional<std::string> {
        auto text = dsx::fs::ReadFile(root / rel, std::size_t{64} << 20);
        if (!text.ok()) return std::nullopt;
        return std::move(text).value();
      };
    }
  }
  std::string out = audit::Render(cmp, *format, ro);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  // Undetermined (no streaming AI code recognised) cannot pass a gate: a CI job pointed at the
  // wrong folder, or at a stack the detectors do not read, must not go green on "nothing found".
  if (f.fail_under >= 0 && !cmp.merged.HasScore()) {
    std::fprintf(stderr,
                 "dsx: audit has nothing to score (no streaming AI code was recognised); --fail-under %d fails\n",
                 f.fail_under);
    return cli::SetExit(1);
  }
  int score = cmp.merged.OverallScore();
  if (f.fail_under >= 0 && score < f.fail_under) {
    std::fprintf(stderr, "dsx: audit score %d is below --fail-under %d\n", score, f.fail_under);
    return cli::SetExit(1);
  }
  cli::SetExit(0);
}

void RunRulesTest(const std::string& rules_flag, const std::string& fixtures, bool json) {
  auto rules = Rules(rules_flag);
  if (!rules.ok()) return cli::Finish(rules.status());
  stdfs::path dir = fixtures.empty() ? (*rules)->dir / "detectors" / "fixtures" : stdfs::path(fixtures);
  auto result = audit::RunRuleTests(**rules, dir);
  if (!result.ok()) return cli::Finish(result.status());
  if (json) {
    cli::PrintJson({{"ok", result->ok()},
                    {"detectors", (*rules)->detectors.size()},
                    {"files", result->files},
                    {"checks", result->checks},
                    {"failures", result->failures},
                    {"untested", result->untested}});
  } else {
    for (const auto& fl : result->failures) std::printf("FAIL %s\n", fl.c_str());
    for (const auto& u : result->untested) std::printf("FAIL detector '%s' has no ruleid fixture\n", u.c_str());
    std::printf("%zu detectors, %d fixture files, %d checks, %zu failures, %zu untested\n", (*rules)->detectors.size(),
                result->files, result->checks, result->failures.size(), result->untested.size());
  }
  cli::SetExit(result->ok() ? 0 : 1);
}

void RunRulesList(const std::string& rules_flag, bool json) {
  auto rules = Rules(rules_flag);
  if (!rules.ok()) return cli::Finish(rules.status());
  const auto& r = **rules;
  if (json) {
    nlohmann::json j{{"dir", r.dir.string()}};
    for (const auto& d : r.detectors) {
      std::vector<std::string> langs;
      for (auto l : d.langs) langs.emplace_back(audit::LangName(l));
      j["detectors"].push_back({{"id", d.id},
                                {"fact", d.fact},
                                {"stack", d.stack},
                                {"file", d.origin},
                                {"languages", langs},
                                {"description", d.description}});
    }
    for (const auto& p : r.packages)
      j["packages"].push_back({{"id", p.id}, {"ecosystem", p.ecosystem}, {"name", p.name}, {"fact", p.fact}});
    for (const auto& fm : r.capability.failure_modes)
      j["failure_modes"].push_back({{"id", fm.id}, {"rule", fm.rule}, {"title", fm.title}, {"severity", fm.severity}});
    for (const auto& c : r.capability.capabilities) j["capabilities"].push_back(c.id);
    cli::PrintJson(j);
  } else {
    std::printf("rules: %s\n", r.dir.c_str());
    for (const auto& d : r.detectors) std::printf("detector %-44s -> %s\n", d.id.c_str(), d.fact.c_str());
    for (const auto& p : r.packages)
      std::printf("package  %-44s -> %s\n", (p.ecosystem + ":" + p.name).c_str(), p.fact.c_str());
    for (const auto& fm : r.capability.failure_modes)
      std::printf("failure  %-44s (%s, %s)\n", fm.id.c_str(), fm.rule.c_str(), fm.severity.c_str());
  }
  cli::SetExit(0);
}

}  // namespace

void register_audit(CLI::App& app) {
  auto* audit =
      app.add_subcommand("audit", "score an AI app's streaming: resilient delivery, continuity, live control");
  auto flags = std::make_shared<AuditFlags>();
  audit->add_option("path", flags->path, "repository or folder to audit statically (default: .)");
  audit->add_option("--format", flags->format, "output: text (default), markdown, json, sarif")
      ->check(CLI::IsMember({"text", "markdown", "md", "json", "sarif"}));
  audit->add_flag("--json", flags->json, "same as --format json");
  audit->add_option("--fail-under", flags->fail_under, "exit 1 when the overall score (0-100) is below SCORE")
      ->check(CLI::Range(0, 100));
  audit->add_option("--rules", flags->rules,
                    "rule folder with detectors/ and capabilities/ (default: the installed configs/audit)");
  audit->add_option("--max-file-mb", flags->max_file_mb, "skip source files larger than this, with a note (default 2)")
      ->check(CLI::PositiveNumber);
  audit->add_flag("--no-gitignore", flags->no_gitignore, "also read files that .gitignore excludes");
  audit->add_option("--threads", flags->threads, "parser threads (default: one per CPU)");
  audit->add_flag("--facts", flags->facts, "print the facts the detectors found instead of the report");
  audit->add_flag("--include-tests", flags->include_tests,
                  "also take evidence from tests, scripts, mocks and fixtures (excluded by default)");
  audit->require_subcommand(0, 1);
  audit->callback([audit, flags] {
    if (!audit->get_subcommands().empty()) return;  // `rules ...` or a probe subcommand ran
    RunAudit(*flags);
  });

  auto* rules = audit->add_subcommand("rules", "inspect and test the audit rule set");
  rules->require_subcommand(1);
  auto rules_dir = std::make_shared<std::string>();
  auto fixtures = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* test = rules->add_subcommand("test", "run every detector against its annotated fixtures (ruleid:/ok:)");
  test->add_option("--rules", *rules_dir, "rule folder (default: the installed configs/audit)");
  test->add_option("fixtures", *fixtures, "fixture folder (default: RULES/detectors/fixtures)");
  test->add_flag("--json", *json, "one JSON document");
  test->callback([rules_dir, fixtures, json] { RunRulesTest(*rules_dir, *fixtures, *json); });
  auto* list = rules->add_subcommand("list", "list detectors, package rules and failure modes");
  list->add_option("--rules", *rules_dir, "rule folder (default: the installed configs/audit)");
  list->add_flag("--json", *json, "one JSON document");
  list->callback([rules_dir, json] { RunRulesList(*rules_dir, *json); });

  register_audit_probe(*audit);
}

}  // namespace dsx::cmd
