// Runs exported into a trackio project, so `trackio show` (Hugging Face's open experiment tracker)
// plots AutoLab's curves beside any other run, and trackio's own sync takes them to a Space or a
// Hub dataset. trackio keeps a project in ONE SQLite file, <TRACKIO_DIR>/<project>.db; this
// writes that file the way trackio does.
//
// The schema followed is trackio 0.36.0's (gradio-app/trackio at git 2a027522, 2026-08-21):
// SQLiteStorage.init_db() in trackio/sqlite_storage.py, bulk_log() for how a run's rows look, and
// .agents/skills/trackio/storage_schema.md. Every table init_db creates is created here with the same
// columns (CREATE TABLE IF NOT EXISTS: an existing project keeps its data), and the same indexes.
// Rows written:
//   configs  (run_id, run_name, config JSON, created_at): one per run, INSERT OR REPLACE as trackio
//            does; config = the run's config plus trackio's reserved _Username (null), _Created,
//            _Group
//   metrics  (timestamp, run_id, run_name, step, metrics JSON, log_id, space_id NULL): one per
//            point; log_id is unique in trackio's schema, so a second export REPLACES its rows
//            instead of adding copies (a run's old points are deleted first, in the same
//            transaction, so a point no longer in the ledger does not linger)
// Timestamps are trackio's: Python's datetime.isoformat() in UTC ("2026-12-07T04:43:02.123000+00:00").
// Non-finite numbers are stored as trackio's serialize_values() stores them ("NaN", "Infinity").
// An older project file without run_id columns (trackio before run ids) is refused with kConflict
// rather than half-written: open it with trackio once to migrate it.
//
// Locking: trackio serialises writers with an flock on <TRACKIO_DIR>/<project>.lock
// (ProcessLock); this takes the same lock (bounded wait), then writes in one transaction in WAL
// mode, trackio's journal mode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "jobs/hf/hf_token.hpp"

namespace dsx::autolab {

inline constexpr const char* kTrackioSchemaVersion = "0.36.0";

// $TRACKIO_DIR, else <HF_HOME>/trackio where HF_HOME is $HF_HOME, else
// $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface (huggingface_hub.constants.HF_HOME).
std::string TrackioDir(const jobs::hf::GetEnv& getenv = {});

// trackio's canonical_project_name: only [A-Za-z0-9_-] kept, "default" when nothing is left.
std::string TrackioCanonicalProject(std::string_view project);
// "" when trackio accepts the project name, else why not (validate_project_name: the "registry-"
// prefix and the suffixes of its parquet sidecars are reserved).
std::string TrackioProjectProblem(std::string_view project);

// "YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00" of a Unix time in ms (microseconds shown when non-zero, as
// Python's isoformat does).
std::string TrackioTimestamp(std::int64_t unix_ms);

struct TrackioPoint {
  std::int64_t step = 0;
  nlohmann::json metrics = nlohmann::json::object();  // {"val_loss": 0.31}
  std::int64_t unix_ms = 0;
  std::string log_id;  // unique in the project: the key a re-export replaces by
};

struct TrackioRun {
  std::string run_id;                                // stable across exports
  std::string run_name;                              // shown in the dashboard
  std::string group;                                 // config._Group (runs of one configuration share it)
  nlohmann::json config = nlohmann::json::object();  // keys starting with '_' are trackio's: refused
  std::int64_t created_ms = 0;
  std::vector<TrackioPoint> points;  // written in this order (trackio reads by timestamp, then id)
};

struct TrackioExportResult {
  std::string db_path;
  size_t runs = 0, points = 0;
};

// Writes `runs` into <dir>/<canonical project>.db (created with trackio's schema when missing).
// kUsage for a refused project name or a config key starting with '_'; kConflict for a project
// file of another schema; kUnavailable when the file or its lock cannot be had.
Result<TrackioExportResult> ExportToTrackio(const std::string& dir, const std::string& project,
                                            const std::vector<TrackioRun>& runs);

}  // namespace dsx::autolab
