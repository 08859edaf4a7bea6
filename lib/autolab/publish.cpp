// The open data layer: the plan's publish: section, the rows from the ledger, and Publish() sending
// them to the Hub dataset and/or the trackio project (hub_dataset.cpp, trackio_export.cpp).
#include "autolab/publish.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "autolab/trackio_export.hpp"
#include "core/fs.hpp"

namespace dsx::autolab {
namespace {

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
