// SARIF that code-scanning services accept (issue 18): percent-encoded URIs, a file:/// %SRCROOT%
// ending in '/', a location on every result, documentation URIs, automationDetails. The whole
// log is also run through @microsoft/sarif-multitool by tests/audit/sarif.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "audit/report/report.hpp"
#include "audit/report/uri.hpp"

using namespace dsx::audit;

namespace {

Capability Cap(std::string_view id, Verdict v, int score) {
  Capability c;
  c.id = std::string(id);
  c.verdict = v;
  c.score = score;
  c.derivation = "test";
  return c;
}

// A static report on a tree whose paths have a space and non-ASCII, a "no" capability without
// evidence of its own, and one capped by a failure mode.
Report Spaced() {
  Report r;
  r.target = "/home/me/my app/é";
  r.project_file = "package.json";
  r.capabilities.push_back(Cap(kResilientDelivery, Verdict::kNo, 10));
  r.capabilities.back().caps.push_back("capped at 10 by single_connection_trap");
  r.capabilities.push_back(Cap(kContinuity, Verdict::kNo, 0));  // nothing found, no fix place
  r.capabilities.push_back(Cap(kLiveControl, Verdict::kYes, 100));
  r.failure_modes.push_back({"single_connection_trap",
                             "Single-connection trap",
                             "high",
                             "msg",
                             "FM-SCT-001",
                             {"resilient_delivery"},
                             {{"app/api/my chat/route.ts", 7, "streamText({", "server.llm_stream"},
                              {"app/é/page.tsx", 3, "useChat()", "client.chat_hook"},
                              {"GET http://127.0.0.1:3000/api/chat", 0, "dropped", "live.resume"}},
                             {}});
  return r;
}

}  // namespace

TEST_CASE("uri: paths are percent-encoded per RFC 3986 (UTF-8 bytes as %XX), '/' kept") {
  CHECK(PathToUriReference("app/api/chat/route.ts") == "app/api/chat/route.ts");
  CHECK(PathToUriReference("my app/é.ts") == "my%20app/%C3%A9.ts");
  CHECK(PathToUriReference("app/[id]/100%.ts") == "app/%5Bid%5D/100%25.ts");
  CHECK(PathToUriReference("c:x/a#b?c") == "c%3Ax/a%23b%3Fc");  // never a scheme, fragment or query
  CHECK(PathToUriReference("(group)/a+b@c") == "(group)/a+b@c");
  CHECK(DirectoryFileUri("/home/me/my app/é") == "file:///home/me/my%20app/%C3%A9/");
  CHECK(DirectoryFileUri("/repo/") == "file:///repo/");
  CHECK(DirectoryFileUri("relative/dir").empty());
  CHECK(IsUriReference("my%20app/%C3%A9.ts"));
  CHECK_FALSE(IsUriReference("my app/x.ts"));
  CHECK_FALSE(IsUriReference("bad%2"));
  CHECK_FALSE(IsUriReference("\xc3\xa9"));
}

TEST_CASE("sarif: encoded URIs and %SRCROOT% for a root with a space and non-ASCII") {
  auto s = RenderSarif(Compare(Spaced(), std::nullopt), {});
  const auto& run = s["runs"][0];
  CHECK(run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///home/me/my%20app/%C3%A9/");
  const auto& sct = run["results"][0];
  CHECK(sct["ruleId"] == "single_connection_trap");
  // One primary location; the other source evidence is related; live evidence (line 0) is neither.
  REQUIRE(sct["locations"].size() == 1);
  CHECK(sct["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/api/my%20chat/route.ts");
  REQUIRE(sct["relatedLocations"].size() == 1);
  CHECK(sct["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/%C3%A9/page.tsx");
  CHECK(sct["relatedLocations"][0]["message"]["text"] == "client.chat_hook");
}

TEST_CASE("sarif: a relative target takes the absolute source_root; without one there is no base id") {
  Report r = Spaced();
  r.target = "my app";
  CHECK_FALSE(RenderSarif(Compare(r, std::nullopt), {})["runs"][0].contains("originalUriBaseIds"));
  RenderOptions o;
  o.source_root = "/work/my app";
  CHECK(RenderSarif(Compare(r, std::nullopt), o)["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] ==
        "file:///work/my%20app/");
}

TEST_CASE("sarif: every capability result has a location (GH1015/GH1017/GH2012)") {
  auto s = RenderSarif(Compare(Spaced(), std::nullopt), {});
  std::map<std::string, nlohmann::json> by_rule;
  for (const auto& res : s["runs"][0]["results"]) {
    REQUIRE(res.contains("locations"));
    REQUIRE(res["locations"].size() == 1);
    by_rule[res["ruleId"].get<std::string>()] = res;
  }
  // Capped: located where the failure mode that capped it was found.
  CHECK(by_rule["capability/resilient_delivery"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] ==
        "app/api/my%20chat/route.ts");
  // Nothing found: anchored at the project's manifest, line 1.
  const auto& cont = by_rule["capability/continuity"]["locations"][0]["physicalLocation"];
  CHECK(cont["artifactLocation"]["uri"] == "package.json");
  CHECK(cont["region"]["startLine"] == 1);
  CHECK(by_rule.count("capability/live_control") == 0);  // yes: no finding
}

TEST_CASE("sarif: tool and rules carry their documentation and the run its automation id") {
  RenderOptions o;
  o.tool_version = "1.2.3";
  auto s = RenderSarif(Compare(Spaced(), std::nullopt), o);
  const auto& driver = s["runs"][0]["tool"]["driver"];
  CHECK(driver["fullName"].get<std::string>().find("dsx audit 1.2.3") == 0);
  CHECK(IsUriReference(driver["informationUri"].get<std::string>()));
  for (const auto& rule : driver["rules"]) {
    CHECK(IsUriReference(rule["helpUri"].get<std::string>()));
    CHECK(rule["help"].contains("markdown"));
  }
  CHECK(s["runs"][0]["automationDetails"]["id"] == "dsx-audit/static/");
}

TEST_CASE("sarif: the exact line and the lines around it come from read_source") {
  RenderOptions o;
  o.read_source = [](const std::string& rel) -> std::optional<std::string> {
    if (rel != "app/api/my chat/route.ts") return std::nullopt;
    std::string text;
    for (int i = 1; i <= 9; ++i) text += "line " + std::to_string(i) + "\n";
    return text;
  };
  auto s = RenderSarif(Compare(Spaced(), std::nullopt), o);
  const auto& phys = s["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
  CHECK(phys["region"]["startLine"] == 7);
  CHECK(phys["region"]["snippet"]["text"] == "line 7");
  CHECK(phys["contextRegion"]["startLine"] == 5);
  CHECK(phys["contextRegion"]["endLine"] == 9);
  CHECK(phys["contextRegion"]["snippet"]["text"] == "line 5\nline 6\nline 7\nline 8\nline 9");
  // A file it cannot read keeps the excerpt and has no context region.
  const auto& other = s["runs"][0]["results"][0]["relatedLocations"][0]["physicalLocation"];
  CHECK(other["region"]["snippet"]["text"] == "useChat()");
  CHECK_FALSE(other.contains("contextRegion"));
}

TEST_CASE("sarif: a live-only report is located at the probed URL") {
  Report r = Spaced();
  r.source = Source::kLive;
  r.project_file.clear();
  r.target = "http://127.0.0.1:3000/api/chat";
  r.failure_modes[0].evidence = {{"GET http://127.0.0.1:3000/api/chat", 0, "dropped", "live.resume"}};
  auto s = RenderSarif(Compare(std::nullopt, r), {});
  for (const auto& res : s["runs"][0]["results"])
    CHECK(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "http://127.0.0.1:3000/api/chat");
  CHECK_FALSE(s["runs"][0].contains("originalUriBaseIds"));
}

TEST_CASE("json and sarif: a file name or line that is not UTF-8 is written, not an error") {
  Report r = Spaced();
  r.failure_modes[0].evidence.insert(r.failure_modes[0].evidence.begin(),
                                     {"app/caf\xe9/route.ts", 2, "// caf\xe9 \xff", "server.llm_stream"});
  Comparison c = Compare(r, std::nullopt);
  std::string sarif, json;
  CHECK_NOTHROW(sarif = Render(c, Format::kSarif, {}));
  CHECK_NOTHROW(json = Render(c, Format::kJson, {}));
  CHECK(sarif.find("\"app/caf%E9/route.ts\"") != std::string::npos);  // the URI keeps the byte
  CHECK(json.find("app/caf\xef\xbf\xbd/route.ts") != std::string::npos);  // text: U+FFFD
  CHECK_NOTHROW((void)nlohmann::json::parse(sarif));
}
