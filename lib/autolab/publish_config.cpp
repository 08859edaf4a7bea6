// The plan's publish: section checked with line and column (publish_config.hpp).
#include "autolab/publish_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "autolab/hub_dataset.hpp"
#include "autolab/plan.hpp"
#include "autolab/trackio_export.hpp"

namespace dsx::autolab {
namespace {

std::string Got(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "'" + n.Scalar() + "'";
}

class SectionChecker {
 public:
  explicit SectionChecker(std::vector<PlanError>* errors) : errors_(errors) {}

  void Error(const YAML::Node& n, std::string message) {
    const YAML::Mark m = n.Mark();
    errors_->push_back({m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0, std::move(message)});
  }

  // Unknown and repeated keys of a mapping (a misspelt destination silently ignored would publish
  // nothing).
  void Keys(const YAML::Node& map, const std::string& where, const std::vector<std::string>& known) {
    std::map<std::string, int> seen;
    for (const auto& kv : map) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (auto [it, fresh] = seen.emplace(key, kv.first.Mark().line + 1); !fresh) {
        Error(kv.first,
              "'" + where + "." + key + "' is given twice (first at line " + std::to_string(it->second) + ")");
      } else if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        Error(kv.first, "unknown key '" + where + "." + key + "' (known: " + list + ")");
      }
    }
  }

  bool String(const YAML::Node& n, const std::string& field, std::string* out) {
    if (!n.IsScalar() || n.Scalar().empty()) {
      Error(n, field + " must be a non-empty string (got " + Got(n) + ")");
      return false;
    }
    *out = n.Scalar();
    return true;
  }

  void Bool(const YAML::Node& n, const std::string& field, bool* out) {
    bool v = false;
    if (n.IsScalar() && YAML::convert<bool>::decode(n, v)) {
      *out = v;
    } else {
      Error(n, field + " must be true or false (got " + Got(n) + ")");
    }
  }

 private:
  std::vector<PlanError>* errors_;
};

}  // namespace

PublishConfig CheckPublishSection(const YAML::Node& publish, std::vector<PlanError>* errors) {
  PublishConfig c;
  SectionChecker check(errors);
  if (!publish.IsDefined() || publish.IsNull()) return c;
  if (!publish.IsMap()) {
    check.Error(publish, "publish must be a mapping (got " + Got(publish) + ")");
    return c;
  }
  check.Keys(publish, "publish", {"hub_dataset", "hub_revision", "hub_private", "trackio"});
  if (auto n = publish["hub_dataset"]; n && check.String(n, "publish.hub_dataset", &c.hub_dataset)) {
    if (auto p = RepoIdProblem(c.hub_dataset); !p.empty()) {
      check.Error(n, "publish.hub_dataset '" + c.hub_dataset + "' " + p);
    }
  }
  if (auto n = publish["hub_revision"]) check.String(n, "publish.hub_revision", &c.hub_revision);
  if (auto n = publish["hub_private"]) check.Bool(n, "publish.hub_private", &c.hub_private);
  if (auto t = publish["trackio"]) {
    if (!t.IsMap()) {
      check.Error(t, "publish.trackio must be a mapping with a project (got " + Got(t) + ")");
    } else {
      check.Keys(t, "publish.trackio", {"project"});
      if (auto n = t["project"]) {
        if (check.String(n, "publish.trackio.project", &c.trackio_project)) {
          if (auto p = TrackioProjectProblem(c.trackio_project); !p.empty()) {
            check.Error(n, "publish.trackio.project '" + c.trackio_project + "': " + p);
          }
        }
      } else {
        check.Error(t, "publish.trackio.project is required");
      }
    }
  }
  if (publish.IsMap() && publish.size() > 0 && !publish["hub_dataset"] && !publish["trackio"]) {
    check.Error(publish, "publish names no destination: give hub_dataset and/or trackio.project");
  }
  return c;
}

Result<PublishConfig> ReadPublishConfig(std::string_view yaml_text, const std::string& path_for_errors) {
  std::vector<PlanError> errors;
  PublishConfig config;
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    if (root.IsMap() && root["publish"]) config = CheckPublishSection(root["publish"], &errors);
  } catch (const YAML::Exception& e) {
    errors.push_back({e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0, e.msg});
  }
  if (!errors.empty()) return Status::Usage(FormatErrors(path_for_errors, errors));
  return config;
}

nlohmann::json ToJson(const PublishConfig& config) {
  nlohmann::json j = {
      {"hub_dataset", config.hub_dataset}, {"hub_revision", config.hub_revision}, {"hub_private", config.hub_private}};
  j["trackio"] =
      config.trackio_project.empty() ? nlohmann::json(nullptr) : nlohmann::json{{"project", config.trackio_project}};
  return j;
}

}  // namespace dsx::autolab
