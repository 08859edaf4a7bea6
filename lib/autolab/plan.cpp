// Reads an AutoLab plan from YAML and checks every key. The checker never stops at the first problem:
// each one becomes a PlanError with its 1-based line and column (yaml-cpp marks are 0-based), and the
// plan is returned only when there are none. Reference: man/dsx-autolab.1, docs/autolab.md.
#include "autolab/plan.hpp"

#include "autolab/papers.hpp"
#include "autolab/publish_config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

#include "autolab/command_template.hpp"
#include "core/fs.hpp"
#include "core/utf8.hpp"

namespace dsx::autolab {

namespace {

namespace stdfs = std::filesystem;

// Optimal-string-alignment distance (an adjacent swap counts as one edit), for "did you mean".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string Suggest(std::string_view word, const std::vector<std::string>& known) {
  for (const auto& k : known) {
    if (EditDistance(word, k) == 1) return k;
  }
  return "";
}

std::string Got(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "'" + n.Scalar() + "'";
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// A YAML value as JSON: plain scalars become numbers, booleans or null when they read as one;
// quoted scalars stay strings ("'3'" is the string 3).
nlohmann::json ValueJson(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return nullptr;
  if (n.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& item : n) a.push_back(ValueJson(item));
    return a;
  }
  if (n.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& kv : n) o[kv.first.Scalar()] = ValueJson(kv.second);
    return o;
  }
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return i;
  if (!s.empty()) {
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end == s.c_str() + s.size() && std::isfinite(d) && s.find_first_of("0123456789") != std::string::npos) return d;
  }
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return s;
}

class Checker {
 public:
  explicit Checker(const std::string& path) {
    plan_.path = path;
    stdfs::path p(path);
    plan_.dir = p.has_parent_path() ? p.parent_path().string() : ".";
    plan_.name = p.stem().string();
  }

  PlanCheck Run(std::string_view text) {
    // The plan becomes JSON (plan.json, its hash, the ledger), and JSON text is UTF-8: a plan in
    // Latin-1 is refused here, at the first bad byte, rather than failing (or crashing) later.
    if (const size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos) {
      int line = 1, column = 1;
      for (size_t i = 0; i < bad; ++i) {
        if (text[i] == '\n') {
          ++line;
          column = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
          ++column;
        }
      }
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
      errors_.push_back(
          {line, column, std::string("the plan is not valid UTF-8 (byte ") + byte + "): save it as UTF-8"});
      return Finish();
    }
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      ErrorAt(e.mark, "not valid YAML: " + e.msg);
      return Finish();
    }
    if (!root.IsMap()) {
      ErrorAt(root.Mark(),
              "a plan is a mapping with objective, budget, experiment and sweep or evolve (got " + Got(root) + ")");
      return Finish();
    }
    root_mark_ = root.Mark();
    Keys(root, "",
         {"name", "objective", "budget", "experiment", "sweep", "evolve", "researcher", "backend", "resources",
          "session_server", "publish"});
    if (auto n = root["name"]; n) String(n, "name", plan_.name, true);
    Objective(Section(root, "objective", true));
    BudgetSection(Section(root, "budget", true));
    ExperimentSection(Section(root, "experiment", true));
    if (auto n = Section(root, "sweep", false); n) SweepSection(n);
    if (auto n = Section(root, "evolve", false); n) EvolveSection(n);
    if (auto n = Section(root, "researcher", false); n) ResearcherSection(n);
    if (auto n = root["backend"]; n) Enum(n, "backend", {"local", "slurm", "hf"}, plan_.backend);
    if (auto n = Section(root, "resources", false); n) ResourcesSection(n);
    if (auto n = root["session_server"]; n && String(n, "session_server", plan_.session_server, false)) {
      if (!plan_.session_server.empty() && plan_.session_server.rfind("http://", 0) != 0 &&
          plan_.session_server.rfind("https://", 0) != 0) {
        Error(n, "session_server must be an http:// or https:// URL (got " + Got(n) + ")");
      }
    }
    if (auto n = root["publish"]; n) plan_.publish = CheckPublishSection(n, &errors_);
    CrossChecks(root);
    return Finish();
  }

 private:
  void ErrorAt(const YAML::Mark& m, std::string message) {
    int line = m.line >= 0 ? m.line + 1 : 0;
    int column = m.column >= 0 ? m.column + 1 : 0;
    errors_.push_back({line, column, std::move(message)});
  }
  void Error(const YAML::Node& n, std::string message) { ErrorAt(Where(n), std::move(message)); }

  // Where a mapping's own key is ("budget:"), so "budget.x is required" points at the section's
  // name rather than at whichever key happens to come first inside it.
  void RememberKey(const YAML::Node& value, const YAML::Mark& key_mark) { key_marks_.emplace_back(value, key_mark); }
  YAML::Mark Where(const YAML::Node& n) const {
    for (const auto& [node, mark] : key_marks_) {
      if (node.is(n)) return mark;
    }
    return n.Mark();
  }

  static std::string Join(std::string_view where, std::string_view key) {
    return where.empty() ? std::string(key) : std::string(where) + "." + std::string(key);
  }

  PlanCheck Finish() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const PlanError& a, const PlanError& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    PlanCheck out;
    out.errors = std::move(errors_);
    if (out.errors.empty()) out.plan = std::move(plan_);
    return out;
  }

  // Unknown keys are errors (a misspelt key silently ignored would run the wrong experiment).
  // A key given twice is an error too: yaml-cpp keeps one of them silently.
  void Keys(const YAML::Node& map, std::string_view where, const std::vector<std::string>& known) {
    std::map<std::string, int> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (auto [it, fresh] = seen.emplace(key, kv.first.Mark().line + 1); !fresh) {
        Error(kv.first, "'" + Join(where, key) + "' is given twice (first at line " + std::to_string(it->second) + ")");
        continue;
      }
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string msg = "unknown key '" + Join(where, key) + "'";
      if (std::string s = Suggest(key, known); !s.empty()) msg += ": did you mean '" + s + "'?";
      Error(kv.first, msg);
    }
  }

  // A mapping-valued key; missing is an error when required. Returns an undefined node otherwise.
  YAML::Node Section(const YAML::Node& parent, const std::string& key, bool required, std::string_view where = "") {
    YAML::Node n = parent[key];
    if (!n) {
      if (required) ErrorAt(Where(parent), Join(where, key) + " is required");
      return YAML::Node(YAML::NodeType::Undefined);
    }
    if (!n.IsMap()) {
      Error(n, Join(where, key) + " must be a mapping (got " + Got(n) + ")");
      return YAML::Node(YAML::NodeType::Undefined);
    }
    for (const auto& kv : parent) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) RememberKey(n, kv.first.Mark());
    }
    return n;
  }

  bool String(const YAML::Node& n, const std::string& field, std::string& out, bool non_empty) {
    if (!n.IsScalar() || (non_empty && n.Scalar().empty())) {
      Error(n, field + " must be a " + (non_empty ? "non-empty " : "") + "string (got " + Got(n) + ")");
      return false;
    }
    out = n.Scalar();
    return true;
  }

  template <typename Int>
  bool Integer(const YAML::Node& n, const std::string& field, Int& out, Int min) {
    Int v{};
    const char* what = min > 0 ? "a positive integer" : min == 0 ? "a non-negative integer" : "an integer";
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && p == s.data() + s.size() && !s.empty() && v >= min) {
        out = v;
        return true;
      }
    }
    Error(n, field + " must be " + what + " (got " + Got(n) + ")");
    return false;
  }

  bool Number(const YAML::Node& n, const std::string& field, double& out, double min, bool min_open, const char* what) {
    if (n.IsScalar() && !n.Scalar().empty()) {
      const std::string& s = n.Scalar();
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (end == s.c_str() + s.size() && std::isfinite(d) && (min_open ? d > min : d >= min)) {
        out = d;
        return true;
      }
    }
    Error(n, field + " must be " + what + " (got " + Got(n) + ")");
    return false;
  }

  bool Bool(const YAML::Node& n, const std::string& field, bool& out) {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return out = true, true;
      if (s == "false" || s == "False" || s == "FALSE") return out = false, true;
    }
    Error(n, field + " must be true or false (got " + Got(n) + ")");
    return false;
  }

  bool Enum(const YAML::Node& n, const std::string& field, const std::vector<std::string>& words, std::string& out) {
    if (n.IsScalar() && std::find(words.begin(), words.end(), n.Scalar()) != words.end()) {
      out = n.Scalar();
      return true;
    }
    std::string list;
    for (const auto& w : words) list += (list.empty() ? "" : ", ") + w;
    std::string msg = field + " must be one of " + list + " (got " + Got(n) + ")";
    if (n.IsScalar()) {
      if (std::string s = Suggest(n.Scalar(), words); !s.empty()) msg += ": did you mean '" + s + "'?";
    }
    Error(n, msg);
    return false;
  }

  // Seconds as an integer, or a number with a unit: 90s, 30m, 2h, 1d.
  bool Duration(const YAML::Node& n, const std::string& field, std::int64_t& out, bool positive) {
    if (n.IsScalar() && !n.Scalar().empty()) {
      std::string s = n.Scalar();
      std::int64_t unit = 1;
      switch (s.back()) {
        case 's': unit = 1, s.pop_back(); break;
        case 'm': unit = 60, s.pop_back(); break;
        case 'h': unit = 3600, s.pop_back(); break;
        case 'd': unit = 86400, s.pop_back(); break;
        default: break;
      }
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && p == s.data() + s.size() && !s.empty() && (positive ? v > 0 : v >= 0) &&
          v <= std::numeric_limits<std::int64_t>::max() / unit) {
        out = v * unit;
        return true;
      }
    }
    Error(n, field + " must be a " + (positive ? "positive" : "non-negative") +
                 " duration: seconds, or a number with s, m, h or d (got " + Got(n) + ")");
    return false;
  }

  void Objective(const YAML::Node& n) {
    if (!n) return;
    auto& o = plan_.objective;
    Keys(n, "objective", {"metric", "direction", "margin", "repeats", "confidence"});
    if (auto m = n["metric"]; !m) {
      ErrorAt(Where(n), "objective.metric is required (the metric's key, such as val_loss)");
    } else {
      String(m, "objective.metric", o.metric, true);
    }
    if (auto d = n["direction"]; !d) {
      ErrorAt(Where(n), "objective.direction is required (minimize or maximize)");
    } else {
      std::string word;
      if (Enum(d, "objective.direction", {"minimize", "maximize"}, word)) o.maximize = word == "maximize";
    }
    if (auto m = n["margin"]; m) Number(m, "objective.margin", o.margin, 0, false, "a non-negative number");
    if (auto r = n["repeats"]; r) Integer(r, "objective.repeats", o.repeats, 1);
    if (auto c = n["confidence"]; c) {
      if (Number(c, "objective.confidence", o.confidence, 0, true, "a number between 0 and 1") && o.confidence >= 1) {
        Error(c, "objective.confidence must be a number between 0 and 1 (got " + Got(c) + ")");
      }
    }
  }

  void BudgetSection(const YAML::Node& n) {
    if (!n) return;
    auto& b = plan_.budget;
    Keys(n, "budget", {"max_experiments", "max_parallel", "wall_clock", "experiment_timeout", "max_cost_usd"});
    if (auto m = n["max_experiments"]; !m) {
      ErrorAt(Where(n), "budget.max_experiments is required");
    } else {
      Integer(m, "budget.max_experiments", b.max_experiments, 1);
    }
    if (auto m = n["max_parallel"]; m) Integer(m, "budget.max_parallel", b.max_parallel, 1);
    if (auto m = n["wall_clock"]; m) Duration(m, "budget.wall_clock", b.wall_clock_s, false);
    if (auto m = n["experiment_timeout"]; !m) {
      ErrorAt(Where(n), "budget.experiment_timeout is required (a hung experiment must be killed)");
    } else {
      Duration(m, "budget.experiment_timeout", b.experiment_timeout_s, true);
    }
    if (auto m = n["max_cost_usd"]; m)
      Number(m, "budget.max_cost_usd", b.max_cost_usd, 0, false, "a non-negative number");
  }

  void ExperimentSection(const YAML::Node& n) {
    if (!n) return;
    auto& e = plan_.experiment;
    Keys(n, "experiment", {"command", "files", "git_worktree", "env", "metric", "pruning"});
    if (auto c = n["command"]; !c) {
      ErrorAt(Where(n), "experiment.command is required");
    } else if (String(c, "experiment.command", e.command, true)) {
      command_node_ = c;
    }
    if (auto f = n["files"]; f) {
      if (!f.IsSequence()) {
        Error(f, "experiment.files must be a list of paths (got " + Got(f) + ")");
      } else {
        for (size_t i = 0; i < f.size(); ++i) {
          std::string path;
          std::string field = "experiment.files[" + std::to_string(i) + "]";
          if (!String(f[i], field, path, true)) continue;
          if (!stdfs::exists(stdfs::path(plan_.dir) / path)) {
            Error(f[i], field + ": '" + path + "' does not exist (relative to " + plan_.dir + ")");
          }
          e.files.push_back(path);
        }
      }
    }
    if (auto g = n["git_worktree"]; g) Bool(g, "experiment.git_worktree", e.git_worktree);
    if (auto env = Section(n, "env", false, "experiment"); env) {
      for (const auto& kv : env) {
        const std::string key = kv.first.Scalar();
        if (!IsIdentifier(key)) Error(kv.first, "experiment.env: '" + key + "' is not a valid variable name");
        std::string value;
        if (String(kv.second, "experiment.env." + key, value, false)) e.env[key] = value;
      }
    }
    if (auto m = Section(n, "metric", false, "experiment"); m) MetricSection(m);
    if (auto p = Section(n, "pruning", false, "experiment"); p) {
      Keys(p, "experiment.pruning", {"median_stopping", "min_steps"});
      if (auto s = p["median_stopping"]; s) Bool(s, "experiment.pruning.median_stopping", e.pruning.median_stopping);
      if (auto s = p["min_steps"]; s) Integer(s, "experiment.pruning.min_steps", e.pruning.min_steps, 0);
      if (e.pruning.median_stopping && e.metric.intermediate_key.empty()) {
        ErrorAt(Where(p),
                "experiment.pruning.median_stopping needs experiment.metric.intermediate_key "
                "(the step key of intermediate metric lines)");
      }
    }
  }

  void MetricSection(const YAML::Node& m) {
    auto& s = plan_.experiment.metric;
    Keys(m, "experiment.metric", {"source", "file", "regex", "intermediate_key"});
    std::string word = "json_lines";
    if (auto n = m["source"]; n) Enum(n, "experiment.metric.source", {"json_lines", "file", "regex"}, word);
    s.kind = word == "file" ? MetricSource::kFile : word == "regex" ? MetricSource::kRegex : MetricSource::kJsonLines;
    if (auto n = m["file"]; n) String(n, "experiment.metric.file", s.file, true);
    if (auto n = m["regex"]; n && String(n, "experiment.metric.regex", s.regex, true)) {
      try {
        std::regex re(s.regex);
        if (re.mark_count() != 1) {
          Error(n, "experiment.metric.regex must have exactly one capture group (has " +
                       std::to_string(re.mark_count()) + ")");
        }
      } catch (const std::regex_error& e) {
        Error(n, "experiment.metric.regex is not a valid regular expression: " + std::string(e.what()));
      }
    }
    if (auto n = m["intermediate_key"]; n) String(n, "experiment.metric.intermediate_key", s.intermediate_key, true);
    if (s.kind == MetricSource::kFile && s.file.empty() && !m["file"]) {
      ErrorAt(Where(m), "experiment.metric.file is required with source: file");
    }
    if (s.kind == MetricSource::kRegex && !m["regex"]) {
      ErrorAt(Where(m), "experiment.metric.regex is required with source: regex");
    }
    if (s.kind != MetricSource::kFile && m["file"]) Error(m["file"], "experiment.metric.file is only for source: file");
    if (s.kind != MetricSource::kRegex && m["regex"]) {
      Error(m["regex"], "experiment.metric.regex is only for source: regex");
    }
    if (s.kind != MetricSource::kJsonLines && m["intermediate_key"]) {
      Error(m["intermediate_key"], "experiment.metric.intermediate_key is only for source: json_lines");
    }
  }

  void SweepSection(const YAML::Node& n) {
    Sweep sweep;
    Keys(n, "sweep", {"mode", "params", "samples", "seed"});
    std::string mode = "grid";
    if (auto m = n["mode"]; m) Enum(m, "sweep.mode", {"grid", "random"}, mode);
    sweep.mode = mode == "random" ? Sweep::kRandom : Sweep::kGrid;
    if (auto s = n["samples"]; s) {
      if (sweep.mode != Sweep::kRandom) {
        Error(s, "sweep.samples is only for mode: random (a grid runs every combination)");
      } else {
        Integer(s, "sweep.samples", sweep.samples, 1);
      }
    } else if (sweep.mode == Sweep::kRandom) {
      ErrorAt(Where(n), "sweep.samples is required with mode: random");
    }
    if (auto s = n["seed"]; s) Integer<std::uint64_t>(s, "sweep.seed", sweep.seed, 0);
    if (auto p = Section(n, "params", true, "sweep"); p) {
      if (p.size() == 0) Error(p, "sweep.params must name at least one parameter");
      for (const auto& kv : p) {
        Param param;
        declared_.push_back(kv.first.Scalar());
        if (kv.first.Scalar() == "seed" || kv.first.Scalar() == "workdir") {
          Error(kv.first, "sweep.params: '" + kv.first.Scalar() + "' is a built-in placeholder, not a parameter name");
        }
        RememberKey(kv.second, kv.first.Mark());
        if (ParamSpec(kv.first, kv.second, sweep.mode, param)) sweep.params.push_back(std::move(param));
      }
    }
    std::sort(sweep.params.begin(), sweep.params.end(), [](const Param& a, const Param& b) { return a.name < b.name; });
    plan_.sweep = std::move(sweep);
  }

  bool ParamSpec(const YAML::Node& key, const YAML::Node& spec, Sweep::Mode mode, Param& p) {
    p.name = key.Scalar();
    const std::string field = "sweep.params." + p.name;
    if (!IsIdentifier(p.name)) {
      Error(key, "sweep.params: '" + p.name + "' is not a valid parameter name (letters, digits, _)");
      return false;
    }
    const Param::Kind list_kind = mode == Sweep::kGrid ? Param::kGrid : Param::kChoice;
    if (spec.IsSequence()) {  // shorthand: lr: [0.1, 0.01]
      p.kind = list_kind;
      for (const auto& v : spec) p.values.push_back(ValueJson(v));
      if (p.values.empty()) Error(spec, field + " must list at least one value");
      return !p.values.empty();
    }
    if (!spec.IsMap()) {
      Error(spec, field + " must be a list of values or a mapping with type (got " + Got(spec) + ")");
      return false;
    }
    Keys(spec, field, {"type", "values", "low", "high", "count"});
    std::string type = spec["values"] ? (mode == Sweep::kGrid ? "grid" : "choice") : "";
    if (auto t = spec["type"]; t) {
      if (!Enum(t, field + ".type", {"grid", "choice", "uniform", "loguniform", "int"}, type)) return false;
    } else if (type.empty()) {
      ErrorAt(Where(spec), field + ".type is required (grid, choice, uniform, loguniform or int)");
      return false;
    }
    bool ok = true;
    if (type == "grid" || type == "choice") {
      p.kind = type == "grid" ? Param::kGrid : Param::kChoice;
      auto v = spec["values"];
      if (!v || !v.IsSequence() || v.size() == 0) {
        ErrorAt(v ? v.Mark() : Where(spec), field + ".values must be a non-empty list");
        return false;
      }
      for (const auto& item : v) p.values.push_back(ValueJson(item));
      for (const char* k : {"low", "high", "count"}) {
        if (spec[k]) ok = false, Error(spec[k], field + "." + k + " is only for uniform, loguniform and int");
      }
      return ok;
    }
    p.kind = type == "uniform" ? Param::kUniform : type == "loguniform" ? Param::kLogUniform : Param::kInt;
    if (spec["values"]) ok = false, Error(spec["values"], field + ".values is only for grid and choice");
    for (const char* k : {"low", "high"}) {
      auto b = spec[k];
      double& out = std::string(k) == "low" ? p.low : p.high;
      if (!b) {
        ok = false, ErrorAt(Where(spec), field + "." + k + " is required for type " + type);
      } else if (p.kind == Param::kInt) {
        std::int64_t i = 0;
        if (Integer(b, field + "." + k, i, std::numeric_limits<std::int64_t>::min())) out = static_cast<double>(i);
        else ok = false;
      } else if (!Number(b, field + "." + k, out, -std::numeric_limits<double>::infinity(), false, "a number")) {
        ok = false;
      }
    }
    if (ok && p.low >= p.high) ok = false, ErrorAt(Where(spec), field + ": low must be less than high");
    if (ok && p.kind == Param::kLogUniform && p.low <= 0) {
      ok = false, Error(spec["low"], field + ".low must be positive for loguniform");
    }
    if (auto c = spec["count"]; c) {
      if (!Integer(c, field + ".count", p.count, p.kind == Param::kInt ? 1 : 2)) {
        ok = false;
      } else if (ok && p.kind == Param::kInt && p.count > p.high - p.low + 1) {
        ok = false,
        Error(c, field + ".count is more than the " + std::to_string(static_cast<std::int64_t>(p.high - p.low + 1)) +
                     " integers in [low, high]");
      }
    } else if (mode == Sweep::kGrid && p.kind != Param::kInt) {
      ok = false, ErrorAt(Where(spec), field + ".count is required in a grid sweep (points over [low, high])");
    }
    return ok;
  }

  void EvolveSection(const YAML::Node& n) {
    Evolve ev;
    Keys(n, "evolve", {"base", "hypotheses"});
    if (auto b = Section(n, "base", false, "evolve"); b) {
      for (const auto& kv : b) {
        const std::string key = kv.first.Scalar();
        declared_.push_back(key);
        if (key == "seed" || key == "workdir") {
          Error(kv.first, "evolve.base: '" + key + "' is a built-in placeholder, not a parameter name");
        }
        if (!IsIdentifier(key)) Error(kv.first, "evolve.base: '" + key + "' is not a valid parameter name");
        ev.base[key] = ValueJson(kv.second);
      }
    }
    std::set<std::string> ids;
    if (auto hs = n["hypotheses"]; hs) {
      if (!hs.IsSequence()) {
        Error(hs, "evolve.hypotheses must be a list (got " + Got(hs) + ")");
      } else {
        for (size_t i = 0; i < hs.size(); ++i) {
          Hypothesis h;
          if (HypothesisSpec(hs[i], "evolve.hypotheses[" + std::to_string(i) + "]", ev, h)) {
            if (!ids.insert(h.id).second) Error(hs[i]["id"], "evolve.hypotheses: id '" + h.id + "' is used twice");
            ev.hypotheses.push_back(std::move(h));
          }
        }
      }
    }
    evolve_node_ = n;
    plan_.evolve = std::move(ev);
  }

  bool HypothesisSpec(const YAML::Node& n, const std::string& field, const Evolve& ev, Hypothesis& h) {
    if (!n.IsMap()) {
      Error(n, field + " must be a mapping with id, rationale and overrides or patch (got " + Got(n) + ")");
      return false;
    }
    Keys(n, field, {"id", "rationale", "overrides", "patch"});
    bool ok = true;
    if (auto id = n["id"]; !id) {
      ok = false, ErrorAt(Where(n), field + ".id is required");
    } else if (String(id, field + ".id", h.id, true) && !IsIdentifier(std::string(1, 'x') + h.id)) {
      // ids become folder names: letters, digits, '_' and '-' only
      bool clean = std::all_of(h.id.begin(), h.id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
      });
      if (!clean) ok = false, Error(id, field + ".id may hold only letters, digits, '_' and '-' (got " + Got(id) + ")");
    }
    if (auto r = n["rationale"]; r) String(r, field + ".rationale", h.rationale, false);
    if (auto o = Section(n, "overrides", false, field); o) {
      for (const auto& kv : o) {
        const std::string key = kv.first.Scalar();
        if (!ev.base.count(key)) {
          std::string msg = field + ".overrides: '" + key + "' is not a parameter of evolve.base";
          std::vector<std::string> known;
          for (const auto& [k, v] : ev.base) known.push_back(k);
          if (std::string s = Suggest(key, known); !s.empty()) msg += ": did you mean '" + s + "'?";
          ok = false, Error(kv.first, msg);
        }
        h.overrides[key] = ValueJson(kv.second);
      }
    }
    if (auto p = n["patch"]; p && String(p, field + ".patch", h.patch, true)) {
      if (h.patch.find('\n') == std::string::npos) {  // a path, read now so the hash covers its content
        stdfs::path file = stdfs::path(plan_.dir) / h.patch;
        auto text = dsx::fs::ReadFile(file, kMaxPatchFileBytes);
        if (!text.ok()) {
          ok = false, Error(p, field + ".patch: cannot read '" + h.patch + "' (relative to " + plan_.dir + ")");
        } else if (!IsValidUtf8(*text)) {
          ok = false,
          Error(p, field + ".patch: '" + h.patch + "' is not valid UTF-8 (a plan's patches are stored as JSON)");
        } else {
          h.patch = *text;
        }
      }
      if (ok && (h.patch.find("--- ") == std::string::npos || h.patch.find("+++ ") == std::string::npos)) {
        ok = false, Error(p, field + ".patch is not a unified diff (no '--- ' and '+++ ' lines)");
      }
    }
    if (!n["overrides"] && !n["patch"])
      ok = false, ErrorAt(Where(n), field + " needs overrides or a patch (one change)");
    return ok;
  }

  void ResearcherSection(const YAML::Node& n) {
    Researcher r;
    Keys(n, "researcher", {"provider", "model", "goal", "notes"});
    for (const char* k : {"provider", "model"}) {
      std::string& out = std::string(k) == "provider" ? r.provider : r.model;
      if (auto v = n[k]; !v) ErrorAt(Where(n), std::string("researcher.") + k + " is required");
      else String(v, std::string("researcher.") + k, out, true);
    }
    if (auto g = n["goal"]; g) String(g, "researcher.goal", r.goal, true);
    if (auto notes = n["notes"]; notes) {
      if (!notes.IsSequence()) {
        Error(notes, "researcher.notes must be a list of files (got " + Got(notes) + ")");
      } else {
        for (size_t i = 0; i < notes.size(); ++i) {
          std::string path;
          std::string field = "researcher.notes[" + std::to_string(i) + "]";
          if (!String(notes[i], field, path, true)) continue;
          if (LooksLikePaperRef(path)) {
            // A paper page (arxiv:ID, hf-paper:ID), fetched when reachable: its id must be well formed.
            if (!ParsePaperRef(path))
              Error(notes[i],
                    field + ": '" + path + "' is not a paper reference (arxiv:2406.12345, hf-paper:2406.12345)");
          } else if (!stdfs::exists(stdfs::path(plan_.dir) / path)) {
            Error(notes[i], field + ": '" + path + "' does not exist (relative to " + plan_.dir + ")");
          }
          r.notes.push_back(path);
        }
      }
    }
    plan_.researcher = std::move(r);
  }

  void ResourcesSection(const YAML::Node& n) {
    auto& r = plan_.resources;
    Keys(n, "resources",
         {"flavor", "gpus", "gpu_type", "cpus", "mem_gb", "partition", "account", "image", "namespace"});
    const std::pair<const char*, std::string*> strings[] = {{"flavor", &r.flavor},       {"gpu_type", &r.gpu_type},
                                                            {"partition", &r.partition}, {"account", &r.account},
                                                            {"image", &r.image},         {"namespace", &r.namespace_}};
    for (const auto& [k, out] : strings) {
      if (auto v = n[k]; v) String(v, std::string("resources.") + k, *out, true);
    }
    const std::pair<const char*, int*> ints[] = {{"gpus", &r.gpus}, {"cpus", &r.cpus}, {"mem_gb", &r.mem_gb}};
    for (const auto& [k, out] : ints) {
      if (auto v = n[k]; v) Integer(v, std::string("resources.") + k, *out, 0);
    }
  }

  // Checks that need several sections at once.
  void CrossChecks(const YAML::Node& root) {
    const bool sweep = root["sweep"].IsDefined(), evolve = root["evolve"].IsDefined();
    const bool researcher = root["researcher"].IsDefined();
    if (sweep && evolve) {
      ErrorAt(Where(root["evolve"]), "a plan has sweep or evolve, not both (sweep is at line " +
                                         std::to_string(Where(root["sweep"]).line + 1) + ")");
    }
    if (!sweep && !evolve && !researcher) {
      ErrorAt(root_mark_, "a plan needs a generator: sweep, evolve (hypotheses), or researcher");
    }
    if (sweep && researcher) {
      ErrorAt(Where(root["researcher"]), "researcher proposes evolve hypotheses; it cannot be combined with sweep");
    }
    if (evolve && !researcher && plan_.evolve && plan_.evolve->hypotheses.empty() && evolve_node_ &&
        !evolve_node_["hypotheses"]) {
      ErrorAt(Where(evolve_node_), "evolve.hypotheses is required unless a researcher proposes them");
    }
    if (plan_.budget.max_experiments > 0 && plan_.budget.max_experiments < plan_.objective.repeats) {
      Error(root["budget"]["max_experiments"],
            "budget.max_experiments (" + std::to_string(plan_.budget.max_experiments) +
                ") is less than objective.repeats (" + std::to_string(plan_.objective.repeats) +
                "): not even one configuration can be measured");
    }
    if (command_node_) {
      // Every name the plan declares, even one whose spec has errors of its own (one mistake, one message).
      std::vector<std::string> known = {"workdir", "seed"};
      for (const auto& d : declared_) {
        if (std::find(known.begin(), known.end(), d) == known.end()) known.push_back(d);
      }
      // The workers split the command without a shell (command_template.hpp): a template that does
      // not split would fail every run, so it fails here, once.
      if (auto words = SplitCommandWords(plan_.experiment.command); !words.ok()) {
        Error(command_node_, "experiment.command: " + words.status().message());
      }
      for (const auto& name : CommandPlaceholders(plan_.experiment.command)) {
        if (std::find(known.begin(), known.end(), name) != known.end()) continue;
        std::string msg = "experiment.command: {" + name + "} names no parameter (known: ";
        std::vector<std::string> sorted = known;
        std::sort(sorted.begin(), sorted.end());
        for (size_t i = 0; i < sorted.size(); ++i) msg += (i ? ", " : "") + sorted[i];
        msg += ")";
        if (std::string s = Suggest(name, known); !s.empty()) msg += ": did you mean '{" + s + "}'?";
        Error(command_node_, msg);
      }
    }
  }

  Plan plan_;
  std::vector<PlanError> errors_;
  YAML::Mark root_mark_;
  std::vector<std::pair<YAML::Node, YAML::Mark>> key_marks_;
  std::vector<std::string> declared_;  // parameter names of sweep.params and evolve.base
  YAML::Node command_node_{YAML::NodeType::Undefined};
  YAML::Node evolve_node_{YAML::NodeType::Undefined};
};

}  // namespace

PlanCheck CheckPlan(std::string_view yaml_text, const std::string& path_for_errors) {
  return Checker(path_for_errors).Run(yaml_text);
}

std::string FormatErrors(const std::string& path, const std::vector<PlanError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    // Appended piece by piece: GCC 12's -Wrestrict misfires on `":" + std::to_string(...)` here.
    out.append(path);
    if (e.line > 0) {
      out.append(":").append(std::to_string(e.line)).append(":").append(std::to_string(e.column));
    }
    out.append(": ").append(e.message).append("\n");
  }
  if (!out.empty()) out.pop_back();
  return out;
}

Result<Plan> ParsePlan(std::string_view yaml_text, const std::string& path_for_errors) {
  PlanCheck check = CheckPlan(yaml_text, path_for_errors);
  if (!check.errors.empty()) return Status::Usage(FormatErrors(path_for_errors, check.errors));
  return std::move(*check.plan);
}

Result<Plan> LoadPlan(const std::string& path) {
  if (!stdfs::exists(path)) return Status::NotFound("plan " + path + " does not exist");
  auto text = dsx::fs::ReadFile(path, kMaxPlanBytes);
  // Unreadable or endless (/dev/zero): the argument is wrong, as for a plan with errors.
  if (!text.ok()) return Status::Usage("cannot read plan " + path + ": " + text.status().message());
  return ParsePlan(*text, path);
}

}  // namespace dsx::autolab
