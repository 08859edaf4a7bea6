// dsx skills: Agent Skills shipped with dsx (skills/<name>/SKILL.md) and checks of any skill.
//   list [ROOT] | show NAME [--file REL] | validate [PATH...] [--strict]
// Logic lives in lib/llm/skill.hpp; this file parses flags and prints.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "llm/skill.hpp"

namespace dsx::cmd {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

// Where skills live: $DSX_SKILLS_DIR, else ./skills, else next to the executable.
stdfs::path SkillsRoot() {
  std::string env = cli::Env("DSX_SKILLS_DIR");
  if (!env.empty()) return env;
  std::error_code ec;
  if (stdfs::is_directory("skills", ec)) return "skills";
  auto exe = stdfs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const char* rel : {"../skills", "../../skills", "../share/dsx/skills"}) {
      stdfs::path p = (exe.parent_path() / rel).lexically_normal();
      if (stdfs::is_directory(p, ec)) return p;
    }
  }
  return "skills";
}

Result<stdfs::path> FindSkill(const std::string& name) {
  std::error_code ec;
  if (stdfs::exists(stdfs::path(name) / "SKILL.md", ec)) return stdfs::path(name);
  stdfs::path p = SkillsRoot() / name;
  if (stdfs::exists(p / "SKILL.md", ec)) return p;
  return Status::NotFound("no skill '" + name + "' (looked in '" + SkillsRoot().string() + "')");
}

json IssuesJson(const std::vector<llm::SkillIssue>& issues) {
  json a = json::array();
  for (const auto& i : issues)
    a.push_back(
        {{"file", i.file}, {"line", i.line}, {"severity", i.error ? "error" : "warning"}, {"message", i.message}});
  return a;
}

void RegisterList(CLI::App& skills) {
  auto* cmd = skills.add_subcommand("list", "list the skills in a folder (default: the shipped ones)");
  auto root = std::make_shared<std::string>();
  auto json_out = std::make_shared<bool>(false);
  cmd->add_option("ROOT", *root, "folder holding skill folders (default $DSX_SKILLS_DIR or ./skills)");
  cmd->add_flag("--json", *json_out, "print JSON");
  cmd->callback([root, json_out] {
    stdfs::path dir = root->empty() ? SkillsRoot() : stdfs::path(*root);
    std::error_code ec;
    if (!stdfs::is_directory(dir, ec)) return cli::Finish(Status::NotFound("no skills folder '" + dir.string() + "'"));
    json arr = json::array();
    for (const auto& d : llm::FindSkillDirs(dir)) {
      auto c = llm::CheckSkill(d);
      std::string desc = c.skill.description;
      arr.push_back({{"name", c.skill.name},
                     {"path", d.string()},
                     {"description", desc},
                     {"files", c.skill.files.size()},
                     {"valid", c.ok()}});
      if (!*json_out) {
        if (desc.size() > 90) desc = desc.substr(0, 87) + "...";
        std::printf("%-16s %s%s\n", c.skill.name.empty() ? d.filename().c_str() : c.skill.name.c_str(), desc.c_str(),
                    c.ok() ? "" : "  (invalid: run dsx skills validate)");
      }
    }
    if (*json_out) cli::PrintJson({{"root", dir.string()}, {"skills", arr}});
    cli::SetExit(0);
  });
}

void RegisterShow(CLI::App& skills) {
  auto* cmd = skills.add_subcommand("show", "print a skill's SKILL.md (or one of its files) and metadata");
  auto name = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto json_out = std::make_shared<bool>(false);
  cmd->add_option("NAME", *name, "skill name or folder")->required();
  cmd->add_option("--file", *file, "print this file of the skill instead (e.g. references/h100-a100.md)");
  cmd->add_flag("--json", *json_out, "print JSON");
  cmd->callback([name, file, json_out] {
    auto dir = FindSkill(*name);
    if (!dir.ok()) return cli::Finish(dir.status());
    auto c = llm::CheckSkill(*dir);
    const llm::Skill& s = c.skill;
    if (!file->empty()) {
      auto text = llm::ReadSkillFile(s, *file);
      if (!text.ok()) return cli::Finish(text.status());
      if (*json_out) return cli::PrintJson({{"skill", s.name}, {"file", *file}, {"text", *text}});
      std::fputs(text->c_str(), stdout);
      return cli::SetExit(0);
    }
    if (*json_out) {
      return cli::PrintJson({{"name", s.name},
                             {"path", dir->string()},
                             {"description", s.description},
                             {"license", s.license},
                             {"compatibility", s.compatibility},
                             {"metadata", s.metadata},
                             {"allowed_tools", s.allowed_tools},
                             {"files", s.files},
                             {"body", s.body},
                             {"valid", c.ok()},
                             {"issues", IssuesJson(c.issues)}});
    }
    std::printf("name:        %s\npath:        %s\ndescription: %s\n", s.name.c_str(), dir->c_str(),
                s.description.c_str());
    if (!s.license.empty()) std::printf("license:     %s\n", s.license.c_str());
    if (!s.files.empty()) {
      std::printf("files:\n");
      for (const auto& f : s.files) std::printf("  %s\n", f.c_str());
    }
    std::printf("\n%s", s.body.c_str());
    for (const auto& i : c.issues) std::fprintf(stderr, "dsx: %s\n", i.ToString().c_str());
    cli::SetExit(0);
  });
}

void RegisterValidate(CLI::App& skills) {
  auto* cmd = skills.add_subcommand("validate", "check skills against the Agent Skills spec (front matter, links)");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto strict = std::make_shared<bool>(false);
  auto json_out = std::make_shared<bool>(false);
  cmd->add_option("PATH", *paths, "skill folders, or folders of skills (default: the shipped ones)");
  cmd->add_flag("--strict", *strict, "treat warnings (unknown keys, long body...) as errors");
  cmd->add_flag("--json", *json_out, "print JSON");
  cmd->callback([paths, strict, json_out] {
    std::vector<stdfs::path> dirs;
    std::vector<std::string> inputs = *paths;
    if (inputs.empty()) inputs.push_back(SkillsRoot().string());
    json results = json::array();
    int errors = 0, warnings = 0;
    for (const auto& in : inputs) {
      std::error_code ec;
      if (!stdfs::exists(in, ec)) return cli::Finish(Status::NotFound("no such folder '" + in + "'"));
      auto found = llm::FindSkillDirs(in);
      // A folder with neither SKILL.md nor skill subfolders is checked as a (broken) skill.
      if (found.empty()) found.push_back(in);
      dirs.insert(dirs.end(), found.begin(), found.end());
    }
    for (const auto& d : dirs) {
      auto c = llm::CheckSkill(d);
      for (const auto& i : c.issues) {
        (i.error ? errors : warnings)++;
        if (!*json_out) std::printf("%s\n", i.ToString().c_str());
      }
      results.push_back(
          {{"path", d.string()}, {"name", c.skill.name}, {"ok", c.ok(*strict)}, {"issues", IssuesJson(c.issues)}});
    }
    bool ok = errors == 0 && (!*strict || warnings == 0);
    if (*json_out) {
      cli::PrintJson(
          {{"ok", ok}, {"strict", *strict}, {"errors", errors}, {"warnings", warnings}, {"skills", results}});
    } else {
      std::printf("%zu skill%s checked: %d error%s, %d warning%s\n", dirs.size(), dirs.size() == 1 ? "" : "s", errors,
                  errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
    }
    cli::SetExit(ok ? 0 : 1);
  });
}

}  // namespace

void register_skills(CLI::App& app) {
  auto* skills = app.add_subcommand("skills", "Agent Skills shipped with dsx: list, show, validate");
  skills->require_subcommand(1);
  RegisterList(*skills);
  RegisterShow(*skills);
  RegisterValidate(*skills);
}

}  // namespace dsx::cmd
