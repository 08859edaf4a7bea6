#include "llm/skill.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "core/fs.hpp"

namespace dsx::llm {
namespace stdfs = std::filesystem;

std::string SkillIssue::ToString() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line);
  return s + (error ? ": error: " : ": warning: ") + message;
}

bool SkillCheck::ok(bool strict) const {
  return std::none_of(issues.begin(), issues.end(), [&](const SkillIssue& i) { return i.error || strict; });
}

namespace {

const std::set<std::string> kKnownKeys = {"name",          "description", "license",
                                          "compatibility", "metadata",    "allowed-tools"};

class Checker {
 public:
  Checker(const stdfs::path& dir, SkillCheck& out) : dir_(dir), out_(out) { file_ = (dir / "SKILL.md").string(); }

  void Run() {
    out_.skill.dir = dir_;
    auto text = fs::ReadFile(dir_ / "SKILL.md");
    if (!text.ok()) {
      Add(0, true,
          stdfs::is_directory(dir_) ? "no SKILL.md in the skill folder"
                                    : "not a folder: a skill is a folder holding SKILL.md");
      return;
    }
    ListFiles();
    Split(*text);
  }

 private:
  void Add(int line, bool error, std::string msg) { out_.issues.push_back({file_, line, error, std::move(msg)}); }

  void ListFiles() {
    std::error_code ec;
    for (auto it = stdfs::recursive_directory_iterator(dir_, ec); !ec && it != stdfs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      std::string rel = stdfs::relative(it->path(), dir_).generic_string();
      if (rel != "SKILL.md") out_.skill.files.push_back(rel);
    }
    std::sort(out_.skill.files.begin(), out_.skill.files.end());
  }

  void Split(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty() && l.back() == '\r') l.pop_back();
      lines.push_back(l);
    }
    if (lines.empty() || lines[0] != "---") {
      Add(1, true, "SKILL.md must start with YAML front matter: a first line '---'");
      return;
    }
    size_t end = 0;
    for (size_t i = 1; i < lines.size(); ++i)
      if (lines[i] == "---") {
        end = i;
        break;
      }
    if (end == 0) {
      Add(1, true, "front matter is not closed: no second '---' line");
      return;
    }
    std::string yaml;
    for (size_t i = 1; i < end; ++i) yaml += lines[i] + "\n";
    std::string body;
    for (size_t i = end + 1; i < lines.size(); ++i) body += lines[i] + "\n";
    out_.skill.body = body;
    out_.skill.body_line = static_cast<int>(end) + 2;
    FrontMatter(yaml);
    Body(lines, end + 1);
  }

  // yaml-cpp marks are 0-based within the YAML text, which starts on file line 2.
  static int LineOf(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 2 : 0; }

  bool StringField(const YAML::Node& n, const std::string& key, std::string& out) {
    if (!n.IsScalar()) {
      Add(LineOf(n), true, "'" + key + "' must be a string");
      return false;
    }
    out = n.as<std::string>();
    return true;
  }

  void FrontMatter(const std::string& yaml) {
    YAML::Node root;
    try {
      root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
      Add(e.mark.line >= 0 ? e.mark.line + 2 : 1, true, "front matter is not valid YAML: " + e.msg);
      return;
    }
    if (!root.IsMap()) {
      Add(2, true, "front matter must be a YAML mapping (key: value lines)");
      return;
    }
    Skill& s = out_.skill;
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string key = it->first.as<std::string>();
      const YAML::Node& v = it->second;
      int line = LineOf(it->first);
      if (key == "name") {
        if (StringField(v, key, s.name)) CheckName(line);
      } else if (key == "description") {
        if (StringField(v, key, s.description)) {
          if (s.description.empty()) Add(line, true, "'description' must not be empty");
          if (s.description.size() > 1024)
            Add(line, true, "'description' is " + std::to_string(s.description.size()) + " characters; at most 1024");
          if (s.description.find_first_of("<>") != std::string::npos)
            Add(line, false, "'description' contains '<' or '>' (the reference validator rejects them)");
        }
      } else if (key == "license") {
        StringField(v, key, s.license);
      } else if (key == "compatibility") {
        if (StringField(v, key, s.compatibility) && (s.compatibility.empty() || s.compatibility.size() > 500))
          Add(line, true, "'compatibility' must be 1-500 characters");
      } else if (key == "metadata") {
        if (!v.IsMap()) {
          Add(line, true, "'metadata' must be a mapping of string keys to string values");
          continue;
        }
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m->second.IsScalar()) {
            Add(LineOf(m->first), true, "'metadata." + m->first.as<std::string>() + "' must be a string");
            continue;
          }
          s.metadata[m->first.as<std::string>()] = m->second.as<std::string>();
        }
      } else if (key == "allowed-tools") {
        if (v.IsScalar()) {
          std::istringstream words(v.as<std::string>());
          for (std::string w; words >> w;) s.allowed_tools.push_back(w);
        } else if (v.IsSequence()) {
          for (const auto& t : v) {
            if (!t.IsScalar()) {
              Add(LineOf(t), true, "'allowed-tools' entries must be strings");
              continue;
            }
            s.allowed_tools.push_back(t.as<std::string>());
          }
        } else {
          Add(line, true, "'allowed-tools' must be a space-separated string or a list of strings");
        }
      } else {
        Add(line, false, "unknown front-matter key '" + key + "' (not in the Agent Skills spec)");
      }
    }
    if (!root["name"]) Add(2, true, "missing required field 'name'");
    if (!root["description"]) Add(2, true, "missing required field 'description'");
  }

  void CheckName(int line) {
    const std::string& n = out_.skill.name;
    static const std::regex kName("[a-z0-9-]+");
    if (n.empty() || n.size() > 64) {
      Add(line, true, "'name' must be 1-64 characters (is " + std::to_string(n.size()) + ")");
    } else if (!std::regex_match(n, kName)) {
      Add(line, true, "'name' '" + n + "' may only hold lowercase letters, digits and hyphens");
    } else if (n.front() == '-' || n.back() == '-') {
      Add(line, true, "'name' '" + n + "' must not start or end with a hyphen");
    } else if (n.find("--") != std::string::npos) {
      Add(line, true, "'name' '" + n + "' must not contain consecutive hyphens");
    }
    std::string folder = stdfs::absolute(dir_).lexically_normal().filename().string();
    if (folder.empty()) folder = stdfs::absolute(dir_).lexically_normal().parent_path().filename().string();
    if (!n.empty() && n != folder) Add(line, true, "'name' '" + n + "' must equal the folder name '" + folder + "'");
  }

  void Body(const std::vector<std::string>& lines, size_t first) {
    size_t count = lines.size() > first ? lines.size() - first : 0;
    bool blank = std::all_of(lines.begin() + std::min(first, lines.size()), lines.end(),
                             [](const std::string& l) { return l.find_first_not_of(" \t") == std::string::npos; });
    if (blank) Add(static_cast<int>(first) + 1, false, "the body (instructions) is empty");
    if (count > 500)
      Add(static_cast<int>(first) + 1, false,
          "the body has " + std::to_string(count) + " lines; keep SKILL.md under 500 and move detail to references/");
    static const std::regex kLink(R"(\]\(([^)\s#]+)(#[^)\s]*)?\))");
    bool in_code = false;
    for (size_t i = first; i < lines.size(); ++i) {
      if (lines[i].starts_with("```")) in_code = !in_code;
      if (in_code) continue;
      for (std::sregex_iterator m(lines[i].begin(), lines[i].end(), kLink), e; m != e; ++m) {
        std::string target = (*m)[1].str();
        if (target.find("://") != std::string::npos || target.starts_with("mailto:")) continue;
        std::error_code ec;
        if (!stdfs::exists(dir_ / target, ec))
          Add(static_cast<int>(i) + 1, true, "link to a missing file '" + target + "'");
      }
    }
  }

  stdfs::path dir_;
  SkillCheck& out_;
  std::string file_;
};

}  // namespace

SkillCheck CheckSkill(const stdfs::path& dir) {
  SkillCheck out;
  Checker(dir, out).Run();
  return out;
}

Result<Skill> LoadSkill(const stdfs::path& dir) {
  std::error_code ec;
  if (!stdfs::exists(dir / "SKILL.md", ec))
    return Status::NotFound("no skill at '" + dir.string() + "': no SKILL.md there");
  SkillCheck c = CheckSkill(dir);
  for (const auto& i : c.issues)
    if (i.error) return Status::Failed("invalid skill: " + i.ToString());
  return std::move(c.skill);
}

std::vector<stdfs::path> FindSkillDirs(const stdfs::path& root) {
  std::vector<stdfs::path> out;
  std::error_code ec;
  if (stdfs::exists(root / "SKILL.md", ec)) return {root};
  for (auto it = stdfs::directory_iterator(root, ec); !ec && it != stdfs::directory_iterator(); it.increment(ec))
    if (it->is_directory() && stdfs::exists(it->path() / "SKILL.md")) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> ReadSkillFile(const Skill& skill, const std::string& relative) {
  stdfs::path rel = stdfs::path(relative).lexically_normal();
  if (rel.is_absolute() || rel.empty() || *rel.begin() == "..")
    return Status::Usage("'" + relative + "' is not a path inside the skill");
  return fs::ReadFile(skill.dir / rel);
}

}  // namespace dsx::llm
