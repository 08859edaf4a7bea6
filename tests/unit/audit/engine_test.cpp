#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include "audit/rules/condition.hpp"
#include "audit/rules/detector.hpp"
#include "audit/static/syntax.hpp"

using namespace dsx::audit;

TEST_CASE("syntax: imports of JS/TS and Python files") {
  auto ts =
      ParsedFile::Parse(Lang::kTypeScript, "a.ts",
                        "import { x } from '@ai-sdk/react/extra';\nconst y = require(\"ws\");\nexport * from './z';\n");
  REQUIRE(ts.ok());
  const auto& imp = (*ts)->Imports();
  REQUIRE(imp.size() == 3);
  CHECK(imp[0] == "@ai-sdk/react/extra");
  CHECK(ImportMatches(imp[0], "@ai-sdk/react"));
  CHECK_FALSE(ImportMatches("@ai-sdk/reactive", "@ai-sdk/react"));
  CHECK(imp[1] == "ws");
  auto py = ParsedFile::Parse(Lang::kPython, "a.py", "import os, redis.asyncio as r\nfrom fastapi import responses\n");
  REQUIRE(py.ok());
  const auto& pimp = (*py)->Imports();
  CHECK(std::find(pimp.begin(), pimp.end(), "redis.asyncio") != pimp.end());
  CHECK(std::find(pimp.begin(), pimp.end(), "fastapi.responses") != pimp.end());
}

TEST_CASE("syntax: broken code still parses, with errors flagged") {
  auto f = ParsedFile::Parse(Lang::kJavaScript, "b.js", "function (\n");
  REQUIRE(f.ok());
  CHECK((*f)->has_errors());
}

TEST_CASE("queries: predicates eq, any-of, match (literal and regex), not-match") {
  auto file = ParsedFile::Parse(Lang::kTypeScript, "r.ts", "streamText({a: 1});\nfoo.stop();\nbar('/api/x/stop');\n");
  REQUIRE(file.ok());
  auto q = CompiledQuery::Compile(
      Lang::kTypeScript,
      "(call_expression function: (identifier) @f (#any-of? @f \"streamText\" \"streamObject\")) @hit\n"
      "(call_expression arguments: (arguments (string) @s (#match? @s \"/(stop|cancel)\"))) @hit\n");
  REQUIRE(q.ok());
  auto matches = (*q)->Run(**file);
  CHECK(matches.size() == 2);
  auto bad = CompiledQuery::Compile(Lang::kTypeScript, "(call_expression (#frob? @x))");
  CHECK_FALSE(bad.ok());
  auto unknown = CompiledQuery::Compile(Lang::kPython, "(template_string) @x");
  CHECK_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("unknown node type") != std::string::npos);
}

TEST_CASE("conditions: all/any/not over facts with values and numeric bounds, with evidence") {
  Facts facts{
      {"lib.ai_sdk_major", "5", "package.json", 3, "\"ai\": \"^5\"", "pkg.ai"},
      {"server.resume_endpoint", "stub_204", "route.ts", 2, "return new Response(null, { status: 204 })", "rs"}};
  FactIndex index(facts);
  EvalContext ctx;
  ctx.facts = &index;
  auto parse = [](const char* yaml) { return ParseCondition(YAML::Load(yaml)).value(); };
  std::vector<Evidence> ev;
  CHECK(Eval(parse("{fact: lib.ai_sdk_major, min: 5}"), ctx, &ev));
  CHECK(ev.size() == 1);
  CHECK(ev[0].fact == "lib.ai_sdk_major=5");
  CHECK_FALSE(Eval(parse("{fact: lib.ai_sdk_major, max: 4}"), ctx, nullptr));
  CHECK(
      Eval(parse("{all: [{fact: server.resume_endpoint, value: stub_204}, {not: {fact: client.dsx}}]}"), ctx, nullptr));
  CHECK_FALSE(Eval(parse("{fact: server.resume_endpoint, values: [serves]}"), ctx, nullptr));
  ev.clear();
  CHECK(Eval(parse("{any: [{fact: nope}, {fact: server.resume_endpoint}]}"), ctx, &ev));
  CHECK(ev.size() == 1);
  CHECK(Describe(parse("{all: [{fact: a, value: b}, {not: {failure_mode: c}}]}")) == "(a=b and not failure mode c)");
  CHECK_FALSE(ParseCondition(YAML::Load("{frob: 1}")).ok());
}
