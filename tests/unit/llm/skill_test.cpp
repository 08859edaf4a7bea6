// Agent Skills validation on the shipped skills and on broken fixtures written to a temp dir.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "llm/skill.hpp"

namespace stdfs = std::filesystem;
using dsx::llm::CheckSkill;
using dsx::llm::SkillCheck;

namespace {

stdfs::path RepoRoot() { return stdfs::path(__FILE__).parent_path().parent_path().parent_path().parent_path(); }

struct TempDir {
  stdfs::path path;
  TempDir() {
    path = stdfs::temp_directory_path() /
           ("dsx-skill-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    stdfs::remove_all(path);
    stdfs::create_directories(path);
  }
  ~TempDir() { stdfs::remove_all(path); }
  static inline int counter = 0;
};

stdfs::path WriteSkill(const stdfs::path& root, const std::string& folder, const std::string& text) {
  stdfs::path dir = root / folder;
  stdfs::create_directories(dir);
  std::ofstream(dir / "SKILL.md") << text;
  return dir;
}

// The first error's "line: message", or "" when there is none.
std::string FirstError(const SkillCheck& c) {
  for (const auto& i : c.issues)
    if (i.error) return std::to_string(i.line) + ": " + i.message;
  return "";
}

bool HasIssue(const SkillCheck& c, int line, const std::string& needle, bool error = true) {
  for (const auto& i : c.issues)
    if (i.line == line && i.error == error && i.message.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("the shipped skills are valid, strictly") {
  for (const char* name : {"cuda-kernels", "dsx"}) {
    auto c = CheckSkill(RepoRoot() / "skills" / name);
    INFO(name, " ", FirstError(c));
    CHECK(c.ok(true));
    CHECK(c.skill.name == name);
    CHECK(!c.skill.description.empty());
    CHECK(!c.skill.body.empty());
  }
  auto c = CheckSkill(RepoRoot() / "skills" / "cuda-kernels");
  CHECK(c.skill.metadata.count("dsx-gen-references") == 1);
  CHECK(std::find(c.skill.files.begin(), c.skill.files.end(), "templates/rmsnorm.toml") != c.skill.files.end());
  CHECK(std::find(c.skill.allowed_tools.begin(), c.skill.allowed_tools.end(), "Read") != c.skill.allowed_tools.end());
  auto found = dsx::llm::FindSkillDirs(RepoRoot() / "skills");
  CHECK(found.size() >= 2);
}

TEST_CASE("a minimal valid skill") {
  TempDir t;
  auto dir = WriteSkill(
      t.path, "my-skill",
      "---\nname: my-skill\ndescription: Does one thing. Use it when that thing is needed.\n"
      "license: MIT\nallowed-tools:\n  - Read\n  - Bash(dsx:*)\n---\n# Body\n\nSee [ref](references/a.md).\n");
  stdfs::create_directories(dir / "references");
  std::ofstream(dir / "references" / "a.md") << "x";
  auto c = CheckSkill(dir);
  INFO(FirstError(c));
  CHECK(c.ok(true));
  CHECK(c.skill.license == "MIT");
  CHECK(c.skill.allowed_tools.size() == 2);
  CHECK(c.skill.body_line == 9);
  auto loaded = dsx::llm::LoadSkill(dir);
  CHECK(loaded.ok());
  CHECK(dsx::llm::ReadSkillFile(*loaded, "references/a.md").ok());
  CHECK_FALSE(dsx::llm::ReadSkillFile(*loaded, "../outside.md").ok());
}

TEST_CASE("name rules, each with its line") {
  TempDir t;
  struct Case {
    std::string folder, name, needle;
  } cases[] = {
      {"good-name", "Good-Name", "lowercase letters"},
      {"x", "-x", "start or end with a hyphen"},
      {"a--b", "a--b", "consecutive hyphens"},
      {"folder", "other", "must equal the folder name 'folder'"},
      {std::string(65, 'a'), std::string(65, 'a'), "1-64 characters"},
      {"under_score", "under_score", "lowercase letters"},
  };
  for (const auto& k : cases) {
    auto dir = WriteSkill(t.path, k.folder, "---\ndescription: d\nname: " + k.name + "\n---\nbody\n");
    auto c = CheckSkill(dir);
    INFO(k.name);
    CHECK_FALSE(c.ok());
    CHECK(HasIssue(c, 3, k.needle));
    CHECK(c.issues[0].ToString().find("SKILL.md:3: error: ") != std::string::npos);
  }
}

TEST_CASE("description rules") {
  TempDir t;
  auto missing = CheckSkill(WriteSkill(t.path, "a", "---\nname: a\n---\nbody\n"));
  CHECK(HasIssue(missing, 2, "missing required field 'description'"));
  auto empty = CheckSkill(WriteSkill(t.path, "b", "---\nname: b\ndescription: \"\"\n---\nbody\n"));
  CHECK(HasIssue(empty, 3, "must not be empty"));
  auto longer =
      CheckSkill(WriteSkill(t.path, "c", "---\nname: c\ndescription: " + std::string(1025, 'x') + "\n---\nbody\n"));
  CHECK(HasIssue(longer, 3, "at most 1024"));
  auto angle = CheckSkill(WriteSkill(t.path, "d", "---\nname: d\ndescription: use <this>\n---\nbody\n"));
  CHECK(angle.ok());
  CHECK_FALSE(angle.ok(true));
  CHECK(HasIssue(angle, 3, "'<' or '>'", false));
  auto list = CheckSkill(WriteSkill(t.path, "e", "---\nname: e\ndescription: [a, b]\n---\nbody\n"));
  CHECK(HasIssue(list, 3, "must be a string"));
}

TEST_CASE("front matter structure") {
  TempDir t;
  auto none = CheckSkill(WriteSkill(t.path, "a", "# just markdown\n"));
  CHECK(HasIssue(none, 1, "must start with YAML front matter"));
  auto open = CheckSkill(WriteSkill(t.path, "b", "---\nname: b\ndescription: d\n"));
  CHECK(HasIssue(open, 1, "not closed"));
  auto bad = CheckSkill(WriteSkill(t.path, "c", "---\nname: c\ndescription: [unclosed\n---\nbody\n"));
  CHECK_FALSE(bad.ok());
  CHECK(FirstError(bad).find("not valid YAML") != std::string::npos);
  auto scalar = CheckSkill(WriteSkill(t.path, "d", "---\njust a string\n---\nbody\n"));
  CHECK(HasIssue(scalar, 2, "must be a YAML mapping"));
  auto nofile = CheckSkill(t.path / "nothing-here");
  CHECK_FALSE(nofile.ok());
}

TEST_CASE("optional fields, unknown keys, body checks") {
  TempDir t;
  auto dir = WriteSkill(t.path, "opt",
                        "---\nname: opt\ndescription: d\ncompatibility: " + std::string(501, 'c') +
                            "\nmetadata:\n  ok: yes\n  nested:\n    a: b\nallowed-tools: 5\nuser-invocable: true\n---\n"
                            "Text with a [broken link](references/missing.md) and [web](https://example.com).\n"
                            "```\n[in code](not/checked.md)\n```\n");
  auto c = CheckSkill(dir);
  CHECK(HasIssue(c, 4, "'compatibility' must be 1-500"));
  CHECK(HasIssue(c, 7, "'metadata.nested' must be a string"));
  CHECK(HasIssue(c, 9, "'allowed-tools'") == false);  // a scalar 5 is a (one-word) string in YAML
  CHECK(HasIssue(c, 10, "unknown front-matter key 'user-invocable'", false));
  CHECK(HasIssue(c, 12, "link to a missing file 'references/missing.md'"));
  CHECK(c.skill.metadata.at("ok") == "yes");
  int link_errors = 0;
  for (const auto& i : c.issues) link_errors += i.message.find("missing file") != std::string::npos;
  CHECK(link_errors == 1);

  std::string body;
  for (int i = 0; i < 501; ++i) body += "line\n";
  auto big = CheckSkill(WriteSkill(t.path, "big", "---\nname: big\ndescription: d\n---\n" + body));
  CHECK(big.ok());
  CHECK(HasIssue(big, 5, "keep SKILL.md under 500", false));
  auto blank = CheckSkill(WriteSkill(t.path, "blank", "---\nname: blank\ndescription: d\n---\n\n"));
  CHECK(HasIssue(blank, 5, "body (instructions) is empty", false));
}
