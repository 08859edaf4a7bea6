// The open data layer: the plan's publish: section, the rows from the ledger, and Publish() sending
// them to the Hub dataset and/or the trackio project (hub_dataset.cpp, trackio_export.cpp).
#include "autolab/publish.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "autolab/trackio_export.hpp"
#include "core/fs.hpp"

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

// Final rows are terminal experiments' outcomes; a metric that is not a number reads as null.
nlohmann::json Number(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

// The trackio runs of a ledger: one per experiment that has a point to show.
Result<std::vector<TrackioRun>> TrackioRuns(Ledger& ledger, const std::string& run, const std::string& metric) {
  auto list = ledger.List();
  if (!list.ok()) return list.status();
  std::vector<ExperimentRecord> exps = std::move(*list);
  std::sort(exps.begin(), exps.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::vector<TrackioRun> out;
  for (const auto& e : exps) {
    auto curve = ledger.Curve(e.id);
    if (!curve.ok()) return curve.status();
    bool final_value = IsTerminal(e.state) && e.metric.has_value();
    if (curve->empty() && !final_value) continue;
    TrackioRun t;
    t.run_id = "dsx-" + run + "-" + e.id;
    t.run_name = run + "-" + e.id;
    t.group = e.config_key;
    t.config = {{"params", e.params},
                {"seed", e.seed},
                {"experiment", e.id},
                {"config", e.config_key},
                {"hypothesis", e.hypothesis},
                {"state", ExpStateName(e.state)},
                {"dsx_run", run}};
    t.created_ms = e.created_ms;
    std::int64_t started = e.started_ms ? e.started_ms : e.created_ms;
    std::int64_t last_step = 0;
    for (const auto& [step, value] : *curve) {
      TrackioPoint p;
      p.step = step;
      p.metrics = {{metric, value}};
      p.unix_ms = started;
      p.log_id = "dsx:" + run + ":" + e.id + ":" + std::to_string(step);
      t.points.push_back(std::move(p));
      last_step = std::max(last_step, step);
    }
    if (final_value) {
      // trackio has no step-less value: the final one is logged at the last step under
      // "<metric>/final", which trackio's dashboard shows in the <metric> section.
      TrackioPoint p;
      p.step = last_step;
      p.metrics = {{metric + "/final", *e.metric}};
      p.unix_ms = e.finished_ms ? e.finished_ms : started;
      p.log_id = "dsx:" + run + ":" + e.id + ":final";
      t.points.push_back(std::move(p));
    }
    out.push_back(std::move(t));
  }
  return out;
}

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

Result<std::vector<nlohmann::json>> MetricRows(Ledger& ledger, const std::string& run, const std::string& metric) {
  auto list = ledger.List();
  if (!list.ok()) return list.status();
  std::vector<ExperimentRecord> exps = std::move(*list);
  // By id, as results.json orders experiments: the same ledger gives the same rows, whatever order
  // the experiments were proposed or finished in.
  std::sort(exps.begin(), exps.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::vector<nlohmann::json> rows;
  for (const auto& e : exps) {
    auto curve = ledger.Curve(e.id);
    if (!curve.ok()) return curve.status();
    auto row = [&](nlohmann::json step, nlohmann::json value, bool final) {
      return nlohmann::json{{"run", run},
                            {"experiment", e.id},
                            {"config", e.config_key},
                            {"seed", e.seed},
                            {"hypothesis", e.hypothesis},
                            {"params", e.params},
                            {"metric", metric},
                            {"step", std::move(step)},
                            {"value", std::move(value)},
                            {"final", final},
                            {"state", ExpStateName(e.state)}};
    };
    for (const auto& [step, value] : *curve) rows.push_back(row(step, Number(value), false));
    if (IsTerminal(e.state)) rows.push_back(row(nullptr, Number(e.metric), true));
  }
  return rows;
}

std::string ToJsonLines(const std::vector<nlohmann::json>& rows) {
  std::string out;
  for (const auto& r : rows) out += r.dump() + "\n";
  return out;
}

Result<PublishResult> Publish(const Plan& plan, const PublishConfig& config, Ledger& ledger, const std::string& run_dir,
                              const PublishOptions& options) {
  PublishResult result;
  if (!config.any()) return result;
  const std::string& run = plan.name;
  const std::string& metric = plan.objective.metric;
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  std::vector<Status> failures;

  if (!config.hub_dataset.empty()) {
    auto rows = MetricRows(ledger, run, metric);
    if (!rows.ok()) return rows.status();
    result.rows = rows->size();
    std::vector<HubFile> files = {{"autolab/" + run + ".jsonl", ToJsonLines(*rows)}};
    // The reporter's files, when written, beside the rows (under reports/ so the dataset viewer's
    // *.jsonl data files stay one schema).
    for (const char* name : {"results.json", "report.md"}) {
      std::filesystem::path p = std::filesystem::path(run_dir) / name;
      if (!std::filesystem::exists(p)) continue;
      auto text = fs::ReadFile(p);
      if (!text.ok()) return text.status();
      files.push_back({"autolab/reports/" + run + "/" + name, std::move(*text)});
    }
    HubClient hub(options.hub);
    auto up =
        hub.UploadToDataset(config.hub_dataset, config.hub_revision, files,
                            "dsx autolab: " + run + " (" + std::to_string(result.rows) + " rows)", config.hub_private);
    if (up.ok()) {
      result.hub_committed = up->committed;
      result.hub_commit_url = up->commit_url;
      log(up->committed ? "published " + std::to_string(result.rows) + " rows to dataset " + config.hub_dataset +
                              (up->commit_url.empty() ? "" : " (" + up->commit_url + ")")
                        : "dataset " + config.hub_dataset + " already holds these rows: nothing to commit");
    } else {
      failures.push_back(up.status().Wrap("publishing to Hub dataset " + config.hub_dataset));
    }
  }

  if (!config.trackio_project.empty()) {
    auto runs = TrackioRuns(ledger, run, metric);
    if (!runs.ok()) return runs.status();
    std::string dir = options.trackio_dir.empty() ? TrackioDir(options.hub.getenv) : options.trackio_dir;
    auto out = ExportToTrackio(dir, config.trackio_project, *runs);
    if (out.ok()) {
      result.trackio_db = out->db_path;
      result.trackio_points = out->points;
      log("exported " + std::to_string(out->runs) + " runs (" + std::to_string(out->points) +
          " points) to trackio project " + config.trackio_project + " (" + out->db_path + ")");
    } else {
      failures.push_back(out.status().Wrap("exporting to trackio project " + config.trackio_project));
    }
  }

  if (failures.empty()) return result;
  std::string message;
  for (const auto& f : failures) message += (message.empty() ? "" : "; ") + f.message();
  return Status(failures.front().code(), message);
}

}  // namespace dsx::autolab
