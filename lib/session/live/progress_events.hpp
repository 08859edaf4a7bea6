// Progress, metric and table events (docs/protocol/sessions.md, section 3 "Progress, metrics and
// tables"; the agreed vocabulary is /work/team/events.md): application events that long jobs
// (kernel gen, fine-tuning, AutoLab) post so that every viewer (tail --text, the web page) can
// draw a bar, a chart or a table. The server checks their shape, so a viewer never meets a
// malformed one, and folds them into the compacted view (compactor.hpp).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::session::live {

inline constexpr std::size_t kMaxProgressUnitBytes = 32;
inline constexpr std::size_t kMaxLabelBytes = 200;  // progress.label, table.title
inline constexpr std::size_t kMaxKeyBytes = 64;     // progress.key, table.key
inline constexpr std::size_t kMaxMetricNameBytes = 100;
inline constexpr std::size_t kMaxTableColumns = 64;
inline constexpr std::size_t kMaxTableRows = 1000;

// "progress", "metric" or "table".
bool IsProgressEventType(std::string_view type);

// Checks `data` of a draft of one of those types. OK or kFailed (HTTP 400) naming the field and
// what it must be: "event field 'data.done' must be a number >= 0 (got string)".
Status CheckProgressData(std::string_view type, const nlohmann::json& data);

}  // namespace dsx::session::live
