#include <doctest/doctest.h>
#include <algorithm>
#include <string>

#include "audit/report/report.hpp"

using namespace dsx::audit;

namespace {

Report Sample(Source source, Verdict rd, Verdict stop) {
  Report r;
  r.source = source;
  r.target = source == Source::kStatic ? "/repo" : "http://127.0.0.1:3000/api/chat";
  for (auto id : {kResilientDelivery, kContinuity, kLiveControl}) {
    Capability c;
    c.id = std::string(id);
    c.verdict = id == kResilientDelivery ? rd : Verdict::kPartial;
    c.score = id == kResilientDelivery ? (rd == Verdict::kYes ? 100 : 10) : 50;
    c.derivation = "test";
    if (id == kLiveControl) {
      for (auto p : {kStop, kDistinguish, kSteer}) {
        Assessment a;
        a.id = std::string(p);
        a.verdict = p == kStop ? stop : Verdict::kNo;
        c.parts.push_back(a);
      }
    }
    r.capabilities.push_back(c);
  }
  r.failure_modes.push_back({"single_connection_trap",
                             "Single-connection trap",
                             "high",
                             "msg",
                             "FM-SCT-001",
                             {"resilient_delivery"},
                             {{"app/api/chat/route.ts", 7, "streamText({", "server.llm_stream"}},
                             {}});
  return r;
}

}  // namespace

TEST_CASE("verdict and format names round-trip; bad names are usage errors") {
  CHECK(VerdictName(Verdict::kPartial) == "partial");
  CHECK(*ParseVerdict("yes") == Verdict::kYes);
  CHECK(ParseVerdict("maybe").status().code() == dsx::Code::kUsage);
  CHECK(*ParseFormat("sarif") == Format::kSarif);
  CHECK_FALSE(ParseFormat("xml").ok());
}

TEST_CASE("json: the documented shape") {
  auto j = ToJson(Compare(Sample(Source::kStatic, Verdict::kNo, Verdict::kPartial), std::nullopt));
  CHECK(j["schema"] == "dsx/audit-report@1");
  CHECK(j["source"] == "static");
  CHECK(j["capabilities"]["resilient_delivery"]["verdict"] == "no");
  CHECK(j["capabilities"]["resilient_delivery"]["score"] == 10);
  CHECK(j["capabilities"]["live_control"]["stop"]["verdict"] == "partial");
  CHECK(j["capabilities"]["live_control"]["distinguish"]["verdict"] == "no");
  CHECK(j["failure_modes"][0]["id"] == "single_connection_trap");
  CHECK(j["failure_modes"][0]["evidence"][0]["line"] == 7);
  CHECK(j["score"] == 37);  // (10 + 50 + 50) / 3 rounded
}

TEST_CASE("compare: the lower verdict wins and disagreements are named") {
  auto c =
      Compare(Sample(Source::kStatic, Verdict::kYes, Verdict::kYes), Sample(Source::kLive, Verdict::kNo, Verdict::kNo));
  CHECK(c.merged.Find("resilient_delivery")->verdict == Verdict::kNo);
  CHECK(c.merged.Find("resilient_delivery")->score == 10);
  CHECK(c.merged.Find("live_control")->Part("stop")->verdict == Verdict::kNo);
  REQUIRE(c.disagreements.size() == 2);
  CHECK(c.disagreements[0].what == "resilient_delivery");
  CHECK(c.disagreements[1].what == "live_control.stop");
  auto j = ToJson(c);
  CHECK(j["source"] == "both");
  CHECK(j["static"]["capabilities"]["resilient_delivery"]["verdict"] == "yes");
  CHECK(j["live"]["capabilities"]["resilient_delivery"]["verdict"] == "no");
  CHECK(j["failure_modes"].size() == 1);  // same id from both sides: merged
  std::string text = RenderText(c, {});
  CHECK(text.find("DISAGREE live_control.stop") != std::string::npos);
}

TEST_CASE("sarif 2.1.0: rules, results with locations, verdicts in run properties") {
  auto s = RenderSarif(Compare(Sample(Source::kStatic, Verdict::kNo, Verdict::kNo), std::nullopt), {});
  CHECK(s["version"] == "2.1.0");
  const auto& run = s["runs"][0];
  CHECK(run["tool"]["driver"]["name"] == "dsx audit");
  CHECK(run["tool"]["driver"]["rules"][0]["id"] == "single_connection_trap");
  CHECK(run["results"][0]["level"] == "error");
  CHECK(run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 7);
  CHECK(run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%");
  CHECK(run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///repo/");
  CHECK(run["properties"]["capabilities"]["live_control"]["stop"] == "no");
  // every result's ruleIndex points at its rule
  for (const auto& r : run["results"])
    CHECK(run["tool"]["driver"]["rules"][r["ruleIndex"].get<int>()]["id"] == r["ruleId"]);
}

TEST_CASE("markdown has a row per capability and part") {
  std::string md = RenderMarkdown(Compare(Sample(Source::kStatic, Verdict::kNo, Verdict::kNo), std::nullopt), {});
  CHECK(md.find("| Resilient delivery | **no** | 10 |") != std::string::npos);
  CHECK(md.find("| ↳ stop | no |") != std::string::npos);
  CHECK(md.find("`app/api/chat/route.ts:7`") != std::string::npos);
}

namespace {

// What the static audit reports when it recognises no streaming AI code.
Report Undetermined() {
  Report r = Sample(Source::kStatic, Verdict::kNo, Verdict::kNo);
  r.failure_modes.clear();
  for (auto& c : r.capabilities) {
    c.verdict = Verdict::kUndetermined;
    c.score = 0;
    c.derivation = "undetermined: no streaming AI code was recognised";
    for (auto& p : c.parts) p.verdict = Verdict::kUndetermined;
  }
  r.notes.push_back("undetermined: no streaming AI code was recognised");
  return r;
}

}  // namespace

TEST_CASE("undetermined: no score anywhere (JSON null, text '-', markdown '-'), no capability findings in SARIF") {
  Comparison c = Compare(Undetermined(), std::nullopt);
  CHECK_FALSE(c.merged.HasScore());
  auto j = ToJson(c);
  CHECK(j["score"].is_null());
  CHECK(j["capabilities"]["resilient_delivery"]["verdict"] == "undetermined");
  CHECK(j["capabilities"]["resilient_delivery"]["score"].is_null());
  CHECK(j["capabilities"]["live_control"]["stop"]["verdict"] == "undetermined");
  RenderOptions gate;
  gate.fail_under = 60;
  std::string text = RenderText(c, gate);
  CHECK(text.find("overall score: none (nothing to score)  (fails --fail-under 60: nothing to score)") !=
        std::string::npos);
  CHECK(text.find("Resilient delivery: undetermined  -\n") != std::string::npos);
  CHECK(text.find("failure modes: not judged") != std::string::npos);
  std::string md = RenderMarkdown(c, {});
  CHECK(md.find("| Resilient delivery | **undetermined** | - |") != std::string::npos);
  auto sarif = RenderSarif(c, {});
  CHECK(sarif["runs"][0]["results"].empty());
  CHECK(sarif["runs"][0]["properties"]["score"].is_null());
  CHECK(sarif["runs"][0]["properties"]["capabilities"]["continuity"]["verdict"] == "undetermined");
}

TEST_CASE("undetermined: the overall score averages only the capabilities that were judged") {
  Report r = Sample(Source::kStatic, Verdict::kNo, Verdict::kNo);  // 10, 50, 50
  r.capabilities[0].verdict = Verdict::kUndetermined;
  CHECK(r.HasScore());
  CHECK(r.OverallScore() == 50);
}

TEST_CASE("compare: an undetermined static side takes the live verdict, and says why they differ") {
  auto c = Compare(Undetermined(), Sample(Source::kLive, Verdict::kYes, Verdict::kYes));
  CHECK(c.merged.Find("resilient_delivery")->verdict == Verdict::kYes);
  CHECK(c.merged.Find("resilient_delivery")->score == 100);
  CHECK(c.merged.Find("live_control")->Part("stop")->verdict == Verdict::kYes);
  CHECK(c.merged.HasScore());
  REQUIRE_FALSE(c.disagreements.empty());
  CHECK(c.disagreements[0].note.find("recognised no streaming AI code") != std::string::npos);
  // and the other way round: a live verdict is never replaced by an undetermined one
  Report live = Undetermined();
  live.source = Source::kLive;
  auto d = Compare(Sample(Source::kStatic, Verdict::kPartial, Verdict::kNo), live);
  CHECK(d.merged.Find("resilient_delivery")->verdict == Verdict::kPartial);
}

TEST_CASE("partial parses: their own JSON list and text section, not 'could not read'") {
  Report r = Sample(Source::kStatic, Verdict::kNo, Verdict::kNo);
  for (int i = 1; i <= 12; ++i) r.partial.push_back({"app/page" + std::to_string(i) + ".tsx", i * 10});
  auto j = ToJson(Compare(r, std::nullopt));
  REQUIRE(j["partial_parses"].size() == 12);
  CHECK(j["partial_parses"][0]["path"] == "app/page1.tsx");
  CHECK(j["partial_parses"][0]["line"] == 10);
  CHECK(j["skipped"].empty());
  CHECK(j["stats"]["files_partial"] == 12);
  std::string text = RenderText(Compare(r, std::nullopt), {});
  CHECK(text.find("parsed with syntax errors, still checked (12):\n  app/page1.tsx:10\n") != std::string::npos);
  CHECK(text.find("  app/page10.tsx:100\n  ... and 2 more (see --json)\n") != std::string::npos);  // ten shown
  CHECK(text.find("could not read") == std::string::npos);
}

TEST_CASE("issue 18: every list in text and markdown is bounded: count, the first ten, '... and N more (see --json)'") {
  Report r = Sample(Source::kStatic, Verdict::kNo, Verdict::kNo);
  for (int i = 0; i < 5000; ++i) r.skipped.push_back({"gen/blob" + std::to_string(i) + ".ts", "binary file; not parsed"});
  for (int i = 0; i < 40; ++i) r.stacks.push_back("stack" + std::to_string(i));
  MigrationStep step;
  step.number = 1;
  step.id = "redirect_agents";
  step.title = "Redirect agents";
  step.status = "todo";
  step.action = "do it";
  for (int i = 0; i < 3000; ++i) step.files.push_back("app/api/r" + std::to_string(i) + "/route.ts");
  r.migration.push_back(step);
  for (int i = 0; i < 500; ++i)
    r.failure_modes[0].evidence.push_back({"app/r" + std::to_string(i) + ".ts", 3, "streamText({", "server.llm_stream"});
  Comparison c = Compare(r, std::nullopt);
  for (const std::string& out : {RenderText(c, {}), RenderMarkdown(c, {})}) {
    CHECK(out.size() < 12000);
    size_t longest = 0;
    for (size_t at = 0, nl; at < out.size(); at = nl + 1) {
      nl = out.find('\n', at);
      if (nl == std::string::npos) nl = out.size();
      longest = std::max(longest, nl - at);
    }
    CHECK(longest < 1200);
    CHECK(out.find("... and 4990 more (see --json)") != std::string::npos);  // not read
    CHECK(out.find("... and 2990 more (see --json)") != std::string::npos);  // the step's files
    CHECK(out.find("... and 30 more (see --json)") != std::string::npos);    // stacks
    CHECK(out.find("... and 495 more (see --json)") != std::string::npos);   // evidence (six shown)
    CHECK(out.find("gen/blob9.ts") != std::string::npos);
    CHECK(out.find("gen/blob10.ts") == std::string::npos);
  }
  CHECK(RenderText(c, {}).find("files (3000): app/api/r0/route.ts") != std::string::npos);
  auto j = ToJson(c);  // JSON keeps everything
  CHECK(j["skipped"].size() == 5000);
  CHECK(j["migration_plan"][0]["files"].size() == 3000);
  CHECK(j["failure_modes"][0]["evidence"].size() == 501);
}
