#include <doctest/doctest.h>

#include "audit/static/manifests.hpp"

using namespace dsx::audit;

TEST_CASE("major versions from ranges and exact versions") {
  CHECK(MajorVersion("^5.0.1") == "5");
  CHECK(MajorVersion("~4.3") == "4");
  CHECK(MajorVersion(">=0.2,<1") == "0");
  CHECK(MajorVersion("==1.58.1") == "1");
  CHECK(MajorVersion("5.0.2") == "5");
  CHECK(MajorVersion("latest") == "");
  CHECK(MajorVersion("*") == "");
  CHECK(MajorVersion("github:vercel/ai") == "");
}

TEST_CASE("package.json and lockfile: the lockfile's exact version wins") {
  auto pj = ParseManifest("web/package.json", "{\n  \"dependencies\": {\n    \"ai\": \"^4.3.0\"\n  }\n}\n");
  REQUIRE(pj.ok());
  REQUIRE(pj->size() == 1);
  CHECK((*pj)[0].line == 3);
  auto lock = ParseManifest("web/package-lock.json",
                            R"({"lockfileVersion":3,"packages":{"":{},"node_modules/ai":{"version":"5.0.8"},)"
                            R"("node_modules/x/node_modules/ai":{"version":"3.0.0"}}})");
  REQUIRE(lock.ok());
  REQUIRE(lock->size() == 1);
  std::vector<Dependency> all = *pj;
  all.insert(all.end(), lock->begin(), lock->end());
  std::vector<PackageRule> rules{{"pkg.ai", "npm", "ai", "lib.ai_sdk_major", "major"}};
  Facts f = PackageFacts(rules, all);
  REQUIRE(f.size() == 1);
  CHECK(f[0].value == "5");
  CHECK(f[0].file == "web/package-lock.json");
}

TEST_CASE("requirements.txt and pyproject.toml; pypi names are normalised") {
  auto req = ParseManifest("requirements.txt",
                           "# deps\n-r base.txt\nLangGraph_SDK[extra]>=0.2 ; python_version>'3'\nopenai==1.58.1\n");
  REQUIRE(req.ok());
  REQUIRE(req->size() == 2);
  CHECK((*req)[0].name == "langgraph-sdk");
  CHECK((*req)[1].version == "==1.58.1");
  CHECK((*req)[1].exact);
  auto py = ParseManifest("pyproject.toml",
                          "[project]\nname='x'\ndependencies=['fastapi>=0.115']\n[tool.poetry.dependencies]\npython='^"
                          "3.11'\nopenai={version='^1.0'}\n");
  REQUIRE(py.ok());
  REQUIRE(py->size() == 2);
  CHECK((*py)[1].name == "openai");
  CHECK(MajorVersion((*py)[1].version) == "1");
}

TEST_CASE("invalid manifests are errors, not crashes") {
  CHECK_FALSE(ParseManifest("package.json", "{\"dependencies\": {,}").ok());
  CHECK_FALSE(ParseManifest("pyproject.toml", "[project\n").ok());
  CHECK(ParseManifest("package.json", "[]").status().message() == "invalid JSON");
}
