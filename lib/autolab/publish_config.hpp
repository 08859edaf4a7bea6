// The plan's optional `publish:` section: where a run's metrics go besides the run folder (a Hub
// dataset and/or a trackio project; publish.hpp does the publishing). Kept apart from publish.hpp
// and free of plan.hpp so that plan.hpp can hold a PublishConfig without an include cycle.
//
//   publish:
//     hub_dataset: alice/digits-runs   # owner/name: a Hugging Face dataset (created private when missing)
//     hub_revision: main               # optional, default main
//     hub_private: true                # optional, default true: visibility when dsx creates the repo
//     trackio:
//       project: digits                # a trackio project: $TRACKIO_DIR/<project>.db
//
// Reference: docs/formats/autolab-publish.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace YAML {
class Node;
}

namespace dsx::autolab {

struct PlanError;  // plan.hpp

// The section. No destination = nothing to publish (the section absent).
struct PublishConfig {
  std::string hub_dataset;            // "owner/name" ("" = no Hub dataset)
  std::string hub_revision = "main";  // the branch commits go to
  bool hub_private = true;            // visibility of a repo dsx creates (an existing one is not changed)
  std::string trackio_project;        // "" = no trackio export
  bool any() const { return !hub_dataset.empty() || !trackio_project.empty(); }
};

// Checks the value of a plan's `publish` key and appends every problem with its line and column, as
// CheckPlan reports them (unknown or repeated keys, wrong types, a repo id that is not owner/name, a
// trackio project name trackio refuses, no destination). For plan.cpp: call it with
// root["publish"] when the key is present.
PublishConfig CheckPublishSection(const YAML::Node& publish, std::vector<PlanError>* errors);

// Reads only the `publish` key of a plan's YAML text (other keys are CheckPlan's business): a
// config with no destination when the key is absent; kUsage with "path:line:col: message" lines.
Result<PublishConfig> ReadPublishConfig(std::string_view yaml_text, const std::string& path_for_errors);

// Canonical JSON of the section: {"hub_dataset","hub_revision","hub_private","trackio":{"project"}|null}.
nlohmann::json ToJson(const PublishConfig& config);

}  // namespace dsx::autolab
