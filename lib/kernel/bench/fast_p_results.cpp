#include "kernel/bench/fast_p_results.hpp"

#include <cmath>
#include <set>

#include "core/fs.hpp"
#include "core/json_limits.hpp"

namespace dsx::kernel::bench {

using nlohmann::json;
namespace stdfs = std::filesystem;

namespace {

// Errors name the source and the field's path inside it, so a hand-edited or truncated file
// points at its own mistake.
struct Doc {
  std::string source;
  std::string prefix;  // "line 3: " for JSON lines
  Status Bad(const std::string& path, const std::string& what) const {
    return Status::Usage("'" + source + "': " + prefix + (path.empty() ? "" : path + ": ") + what);
  }
  Status Want(const std::string& path, const char* type, const json* got) const {
    return Bad(path, std::string("want ") + type + ", got " + (got ? got->type_name() : "nothing (missing)"));
  }
};

std::string Join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

const json* Field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

Result<std::string> NeedString(const Doc& d, const json& obj, const std::string& path, const char* key) {
  const json* v = Field(obj, key);
  if (!v || !v->is_string()) return d.Want(Join(path, key), "a string", v);
  return v->get<std::string>();
}

Result<double> NeedNumber(const Doc& d, const json& obj, const std::string& path, const char* key) {
  const json* v = Field(obj, key);
  if (!v || !v->is_number()) return d.Want(Join(path, key), "a number", v);
  return v->get<double>();
}

std::string FirstReason(const json& obj) {
  const json* r = Field(obj, "reasons");
  if (r && r->is_array() && !r->empty() && (*r)[0].is_string()) return (*r)[0].get<std::string>();
  return "";
}

// A row of a bench document that passed: its cold (else hot) medians, kernel and reference.
Status ReadTimes(const Doc& d, const json& row, const std::string& path, ConfigTime& c) {
  const json* cand = Field(row, "candidate");
  if (!cand || !cand->is_object()) return d.Want(Join(path, "candidate"), "an object", cand);
  const json* m = Field(*cand, "cold");
  c.mode = "cold";
  if (!m) {
    m = Field(*cand, "hot");
    c.mode = "hot";
  }
  const std::string cpath = Join(path, "candidate." + c.mode);
  if (!m) return d.Bad(Join(path, "candidate"), "no \"cold\" or \"hot\" measurement in a row with status ok");
  if (!m->is_object()) return d.Want(cpath, "an object", m);
  auto med = NeedNumber(d, *m, cpath, "median_ms");
  if (!med.ok()) return med.status();
  c.candidate_ms = *med;
  const json* ref = Field(row, "reference");
  if (!ref || ref->is_null()) {
    c.baseline_note = "the reference kernel was not timed (--no-reference-timing)";
    return {};
  }
  if (!ref->is_object()) return d.Want(Join(path, "reference"), "an object", ref);
  const json* rm = Field(*ref, c.mode.c_str());
  if (!rm) {
    c.baseline_note = "the reference kernel has no " + c.mode + " measurement";
    return {};
  }
  const std::string rpath = Join(path, "reference." + c.mode);
  if (!rm->is_object()) return d.Want(rpath, "an object", rm);
  auto rmed = NeedNumber(d, *rm, rpath, "median_ms");
  if (!rmed.ok()) return rmed.status();
  c.baseline_ms = *rmed;
  return {};
}

Result<json> ReadJsonFile(const stdfs::path& path) {
  auto text = fs::ReadFile(path, kMaxResultsFileBytes);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return text.status();
    return Status::Usage(text.status().message());  // too large, unreadable: the input is bad
  }
  auto doc = ParseJsonBounded(*text);
  if (!doc.ok()) return Status::Usage("'" + path.string() + "': " + doc.status().message());
  return doc;
}

// A gen run folder: the best candidate's bench document, or "not correct" when nothing passed.
Result<std::vector<TaskOutcome>> LoadGenRun(const stdfs::path& dir, const json& board, const std::string& source) {
  Doc d{source};
  auto task = NeedString(d, board, "", "task");
  if (!task.ok()) return task.status();
  const json* entries = Field(board, "entries");
  if (!entries || !entries->is_array()) return d.Want("entries", "an array", entries);
  const json* best = Field(board, "best");
  if (!best || !(best->is_null() || best->is_string())) return d.Want("best", "a string or null", best);
  TaskOutcome t;
  t.task = *task;
  t.baseline = "reference";
  t.source = source;
  if (best->is_null()) {
    t.status = "failed";
    t.reason = "no candidate passed verification (" + std::to_string(entries->size()) + " tried)";
    return std::vector<TaskOutcome>{t};
  }
  const std::string id = best->get<std::string>();
  // The id names a file under candidates/: a crafted leaderboard must not reach outside the run.
  if (id.empty() || id.find('/') != std::string::npos || id.find("..") != std::string::npos)
    return d.Bad("best", "'" + id + "' is not a candidate id");
  const stdfs::path bench = dir / "candidates" / (id + ".bench.json");
  auto doc = ReadJsonFile(bench);
  if (!doc.ok()) {
    if (doc.status().code() == Code::kNotFound)
      return Status::NotFound("'" + source + "': the best candidate's result '" + bench.string() + "' is missing");
    return doc.status();
  }
  // A --compile-only run keeps the compiler's JSON: the kernel was never verified or timed.
  if (doc->is_object() && !doc->contains("results") && (doc->contains("diagnostics") || doc->contains("ok"))) {
    t.status = "failed";
    t.reason = "compile-only run: the best candidate was compiled, never verified or timed";
    return std::vector<TaskOutcome>{t};
  }
  auto o = OutcomeFromBenchDoc(*doc, bench.string());
  if (!o.ok()) return o.status();
  if (o->task != t.task)
    return d.Bad("best", "its result is for task '" + o->task + "', the run for '" + t.task + "'");
  return std::vector<TaskOutcome>{*o};
}

// `base`: where `doc` sits inside the file ("" at the top, "tasks[2]" in a multi-task document).
Result<TaskOutcome> ReadBenchDoc(const Doc& d, const json& doc, const std::string& base) {
  if (!doc.is_object()) return d.Want(base, "a JSON object (a dsx kernel bench --json document)", &doc);
  TaskOutcome t;
  t.source = d.source;
  t.baseline = "reference";
  auto task = NeedString(d, doc, base, "task");
  if (!task.ok()) return task.status();
  t.task = *task;
  auto status = NeedString(d, doc, base, "status");
  if (!status.ok()) return status.status();
  t.status = *status;
  const json* results = Field(doc, "results");
  if (!results || !results->is_array()) return d.Want(Join(base, "results"), "an array", results);
  if (const json* dev = Field(doc, "device"); dev && dev->is_object())
    if (const json* name = Field(*dev, "name"); name && name->is_string()) t.device = name->get<std::string>();
  bool all_ok = !results->empty();
  std::string first_bad;
  for (size_t i = 0; i < results->size(); ++i) {
    const json& row = (*results)[i];
    const std::string path = Join(base, "results[" + std::to_string(i) + "]");
    if (!row.is_object()) return d.Want(path, "an object", &row);
    auto rs = NeedString(d, row, path, "status");
    if (!rs.ok()) return rs.status();
    auto dtype = NeedString(d, row, path, "dtype");
    if (!dtype.ok()) return dtype.status();
    auto preset = NeedString(d, row, path, "preset");
    if (!preset.ok()) return preset.status();
    if (const json* f = Field(row, "flagged"); f) {
      if (!f->is_boolean()) return d.Want(Join(path, "flagged"), "a boolean", f);
      t.flagged = t.flagged || f->get<bool>();
    }
    if (*rs != "ok") {
      all_ok = false;
      if (first_bad.empty()) {
        std::string why = FirstReason(row);
        first_bad = *dtype + "/" + *preset + ": " + *rs + (why.empty() ? "" : ": " + why);
      }
      continue;
    }
    ConfigTime c;
    c.dtype = *dtype;
    c.preset = *preset;
    DSX_RETURN_IF_ERROR(ReadTimes(d, row, path, c));
    t.configs.push_back(std::move(c));
  }
  t.correct = all_ok && t.status == "ok";
  if (!t.correct) {
    t.reason = FirstReason(doc);
    if (t.reason.empty()) t.reason = first_bad;
    if (t.reason.empty() && results->empty()) t.reason = "no configuration was run";
    if (t.status == "ok") t.status = "failed";  // "ok" with a failed or missing row is not correct
  }
  return t;
}

}  // namespace

Result<TaskOutcome> OutcomeFromBenchDoc(const json& doc, const std::string& source) {
  return ReadBenchDoc(Doc{source}, doc, "");
}

Result<std::vector<TaskOutcome>> LoadResults(const stdfs::path& path) {
  std::error_code ec;
  if (!stdfs::exists(path, ec)) return Status::NotFound("no results at '" + path.string() + "'");
  if (stdfs::is_directory(path, ec)) {
    const stdfs::path board = path / "leaderboard.json";
    if (!stdfs::exists(board, ec))
      return Status::Usage("'" + path.string() + "' is a folder without leaderboard.json (not a kernel gen run)");
    auto doc = ReadJsonFile(board);
    if (!doc.ok()) return doc.status();
    if (!doc->is_object()) return Doc{board.string()}.Want("", "an object", &*doc);
    return LoadGenRun(path, *doc, board.string());
  }
  auto doc = ReadJsonFile(path);
  if (!doc.ok()) return doc.status();
  Doc d{path.string()};
  if (!doc->is_object()) return d.Want("", "a JSON object (a dsx kernel bench --json document)", &*doc);
  if (doc->contains("entries") && doc->contains("run_dir"))  // a gen leaderboard.json
    return LoadGenRun(path.parent_path(), *doc, path.string());
  if (const json* tasks = Field(*doc, "tasks")) {  // bench with several tasks
    if (!tasks->is_array()) return d.Want("tasks", "an array", tasks);
    std::vector<TaskOutcome> out;
    for (size_t i = 0; i < tasks->size(); ++i) {
      auto o = ReadBenchDoc(d, (*tasks)[i], "tasks[" + std::to_string(i) + "]");
      if (!o.ok()) return o.status();
      out.push_back(std::move(*o));
    }
    return out;
  }
  if (!doc->contains("results") && !doc->contains("task"))
    return d.Bad("", "not a dsx kernel bench or gen document (no \"results\", \"tasks\" or \"entries\")");
  auto o = OutcomeFromBenchDoc(*doc, path.string());
  if (!o.ok()) return o.status();
  return std::vector<TaskOutcome>{std::move(*o)};
}

Result<BaselineTable> LoadBaselineJson(const stdfs::path& path) {
  auto text = fs::ReadFile(path, kMaxResultsFileBytes);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return text.status();
    return Status::Usage(text.status().message());
  }
  BaselineTable table;
  table.file = path.string();
  std::vector<std::pair<int, json>> rows;
  // One JSON array, or JSON lines (what the script prints).
  auto whole = ParseJsonBounded(*text);
  if (whole.ok() && whole->is_array()) {
    for (size_t i = 0; i < whole->size(); ++i) rows.push_back({static_cast<int>(i) + 1, (*whole)[i]});
  } else {
    size_t start = 0;
    int line = 0;
    while (start < text->size()) {
      size_t nl = text->find('\n', start);
      std::string_view s(text->data() + start, (nl == std::string::npos ? text->size() : nl) - start);
      start = nl == std::string::npos ? text->size() : nl + 1;
      ++line;
      if (s.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto j = ParseJsonBounded(s);
      if (!j.ok())
        return Status::Usage("'" + path.string() + "': line " + std::to_string(line) + ": " + j.status().message() +
                             " (want torch_eager.py's JSON lines)");
      rows.push_back({line, std::move(*j)});
    }
  }
  if (rows.empty()) return Status::Usage("'" + path.string() + "': no baseline rows (empty file)");
  for (auto& [line, row] : rows) {
    const Doc d{path.string(), "line " + std::to_string(line) + ": "};
    const std::string where;
    if (!row.is_object()) return d.Want(where, "an object", &row);
    auto task = NeedString(d, row, where, "task");
    if (!task.ok()) return task.status();
    auto dtype = NeedString(d, row, where, "dtype");
    if (!dtype.ok()) return dtype.status();
    auto preset = NeedString(d, row, where, "preset");
    if (!preset.ok()) return preset.status();
    BaselineRow b;
    b.line = line;
    if (const json* dev = Field(row, "device"); dev && dev->is_string()) b.device = dev->get<std::string>();
    const json* skipped = Field(row, "skipped");
    const json* error = Field(row, "error");
    if (skipped && skipped->is_string()) {
      b.missing = "skipped: " + skipped->get<std::string>();
    } else if (error && error->is_string()) {
      b.missing = "error: " + error->get<std::string>();
    } else {
      const json* med = Field(row, "median_ms");
      if (!med) return d.Bad(where, "no \"median_ms\" (a --dry-run listing is not a baseline)");
      if (!med->is_number()) return d.Want("median_ms", "a number", med);
      b.median_ms = med->get<double>();
      if (!(b.median_ms > 0) || !std::isfinite(b.median_ms))
        return d.Bad("median_ms", "want a time > 0 ms, got " + med->dump());
    }
    auto key = std::make_tuple(*task, *dtype, *preset);
    if (auto it = table.rows.find(key); it != table.rows.end())
      return d.Bad(where, *task + " " + *dtype + "/" + *preset + " is also on line " + std::to_string(it->second.line) +
                              " (one baseline per configuration)");
    table.rows.emplace(std::move(key), std::move(b));
  }
  return table;
}

void ApplyBaseline(std::vector<TaskOutcome>& tasks, const BaselineTable& table) {
  for (auto& t : tasks) {
    t.baseline = "torch_eager";
    for (auto& c : t.configs) {
      c.baseline_ms = 0;
      c.baseline_note.clear();
      auto it = table.rows.find({t.task, c.dtype, c.preset});
      if (it == table.rows.end()) {
        c.baseline_note = "no PyTorch eager time in '" + table.file + "'";
      } else if (!it->second.missing.empty()) {
        c.baseline_note = "PyTorch eager " + it->second.missing;
      } else if (c.mode != "cold") {
        // torch_eager.py flushes L2 before every sample: only a cold time compares with it.
        c.baseline_note = "the kernel was timed hot only; PyTorch eager is timed cold";
      } else if (!t.device.empty() && !it->second.device.empty() && t.device != it->second.device) {
        c.baseline_note = "PyTorch eager ran on '" + it->second.device + "', the kernel on '" + t.device + "'";
      } else {
        c.baseline_ms = it->second.median_ms;
      }
    }
  }
}

Status CheckUniqueTasks(const std::vector<TaskOutcome>& tasks) {
  std::map<std::string, std::string> seen;
  for (const auto& t : tasks) {
    auto [it, fresh] = seen.emplace(t.task, t.source);
    if (!fresh)
      return Status::Usage("task '" + t.task + "' appears twice ('" + it->second + "' and '" + t.source +
                           "'): fast_p scores one result per task");
  }
  return {};
}

Result<FastPReport> ScoreBenchDocs(const std::vector<json>& docs, const std::vector<double>& ps,
                                   const BaselineTable* baseline) {
  std::vector<TaskOutcome> tasks;
  for (const auto& doc : docs) {
    auto o = OutcomeFromBenchDoc(doc, "bench");
    if (!o.ok()) return o.status();
    tasks.push_back(std::move(*o));
  }
  DSX_RETURN_IF_ERROR(CheckUniqueTasks(tasks));
  if (baseline) ApplyBaseline(tasks, *baseline);
  return ComputeFastP(tasks, ps);
}

Result<FastPReport> ScoreFiles(const std::vector<stdfs::path>& paths, const std::vector<double>& ps,
                               const std::string& baseline_json) {
  if (paths.empty()) return Status::Usage("no results to score: give bench --json files or gen run folders");
  std::vector<TaskOutcome> tasks;
  for (const auto& p : paths) {
    auto v = LoadResults(p);
    if (!v.ok()) return v.status();
    tasks.insert(tasks.end(), std::make_move_iterator(v->begin()), std::make_move_iterator(v->end()));
  }
  DSX_RETURN_IF_ERROR(CheckUniqueTasks(tasks));
  if (!baseline_json.empty()) {
    auto table = LoadBaselineJson(baseline_json);
    if (!table.ok()) return table.status().Wrap("--baseline-json");
    ApplyBaseline(tasks, *table);
  }
  return ComputeFastP(tasks, ps);
}

}  // namespace dsx::kernel::bench
