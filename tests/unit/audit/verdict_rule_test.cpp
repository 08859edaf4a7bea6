// The verdict table (lib/audit/rules/verdict_rule.hpp) row by row, then the whole evaluation on a
// small rule set: undetermined without streaming code, caps that overrule a YAML verdict, ranked
// evidence and migration steps that start from what the app has.
#include <doctest/doctest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "audit/rules/capability_rules.hpp"
#include "audit/rules/verdict_rule.hpp"

using namespace dsx::audit;

namespace {

constexpr Verdict Y = Verdict::kYes, P = Verdict::kPartial, N = Verdict::kNo, U = Verdict::kUndetermined;

struct Row {
  bool streaming;
  Verdict rule;
  int ceiling, before, after;
  Verdict want;
  const char* why;
};

}  // namespace

TEST_CASE("verdict table: every row, inputs -> verdict") {
  const Row rows[] = {
      // streaming  rule  ceiling before after  ->  verdict
      {false, Y, 100, 100, 100, U, "nothing recognised: undetermined even if the rule said yes"},
      {false, N, 100, 0, 0, U, "nothing recognised: undetermined, not no"},
      {false, P, 25, 55, 25, U, "nothing recognised wins over caps"},
      {true, P, 25, 80, 25, N, "aisdk-half-wired: capped at 25 by half_wired_resume is no, not partial"},
      {true, Y, 30, 100, 30, N, "a ceiling of exactly 30 is no"},
      {true, P, 10, 30, 10, N, "single_connection_trap (10) on a decoupled producer"},
      {true, P, 31, 55, 31, P, "a ceiling just above 30 leaves partial"},
      {true, N, 100, 40, 40, N, "the rule's no stands whatever the score"},
      {true, N, 70, 90, 70, N, "no with a ceiling stays no"},
      {true, P, 100, 0, 0, N, "partial with no points earned is no"},
      {true, Y, 100, 100, 100, Y, "all criteria and nothing caps it: yes"},
      {true, Y, 70, 100, 70, P, "producer_memory_buffer (70) denies yes"},
      {true, Y, 40, 100, 40, P, "per_tab_resume_token (40) denies yes"},
      {true, Y, 99, 100, 99, P, "any cap below 100 denies yes"},
      {true, Y, 100, 90, 90, P, "yes needs all 100 points before caps (stop without a Stop button)"},
      {true, P, 100, 55, 55, P, "partial stands"},
      {true, P, 60, 90, 60, P, "partial under a ceiling above 30 stands"},
  };
  for (const Row& r : rows) {
    VerdictInputs in;
    in.streaming_recognised = r.streaming;
    in.rule_verdict = r.rule;
    in.ceiling = r.ceiling;
    in.ceiling_by = r.ceiling < kNoCeiling ? "some_failure_mode" : "";
    in.score_before_caps = r.before;
    in.score = r.after;
    VerdictDecision d = DecideVerdict(in);
    CHECK_MESSAGE(d.verdict == r.want, r.why);
    // The reason is given exactly when the table changed the rule's verdict.
    CHECK_MESSAGE(d.overruled.empty() == (d.verdict == r.rule), r.why);
  }
}

TEST_CASE("verdict table: the reason names the failure mode that capped it") {
  VerdictInputs in;
  in.rule_verdict = P;
  in.ceiling = 25;
  in.ceiling_by = "half_wired_resume";
  in.score_before_caps = 80;
  in.score = 25;
  VerdictDecision d = DecideVerdict(in);
  CHECK(d.verdict == N);
  CHECK(d.overruled.find("capped at 25 by half_wired_resume") != std::string::npos);
}

TEST_CASE("verdicts: undetermined is a name of its own and no rank") {
  CHECK(VerdictName(U) == "undetermined");
  CHECK(*ParseVerdict("undetermined") == U);
}

// ----- the whole evaluation on a small rule set -----

namespace {

namespace stdfs = std::filesystem;

constexpr const char* kRules = R"(schema: dsx/capability@1
streaming_code:
  when: {any: [{fact: server.llm_stream}, {fact: client.chat_hook}]}
  undetermined: nothing streams here
failure_modes:
  - id: half_wired_resume
    title: Half-wired resume
    severity: high
    when:
      all:
        - {fact: server.buffer_write}
        - not: {fact: server.resume_endpoint, value: serves}
        - any: [{fact: server.resume_endpoint, value: stub_204}, {always: true}]  # evidence only
    evidence: [server.resume_endpoint, server.buffer_write]
    caps: {resilient_delivery: 25}
  - id: per_tab
    title: Per-tab id
    severity: medium
    when: {fact: client.session_storage}
    caps: {continuity: 40}
capabilities:
  - id: resilient_delivery
    criteria:
      - {id: decoupled, points: 30, when: {fact: server.decoupled}}
      - {id: log, points: 25, when: {fact: server.buffer_write}}
      - {id: route, points: 45, when: {fact: server.resume_endpoint, value: serves}}
    verdicts:
      - {verdict: "yes", when: {all: [{criterion: decoupled}, {criterion: log}, {criterion: route}]}}
      - {verdict: partial, when: {any: [{criterion: decoupled}, {criterion: log}]}}
      - verdict: "no"
  - id: continuity
    criteria:
      - {id: attach, points: 100, when: {any: [{fact: client.chat_hook}, {fact: server.llm_stream}]}}
    verdicts:
      - {verdict: "yes", when: {criterion: attach}}
      - verdict: "no"
  - id: live_control
    parts:
      - id: stop
        criteria:
          - {id: cancel, points: 100, when: {fact: server.cancel}}
        verdicts:
          - {verdict: "yes", when: {criterion: cancel}}
          - verdict: "no"
    verdicts:
      - {verdict: "yes", when: {part: stop, verdict: "yes"}}
      - verdict: "no"
migration:
  - id: log
    title: Keep a log
    done_when: {fact: server.resume_endpoint, value: serves}
    done: already served by {done_by}
    todo: add a log in {file}
    todo_no_files: no server code here
    files_from: [server.resume_endpoint=stub_204, server.llm_stream]
    files_fallback: [server.stream_response]
)";

// A rules folder of its own per test (tests may run in parallel processes).
stdfs::path WriteRules() {
  static std::atomic<int> n{0};
  stdfs::path dir =
      stdfs::temp_directory_path() / ("dsx-verdict-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  stdfs::create_directories(dir);
  std::ofstream(dir / "rules.yaml") << kRules;
  return dir;
}

Report Run(const Facts& facts) {
  stdfs::path dir = WriteRules();
  auto rules = LoadCapabilityRules(dir);
  stdfs::remove_all(dir);
  REQUIRE_MESSAGE(rules.ok(), rules.status().message());
  Report r;
  Evaluate(*rules, facts, r);
  return r;
}

Fact F(const char* name, const char* value, const char* file, int line) { return {name, value, file, line, "x", "d"}; }

}  // namespace

TEST_CASE("evaluate: without streaming code every verdict is undetermined and no failure mode is reported") {
  Report r = Run({F("server.decoupled", "", "server.js", 3), F("client.session_storage", "", "app.js", 2),
                  F("server.buffer_write", "", "server.js", 5)});
  REQUIRE(r.capabilities.size() == 3);
  for (const auto& c : r.capabilities) {
    CHECK(c.verdict == U);
    CHECK(c.caps.empty());
    CHECK(c.derivation == "undetermined: nothing streams here");
    for (const auto& p : c.parts) CHECK(p.verdict == U);
  }
  CHECK(r.failure_modes.empty());  // per_tab and half_wired would hold on these facts
  CHECK(r.migration.empty());
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0] == "undetermined: nothing streams here");
  CHECK_FALSE(r.HasScore());
}

TEST_CASE("evaluate: a capability capped at 25 is no although its rule said partial") {
  Report r = Run({F("server.llm_stream", "", "app/api/chat/route.ts", 9),
                  F("server.decoupled", "", "app/api/chat/route.ts", 15),
                  F("server.buffer_write", "", "app/api/chat/route.ts", 15),
                  F("server.resume_endpoint", "stub_204", "app/api/chat/[id]/stream/route.ts", 4)});
  const Capability* rd = r.Find(kResilientDelivery);
  REQUIRE(rd);
  CHECK(rd->score == 25);
  CHECK(rd->verdict == N);
  CHECK(rd->verdict_rule.find("capped at 25 by half_wired_resume") != std::string::npos);
  CHECK(rd->verdict_rule.find("overrules: partial because") != std::string::npos);
  CHECK(r.Find(kContinuity)->verdict == Y);  // nothing caps it
  CHECK(r.HasScore());
  // Evidence in the order of the rule's `evidence:` list: the resume route before the buffer.
  REQUIRE(r.failure_modes.size() == 1);
  REQUIRE(r.failure_modes[0].evidence.size() == 2);
  CHECK(r.failure_modes[0].evidence[0].fact == "server.resume_endpoint=stub_204");
  CHECK(r.failure_modes[0].evidence[1].fact == "server.buffer_write");
  // The todo step names the stub route first ({file}), never a test file.
  REQUIRE(r.migration.size() == 1);
  CHECK(r.migration[0].status == "todo");
  CHECK(r.migration[0].action == "add a log in app/api/chat/[id]/stream/route.ts");
  CHECK(r.migration[0].files == std::vector<std::string>{"app/api/chat/[id]/stream/route.ts", "app/api/chat/route.ts"});
}

TEST_CASE("evaluate: a done step names what does it and lists no files to change") {
  Report r = Run({F("server.llm_stream", "", "main.py", 21), F("server.resume_endpoint", "serves", "main.py", 42),
                  F("server.llm_stream", "", "tests/test_chat.py", 4)});
  REQUIRE(r.migration.size() == 1);
  CHECK(r.migration[0].status == "done");
  CHECK(r.migration[0].action == "already served by main.py:42");
  CHECK(r.migration[0].files.empty());
}

TEST_CASE("evaluate: migration files never include test or script files") {
  Report r = Run({F("server.llm_stream", "", "tests/test_chat.py", 4), F("server.llm_stream", "", "scripts/seed.ts", 2),
                  F("server.llm_stream", "", "app/main.py", 8)});
  REQUIRE(r.migration.size() == 1);
  CHECK(r.migration[0].files == std::vector<std::string>{"app/main.py"});
  CHECK(r.migration[0].action == "add a log in app/main.py");
}

TEST_CASE("evaluate: evidence puts the server's code before the client's") {
  Report r = Run({F("client.chat_hook", "", "app/page.tsx", 3), F("server.llm_stream", "", "app/route.ts", 9)});
  const Capability* c = r.Find(kContinuity);
  REQUIRE(c->evidence.size() == 2);
  // The criterion names client.chat_hook first, but `any:` is a set: the server's fact leads.
  CHECK(c->evidence[0].file == "app/route.ts");
  CHECK(c->evidence[1].file == "app/page.tsx");
  REQUIRE(c->criteria.size() == 1);
  CHECK(c->criteria[0].evidence[0].file == "app/route.ts");
}

TEST_CASE("capability rules: a verdict rule may not say undetermined; streaming_code needs its reason") {
  stdfs::path dir = WriteRules();
  std::ofstream(dir / "rules.yaml") << "schema: dsx/capability@1\nstreaming_code:\n  when: {fact: a}\n";
  auto r = LoadCapabilityRules(dir);
  CHECK_FALSE(r.ok());
  CHECK(r.status().message().find("streaming_code needs") != std::string::npos);
  std::ofstream(dir / "rules.yaml") << "schema: dsx/capability@1\ncapabilities:\n  - id: x\n    verdicts:\n"
                                       "      - {verdict: undetermined}\n";
  r = LoadCapabilityRules(dir);
  CHECK_FALSE(r.ok());
  CHECK(r.status().message().find("not a verdict rule's to give") != std::string::npos);
  stdfs::remove_all(dir);
}

TEST_CASE("evaluate: a todo step without any file says so instead of naming a file") {
  Report r = Run({F("client.chat_hook", "", "app/page.tsx", 3)});
  REQUIRE(r.migration.size() == 1);
  CHECK(r.migration[0].status == "todo");
  CHECK(r.migration[0].files.empty());
  CHECK(r.migration[0].action == "no server code here");
}

TEST_CASE("evaluate: fallback facts name files only when the step's own facts name none") {
  Report r = Run({F("client.chat_hook", "", "app/page.tsx", 3), F("server.stream_response", "", "api/export.py", 9)});
  REQUIRE(r.migration.size() == 1);
  CHECK(r.migration[0].files == std::vector<std::string>{"api/export.py"});
  CHECK(r.migration[0].action == "add a log in api/export.py");
  r = Run({F("server.llm_stream", "", "api/chat.py", 4), F("server.stream_response", "", "api/export.py", 9)});
  CHECK(r.migration[0].files == std::vector<std::string>{"api/chat.py"});  // a CSV export is no target
}

TEST_CASE("evaluate: evidence in a file that holds streaming code ranks before the same fact elsewhere") {
  Report r = Run({F("server.llm_stream", "", "app/chat.py", 4), F("server.decoupled", "", "app/a_connector.py", 9),
                  F("server.decoupled", "", "app/chat.py", 30)});
  const Capability* rd = r.Find(kResilientDelivery);
  REQUIRE(rd->criteria[0].evidence.size() == 2);
  CHECK(rd->criteria[0].evidence[0].file == "app/chat.py");  // by place alone, a_connector.py came first
  CHECK(rd->criteria[0].evidence[1].file == "app/a_connector.py");
}
