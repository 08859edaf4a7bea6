// Manifest parsing; see manifests.hpp.
#include "audit/static/manifests.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

namespace dsx::audit {

namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::replace(s.begin(), s.end(), '_', '-');
  return s;
}

// Line (1-based) of the first occurrence of `needle`, and that line's text.
int FindLine(const std::string& text, const std::string& needle, std::string* excerpt) {
  size_t pos = text.find(needle);
  if (pos == std::string::npos) return 0;
  int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n'));
  size_t a = text.rfind('\n', pos);
  a = a == std::string::npos ? 0 : a + 1;
  size_t b = text.find('\n', pos);
  if (excerpt) *excerpt = MakeExcerpt(std::string_view(text).substr(a, (b == std::string::npos ? text.size() : b) - a));
  return line;
}

std::string Basename(const std::string& rel) {
  size_t s = rel.rfind('/');
  return s == std::string::npos ? rel : rel.substr(s + 1);
}

// PEP 508: "langgraph-sdk[extra]>=0.2; python_version>'3'" -> name, spec.
void ParseRequirement(std::string line, std::string& name, std::string& spec) {
  size_t semi = line.find(';');
  if (semi != std::string::npos) line.resize(semi);
  size_t i = 0;
  while (i < line.size() &&
         (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '-' || line[i] == '_' || line[i] == '.'))
    ++i;
  name = line.substr(0, i);
  size_t bracket = line.find(']', i);
  if (i < line.size() && line[i] == '[' && bracket != std::string::npos) i = bracket + 1;
  spec = line.substr(i);
  spec.erase(std::remove_if(spec.begin(), spec.end(), [](unsigned char c) { return std::isspace(c); }), spec.end());
}

}  // namespace

std::string MajorVersion(const std::string& spec) {
  size_t i = 0;
  while (i < spec.size() && !std::isdigit(static_cast<unsigned char>(spec[i]))) {
    char c = spec[i];
    if (c != '^' && c != '~' && c != '>' && c != '=' && c != '<' && c != 'v' && c != ' ' && c != '!') return "";
    ++i;
  }
  size_t j = i;
  while (j < spec.size() && std::isdigit(static_cast<unsigned char>(spec[j]))) ++j;
  return spec.substr(i, j - i);
}

Result<std::vector<Dependency>> ParseManifest(const std::string& rel, const std::string& text) {
  std::vector<Dependency> out;
  std::string base = Basename(rel);
  auto add = [&](const std::string& eco, const std::string& name, const std::string& version, bool exact,
                 const std::string& needle) {
    Dependency d{eco, eco == "pypi" ? Lower(name) : name, version, exact, rel, 0, ""};
    d.line = FindLine(text, needle, &d.excerpt);
    out.push_back(std::move(d));
  };
  if (base == "package.json" || base == "package-lock.json") {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::Failed("invalid JSON");
    if (base == "package.json") {
      for (const char* key : {"dependencies", "devDependencies", "peerDependencies", "optionalDependencies"}) {
        if (!j.contains(key) || !j[key].is_object()) continue;
        for (const auto& [name, v] : j[key].items())
          add("npm", name, v.is_string() ? v.get<std::string>() : "", false, "\"" + name + "\"");
      }
    } else if (j.contains("packages") && j["packages"].is_object()) {  // lockfile v2/v3
      for (const auto& [path, v] : j["packages"].items()) {
        const std::string prefix = "node_modules/";
        if (path.rfind(prefix, 0) != 0 || path.find("/node_modules/", prefix.size()) != std::string::npos) continue;
        std::string name = path.substr(prefix.size());
        if (v.is_object() && v.contains("version") && v["version"].is_string())
          add("npm", name, v["version"].get<std::string>(), true, "\"" + path + "\"");
      }
    } else if (j.contains("dependencies") && j["dependencies"].is_object()) {  // lockfile v1
      for (const auto& [name, v] : j["dependencies"].items())
        if (v.is_object() && v.contains("version") && v["version"].is_string())
          add("npm", name, v["version"].get<std::string>(), true, "\"" + name + "\"");
    }
    return out;
  }
  if (base == "pyproject.toml") {
    toml::table t;
    try {
      t = toml::parse(text);
    } catch (const toml::parse_error& e) {
      return Status::Failed(std::string("invalid TOML: ") + std::string(e.description()));
    }
    if (auto deps = t["project"]["dependencies"].as_array()) {
      for (const auto& d : *deps) {
        auto s = d.value<std::string>();
        if (!s) continue;
        std::string name, spec;
        ParseRequirement(*s, name, spec);
        if (!name.empty()) add("pypi", name, spec, false, name);
      }
    }
    if (auto poetry = t["tool"]["poetry"]["dependencies"].as_table()) {
      for (const auto& [k, v] : *poetry) {
        std::string name(k.str());
        if (name == "python") continue;
        std::string spec = v.value<std::string>().value_or("");
        if (auto tbl = v.as_table()) spec = (*tbl)["version"].value<std::string>().value_or("");
        add("pypi", name, spec, false, name);
      }
    }
    return out;
  }
  // requirements*.txt
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos || line[a] == '-') continue;  // blank, -r, -e, --index-url
    std::string name, spec;
    ParseRequirement(line.substr(a), name, spec);
    if (!name.empty()) add("pypi", name, spec, spec.rfind("==", 0) == 0, name);
  }
  return out;
}

Facts PackageFacts(const std::vector<PackageRule>& rules, const std::vector<Dependency>& deps) {
  Facts out;
  for (const auto& rule : rules) {
    std::string want = rule.ecosystem == "pypi" ? Lower(rule.name) : rule.name;
    const Dependency* best = nullptr;
    for (const auto& d : deps) {
      if (d.ecosystem != rule.ecosystem || d.name != want) continue;
      if (!best || (d.exact && !best->exact)) best = &d;
    }
    if (!best) continue;
    Fact f;
    f.name = rule.fact;
    if (rule.value == "major") f.value = MajorVersion(best->version);
    else if (rule.value == "version") f.value = best->version;
    else f.value = rule.value;
    f.file = best->file;
    f.line = best->line;
    f.excerpt = best->excerpt;
    f.detector = rule.id;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace dsx::audit
