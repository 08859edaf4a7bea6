// The open data layer: a run's metrics published where other tools read them, when the plan's
// optional `publish:` section (publish_config.hpp) names a destination: a Hugging Face dataset
// and/or a trackio project. Formats and protocol: docs/formats/autolab-publish.md.
//
// What is published comes from the ledger alone (like the reporter's files), so publishing twice
// gives the same content:
//   rows      one JSON object per experiment and step, ordered by experiment id then step, the
//             final value last (step null, final true); written as JSON lines
//   Hub       autolab/<run>.jsonl, plus the reporter's results.json and report.md when the run folder
//             has them, in ONE commit through the Hub's commit API (hub_dataset.hpp); files the Hub
//             already holds unchanged are left out, and nothing is committed when none changed
//   trackio   one trackio run per experiment in the project's SQLite file (trackio_export.hpp)
//
// Secrets: the Hub token (HF_TOKEN or the token file, jobs/hf/hf_token.hpp) goes into the
// Authorization header only, never into a message, a log line or a file.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "autolab/hub_dataset.hpp"
#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "autolab/publish_config.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

// The rows, from the ledger: for every experiment (ordered by id) one row per intermediate point
// (ordered by step) and, once the experiment is terminal, one final row:
//   {"run","experiment","config","seed","hypothesis","params":{..},"metric","step":N|null,
//    "value":x|null,"final":bool,"state"}
// value is null on a final row without a metric (failed, pruned, cancelled).
Result<std::vector<nlohmann::json>> MetricRows(Ledger& ledger, const std::string& run, const std::string& metric);
// One compact JSON object per line, each line ending in '\n' ("" for no rows).
std::string ToJsonLines(const std::vector<nlohmann::json>& rows);

struct PublishOptions {
  // Hub access (see hub_dataset.hpp). Empty endpoint = $HF_ENDPOINT, else https://huggingface.co;
  // empty token = LoadHfToken(getenv).
  HubClient::Options hub;
  std::string trackio_dir;                      // "" = TrackioDir(getenv): $TRACKIO_DIR, else $HF_HOME/trackio, ...
  std::function<void(const std::string&)> log;  // one line per destination; may be empty
};

struct PublishResult {
  size_t rows = 0;
  bool hub_committed = false;  // false: nothing changed on the Hub (or no Hub destination)
  std::string hub_commit_url;
  std::string trackio_db;  // the file written ("" = no trackio destination)
  size_t trackio_points = 0;
};

// Publishes the run's metrics to every destination in `config`. Both destinations are tried even
// when the first fails; the error is then the first failure's code, naming every failure (Hub:
// kConflict refused token, kNotFound unknown revision, kUnavailable unreachable or 5xx; trackio:
// kUnavailable when its file cannot be written). The run name is plan.name.
Result<PublishResult> Publish(const Plan& plan, const PublishConfig& config, Ledger& ledger, const std::string& run_dir,
                              const PublishOptions& options = {});

}  // namespace dsx::autolab
