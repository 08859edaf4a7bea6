// Agent Skills (agentskills.io specification): a folder holding SKILL.md, whose YAML front matter
// names and describes the skill, followed by Markdown instructions; references/, scripts/,
// examples/, assets/ (and here templates/) beside it are read on demand.
//
// Front matter rules checked here (the spec's, plus the reference validator's):
//   name           required; 1-64 chars of a-z 0-9 '-'; no leading/trailing '-', no "--";
//                  equal to the folder name
//   description    required; 1-1024 chars (angle brackets: warning, the reference validator rejects them)
//   license        optional string
//   compatibility  optional string, 1-500 chars
//   metadata       optional map of string -> string
//   allowed-tools  optional: space-separated string or list of strings
//   other keys     warning (agents such as Claude Code accept extras; --strict makes it an error)
// Body: empty is a warning, over 500 lines is a warning (progressive disclosure: keep it short);
// a relative Markdown link to a file that does not exist is an error.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace dsx::llm {

struct SkillIssue {
  std::string file;   // path as given (folder + "/SKILL.md" ...)
  int line = 0;       // 1-based; 0 when the issue is about the whole file or folder
  bool error = true;  // false: warning
  std::string message;
  std::string ToString() const;  // "file:line: error: message"
};

struct Skill {
  std::filesystem::path dir;
  std::string name;
  std::string description;
  std::string license;
  std::string compatibility;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> allowed_tools;
  std::string body;                // Markdown after the front matter
  int body_line = 0;               // file line where the body starts
  std::vector<std::string> files;  // other files, relative to dir, sorted (references/x.md ...)
};

struct SkillCheck {
  Skill skill;                     // filled as far as the file allowed
  std::vector<SkillIssue> issues;  // in file order
  bool ok(bool strict = false) const;
};

// Reads and checks one skill folder; never fails, the issues say what is wrong.
SkillCheck CheckSkill(const std::filesystem::path& dir);

// A skill that passes CheckSkill (warnings allowed). NotFound when there is no SKILL.md,
// Failed with the first error otherwise.
Result<Skill> LoadSkill(const std::filesystem::path& dir);

// `root` itself when it holds SKILL.md, else its immediate subfolders that do, sorted by name.
std::vector<std::filesystem::path> FindSkillDirs(const std::filesystem::path& root);

// Reads a file of the skill by relative path ("references/h100.md"); refuses paths that leave it.
Result<std::string> ReadSkillFile(const Skill& skill, const std::string& relative);

}  // namespace dsx::llm
