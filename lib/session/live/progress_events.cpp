#include "session/live/progress_events.hpp"

#include <cmath>

namespace dsx::session::live {
namespace {

using nlohmann::json;

Status Bad(const std::string& field, const std::string& want, const json* got) {
  std::string why = "event field 'data." + field + "' " + (got ? "must be " + want : "is required (" + want + ")");
  if (got) why += std::string(" (got ") + got->type_name() + ")";
  return Status::Failed(std::move(why));
}

const json* Find(const json& data, const char* key) {
  auto it = data.find(key);
  return it == data.end() ? nullptr : &*it;
}

// A JSON number that is finite: 1e999 parses to infinity, and would be stored as null.
bool Finite(const json& v) { return v.is_number() && std::isfinite(v.get<double>()); }

// Optional string of at most `max` bytes.
Status OptString(const json& data, const char* key, std::size_t max) {
  const json* v = Find(data, key);
  if (!v) return Status::Ok();
  const std::string want = "a string of at most " + std::to_string(max) + " bytes";
  if (!v->is_string() || v->get_ref<const std::string&>().size() > max) {
    if (v->is_string()) return Status::Failed("event field 'data." + std::string(key) + "' must be " + want);
    return Bad(key, want, v);
  }
  return Status::Ok();
}

Status CheckProgress(const json& d) {
  const json* done = Find(d, "done");
  if (!done || !Finite(*done) || done->get<double>() < 0) return Bad("done", "a number >= 0", done);
  if (const json* total = Find(d, "total"); total && (!Finite(*total) || total->get<double>() <= 0)) {
    return Bad("total", "a number > 0", total);
  }
  DSX_RETURN_IF_ERROR(OptString(d, "unit", kMaxProgressUnitBytes));
  DSX_RETURN_IF_ERROR(OptString(d, "label", kMaxLabelBytes));
  return OptString(d, "key", kMaxKeyBytes);
}

Status CheckMetric(const json& d) {
  const json* name = Find(d, "name");
  const std::string want_name = "a string of 1.." + std::to_string(kMaxMetricNameBytes) + " bytes";
  if (!name || !name->is_string()) return Bad("name", want_name, name);
  const std::size_t n = name->get_ref<const std::string&>().size();
  if (n == 0 || n > kMaxMetricNameBytes) return Status::Failed("event field 'data.name' must be " + want_name);
  const json* step = Find(d, "step");
  if (!step || !Finite(*step) || step->get<double>() < 0) return Bad("step", "a number >= 0", step);
  const json* value = Find(d, "value");
  if (!value || !Finite(*value)) return Bad("value", "a finite number", value);
  return Status::Ok();
}

Status CheckTable(const json& d) {
  const json* columns = Find(d, "columns");
  const std::string want_cols = "an array of 1.." + std::to_string(kMaxTableColumns) + " strings";
  if (!columns || !columns->is_array()) return Bad("columns", want_cols, columns);
  if (columns->empty() || columns->size() > kMaxTableColumns) {
    return Status::Failed("event field 'data.columns' must be " + want_cols + " (got " +
                          std::to_string(columns->size()) + ")");
  }
  for (std::size_t i = 0; i < columns->size(); ++i) {
    if (!(*columns)[i].is_string()) return Bad("columns[" + std::to_string(i) + "]", "a string", &(*columns)[i]);
  }
  const json* rows = Find(d, "rows");
  const std::string want_rows = "an array of at most " + std::to_string(kMaxTableRows) + " rows";
  if (!rows || !rows->is_array()) return Bad("rows", want_rows, rows);
  if (rows->size() > kMaxTableRows) {
    return Status::Failed("event field 'data.rows' must be " + want_rows + " (got " + std::to_string(rows->size()) +
                          ")");
  }
  for (std::size_t r = 0; r < rows->size(); ++r) {
    const json& row = (*rows)[r];
    const std::string field = "rows[" + std::to_string(r) + "]";
    const std::string want_row = "an array of " + std::to_string(columns->size()) + " cells (one per column)";
    if (!row.is_array()) return Bad(field, want_row, &row);
    if (row.size() != columns->size()) {
      return Status::Failed("event field 'data." + field + "' must be " + want_row + " (got " +
                            std::to_string(row.size()) + ")");
    }
    for (std::size_t c = 0; c < row.size(); ++c) {
      const json& cell = row[c];
      const bool ok = cell.is_string() || cell.is_boolean() || cell.is_null() || Finite(cell);
      if (!ok) {
        return Bad(field + "[" + std::to_string(c) + "]", "a string, a finite number, a boolean or null", &cell);
      }
    }
  }
  DSX_RETURN_IF_ERROR(OptString(d, "title", kMaxLabelBytes));
  return OptString(d, "key", kMaxKeyBytes);
}

}  // namespace

bool IsProgressEventType(std::string_view type) { return type == "progress" || type == "metric" || type == "table"; }

Status CheckProgressData(std::string_view type, const json& data) {
  if (!data.is_object()) return Status::Failed("event field 'data' must be an object");
  if (type == "progress") return CheckProgress(data);
  if (type == "metric") return CheckMetric(data);
  if (type == "table") return CheckTable(data);
  return Status::Ok();
}

}  // namespace dsx::session::live
