// The Reporter (report.hpp): report.md, results.json, results.tsv and plots/*.svg from the ledger.
//
// Everything here is a function of the ledger's records, curves and the plan: no clock, no host,
// no pid, no job id, no attempt count, and no requeue reason (the things an interrupted run has and
// an uninterrupted one does not) reach results.json or results.tsv, and their orders are fixed by
// ids and by ComputeStandings (which is independent of finishing order). report.md also shows
// times from the ledger, and best.svg is in finishing order by definition; neither reads the clock,
// so regenerating a report from the same ledger always writes the same bytes.
// The formats are documented in docs/formats/autolab-results.md.
#include "autolab/report.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "autolab/run_dir.hpp"
#include "autolab/standings.hpp"
#include "autolab/stats.hpp"
#include "autolab/svg_plot.hpp"
#include "core/fs.hpp"

namespace dsx::autolab {
namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;

constexpr int kResultsFormatVersion = 1;

// ---------------------------------------------------------------------------------------------
// Text helpers

// Six significant digits, locale-free: what a person reads in report.md.
std::string Short(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 6);
  return std::string(buf, r.ptr);
}

// A number for results.json: finite numbers as themselves (nlohmann writes the shortest text that
// reads back exactly), NaN and the infinite interval ends of a single repeat as null.
json JsonNumber(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// One TSV field: backslash, tab, newline and carriage return as \\, \t, \n, \r (the "linear TSV"
// convention of PostgreSQL's COPY), so every row is one line and every field one column.
std::string TsvField(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

// One markdown table cell: '|' would end the cell, a newline the row, and '<' could open HTML in a
// renderer (parameter values and reasons are arbitrary text).
std::string MdCell(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '|': out += "\\|"; break;
      case '\n':
      case '\r': out += ' '; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      default: out += c;
    }
  }
  return out;
}

// A parameter value as text: strings as they are, anything else as canonical JSON.
std::string ValueText(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string ParamsText(const json& params) {
  std::string out;
  for (auto it = params.begin(); it != params.end(); ++it) {
    if (!out.empty()) out += ", ";
    out += it.key() + "=" + ValueText(it.value());
  }
  return out.empty() ? "(none)" : out;
}

// At most n bytes, cut at a UTF-8 character boundary (never inside one).
std::string Truncate(std::string s, std::size_t n) {
  if (s.size() <= n) return s;
  std::size_t cut = n - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

std::string UtcTime(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Duration(std::int64_t ms) {
  std::int64_t s = std::max<std::int64_t>(ms, 0) / 1000;
  char buf[48];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  }
  return buf;
}

// "0.1234 ± 0.0056 (95% CI [0.1178, 0.129], n=3)": the interval is what the promotion rule uses.
std::string MeanCi(const Summary& s, double confidence) {
  if (s.n == 0) return "no results";
  const std::string level = Short(confidence * 100) + "% CI";
  if (s.n < 2 || !std::isfinite(s.ci_low) || !std::isfinite(s.ci_high)) {
    return Short(s.mean) + " (n=1, single seed: no " + level + ")";
  }
  return Short(s.mean) + " ± " + Short((s.ci_high - s.ci_low) / 2) + " (" + level + " [" + Short(s.ci_low) + ", " +
         Short(s.ci_high) + "], n=" + std::to_string(s.n) + ")";
}

// The experiment's log relative to the run folder ("" when it never started: no log exists). The
// ledger's log_path is used when it is set; the workers' default place otherwise.
std::string LogLink(const std::string& run_dir, const ExperimentRecord& r) {
  if (r.log_path.empty() && r.started_ms == 0) return "";
  const std::string path = r.log_path.empty() ? ExperimentLogPath(run_dir, r.id) : r.log_path;
  std::error_code ec;
  const stdfs::path abs_log = stdfs::absolute(path, ec).lexically_normal();
  if (ec) return path;
  const stdfs::path abs_run = stdfs::absolute(run_dir, ec).lexically_normal();
  if (ec) return path;
  const stdfs::path rel = abs_log.lexically_relative(abs_run);
  if (rel.empty() || *rel.begin() == "..") return path;  // outside the run folder: keep it as it is
  return rel.generic_string();
}

bool IsEvolveStyle(const Plan& plan) { return plan.evolve.has_value() || plan.researcher.has_value(); }

// ---------------------------------------------------------------------------------------------
// What every output is made from

struct Inputs {
  std::vector<ExperimentRecord> records;  // by seq (the ledger's order)
  Standings standings;
  std::map<std::string, Curve> curves;                  // experiment id -> its points (non-empty only)
  std::map<std::string, int> rank_of;                   // config key -> 1-based rank
  std::map<std::string, const PromotionStep*> step_of;  // config key -> its step in the chain
  std::set<std::string> param_names;                    // over finished experiments, sorted
};

json SummaryJson(const Summary& s) {
  return {{"n", s.n},
          {"mean", JsonNumber(s.mean)},
          {"stddev", s.n >= 2 ? JsonNumber(s.stddev) : json(nullptr)},
          {"ci_low", JsonNumber(s.ci_low)},
          {"ci_high", JsonNumber(s.ci_high)}};
}

// ---------------------------------------------------------------------------------------------
// results.json

json ResultsJson(const Plan& plan, const Inputs& in, const std::string& run_dir) {
  const Standings& st = in.standings;
  json out;
  out["format"] = "dsx-autolab-results";
  out["version"] = kResultsFormatVersion;
  out["run"] = plan.name;
  out["plan_hash"] = PlanHash(plan);
  out["objective"] = {{"metric", plan.objective.metric},
                      {"direction", plan.objective.maximize ? "maximize" : "minimize"},
                      {"margin", plan.objective.margin},
                      {"repeats", plan.objective.repeats},
                      {"confidence", plan.objective.confidence}};

  std::map<std::string, int> counts;
  for (const char* s : {"proposed", "queued", "running", "finished", "failed", "pruned", "cancelled"}) counts[s] = 0;
  for (const auto& r : in.records) ++counts[ExpStateName(r.state)];
  json budget = {{"max_experiments", plan.budget.max_experiments},
                 {"experiments", static_cast<std::int64_t>(in.records.size())}};
  for (const auto& [state, n] : counts) budget[state] = n;
  out["budget"] = budget;

  out["best"] = nullptr;
  if (st.best_config) {
    const ConfigStanding* c = FindConfig(st, *st.best_config);
    auto step = in.step_of.find(*st.best_config);
    if (c) {
      out["best"] = {{"config", c->config_key},
                     {"id", c->representative_id},
                     {"rank", in.rank_of.at(c->config_key)},
                     {"params", c->params},
                     {"hypothesis", c->hypothesis},
                     {"summary", SummaryJson(c->summary)},
                     {"reason", step != in.step_of.end() ? step->second->decision.reason : ""}};
    }
  }

  json configs = json::array();
  for (const auto& c : st.ranked) {
    json values = json::array();
    for (double v : c.values) values.push_back(v);
    auto step = in.step_of.find(c.config_key);
    json decision = nullptr;
    if (step != in.step_of.end()) {
      decision = {{"promoted", step->second->decision.promote}, {"reason", step->second->decision.reason}};
    }
    configs.push_back({{"rank", in.rank_of.at(c.config_key)},
                       {"config", c.config_key},
                       {"representative_id", c.representative_id},
                       {"params", c.params},
                       {"patch", c.patch},
                       {"hypothesis", c.hypothesis},
                       {"rationale", c.rationale},
                       {"experiments", c.ids},
                       {"values", values},
                       {"summary", SummaryJson(c.summary)},
                       {"failed", c.failed},
                       {"pruned", c.pruned},
                       {"cancelled", c.cancelled},
                       {"pending", c.pending},
                       {"complete", c.complete},
                       {"best", st.best_config && *st.best_config == c.config_key},
                       {"decision", decision}});
  }
  out["configurations"] = configs;

  json chain = json::array();
  for (const auto& s : st.chain) {
    chain.push_back({{"config", s.config_key}, {"promoted", s.decision.promote}, {"reason", s.decision.reason}});
  }
  out["promotion_chain"] = chain;

  std::vector<const ExperimentRecord*> by_id;
  for (const auto& r : in.records) by_id.push_back(&r);
  std::sort(by_id.begin(), by_id.end(), [](auto* a, auto* b) { return a->id < b->id; });
  json experiments = json::array();
  for (const auto* r : by_id) {
    const bool ended_badly =
        r->state == ExpState::kFailed || r->state == ExpState::kPruned || r->state == ExpState::kCancelled;
    const std::string log = LogLink(run_dir, *r);
    experiments.push_back({{"id", r->id},
                           {"config", r->config_key},
                           {"seed", r->seed},
                           {"params", r->params},
                           {"hypothesis", r->hypothesis},
                           {"state", ExpStateName(r->state)},
                           {"metric", r->state == ExpState::kFinished && r->metric ? json(*r->metric) : json(nullptr)},
                           // A requeue's reason stays in the ledger of a finished experiment: only an
                           // interrupted run has one, so it is not part of the results.
                           {"reason", ended_badly ? r->reason : ""},
                           {"promoted", r->promoted},
                           {"log", log.empty() ? json(nullptr) : json(log)}});
  }
  out["experiments"] = experiments;
  return out;
}

// ---------------------------------------------------------------------------------------------
// results.tsv

std::string ResultsTsv(const Plan& plan, const Inputs& in) {
  // Parameter columns carry the parameter's name, unless it would repeat a fixed column's name.
  const std::set<std::string> fixed = {"id", "config", "seed", "hypothesis", plan.objective.metric};
  std::string out = "id\tconfig\tseed\thypothesis";
  for (const auto& name : in.param_names) out += "\t" + TsvField(fixed.count(name) ? "param." + name : name);
  out += "\t" + TsvField(plan.objective.metric) + "\n";

  std::vector<const ExperimentRecord*> finished;
  for (const auto& r : in.records)
    if (r.state == ExpState::kFinished && r.metric) finished.push_back(&r);
  std::sort(finished.begin(), finished.end(), [](auto* a, auto* b) { return a->id < b->id; });
  for (const auto* r : finished) {
    out += TsvField(r->id) + "\t" + TsvField(r->config_key) + "\t" + std::to_string(r->seed) + "\t" +
           TsvField(r->hypothesis);
    for (const auto& name : in.param_names) {
      out += "\t";
      if (r->params.is_object() && r->params.contains(name)) out += TsvField(ValueText(r->params.at(name)));
    }
    out += "\t" + svg::FormatNumber(*r->metric) + "\n";
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plots

std::string ConfigLabel(const ConfigStanding& c, int rank) {
  std::string what = c.hypothesis.empty() ? ParamsText(c.params) : c.hypothesis;
  return Truncate("#" + std::to_string(rank) + " " + what, 25);  // fits the legend's width
}

std::string MetricSvg(const Plan& plan, const Inputs& in) {
  svg::Chart chart;
  const std::string level = Short(plan.objective.confidence * 100) + "%";
  chart.title = plan.objective.metric + " per configuration (mean and " + level + " CI; " +
                (plan.objective.maximize ? "higher" : "lower") + " is better)";
  chart.x_label = "configuration (rank)";
  chart.y_label = plan.objective.metric;
  std::vector<svg::Tick> ticks;
  svg::Series means;
  means.name = "mean and " + level + " confidence interval";
  means.legend = "mean, " + level + " CI";
  means.color = "#222222";
  means.line = false;
  means.markers = true;
  std::size_t color = 0;
  for (const auto& c : in.standings.ranked) {
    if (c.values.empty()) continue;
    const int rank = in.rank_of.at(c.config_key);
    const double x = rank;
    ticks.push_back({x, std::to_string(rank)});
    svg::Series s;
    s.name = c.config_key + " " + ParamsText(c.params);
    s.legend = ConfigLabel(c, rank);
    s.color = svg::Palette(color++);
    s.line = false;
    s.markers = true;
    s.opacity = 0.75;
    // Repeats side by side around the configuration's slot, so equal values stay visible.
    const double n = static_cast<double>(c.values.size());
    const double spread = std::min(0.3, 0.06 * (n - 1));
    for (std::size_t j = 0; j < c.values.size(); ++j) {
      const double off = n > 1 ? -spread / 2 + spread * static_cast<double>(j) / (n - 1) : 0;
      s.points.push_back({x + off, c.values[j]});
    }
    chart.series.push_back(std::move(s));
    means.points.push_back({x, c.summary.mean});
    means.error_bars.push_back({x, c.summary.ci_low, c.summary.ci_high});
  }
  chart.x_ticks = std::move(ticks);
  chart.series.push_back(std::move(means));
  return svg::Render(chart);
}

std::string BestSvg(const Plan& plan, const Inputs& in) {
  std::vector<const ExperimentRecord*> finished;
  for (const auto& r : in.records)
    if (r.state == ExpState::kFinished && r.metric) finished.push_back(&r);
  std::sort(finished.begin(), finished.end(), [](auto* a, auto* b) {
    return a->finished_ms != b->finished_ms ? a->finished_ms < b->finished_ms : a->id < b->id;
  });
  svg::Chart chart;
  chart.title =
      "best " + plan.objective.metric + " so far (" + (plan.objective.maximize ? "higher" : "lower") + " is better)";
  chart.x_label = "experiments finished (in finishing order)";
  chart.y_label = plan.objective.metric;
  svg::Series all, best;
  all.name = "each experiment's " + plan.objective.metric;
  all.legend = "experiment";
  all.color = "#9aa5b1";
  all.line = false;
  all.markers = true;
  all.opacity = 0.6;
  best.name = "best so far (the promoted configuration's mean)";
  best.legend = "best so far";
  best.color = "#e15759";
  best.step = true;
  // Each experiment's dot, in finishing order.
  std::map<std::string, double> position;  // experiment id -> its x
  for (std::size_t i = 0; i < finished.size(); ++i) {
    const double x = static_cast<double>(i + 1);
    position[finished[i]->id] = x;
    all.points.push_back({x, *finished[i]->metric});
  }
  // The best line is the promotion chain (standings.hpp), so it ends at the winner the ledger
  // promotes, never at a lucky single run: step k of the chain is drawn once every configuration
  // of steps 1..k has finished its repeats (x = the last of their finishing positions).
  std::optional<double> best_mean;
  double x = 0;
  for (const PromotionStep& step : in.standings.chain) {
    const ConfigStanding* c = FindConfig(in.standings, step.config_key);
    if (!c) continue;
    for (const std::string& id : c->ids)
      if (auto it = position.find(id); it != position.end()) x = std::max(x, it->second);
    if (step.decision.promote) best_mean = c->summary.mean;
    if (best_mean && x > 0) {
      if (!best.points.empty() && best.points.back().x == x) best.points.back().y = *best_mean;
      else best.points.push_back({x, *best_mean});
    }
  }
  chart.series.push_back(std::move(all));
  chart.series.push_back(std::move(best));
  return svg::Render(chart);
}

std::string CurvesSvg(const Plan& plan, const Inputs& in) {
  svg::Chart chart;
  chart.title = "intermediate " + plan.objective.metric + " (dashed: pruned)";
  chart.x_label = plan.experiment.metric.intermediate_key.empty() ? "step" : plan.experiment.metric.intermediate_key;
  chart.y_label = plan.objective.metric;
  // Grouped by configuration in rank order (its repeats share a colour), then by id.
  std::map<std::string, std::vector<const ExperimentRecord*>> by_config;
  for (const auto& r : in.records)
    if (in.curves.count(r.id)) by_config[r.config_key].push_back(&r);
  std::size_t color = 0;
  for (const auto& c : in.standings.ranked) {
    auto it = by_config.find(c.config_key);
    if (it == by_config.end()) continue;
    auto members = it->second;
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->id < b->id; });
    const std::string col = svg::Palette(color++);
    for (const auto* r : members) {
      svg::Series s;
      s.name = r->id + " seed " + std::to_string(r->seed) + " (" + ExpStateName(r->state) + ")";
      s.legend = ConfigLabel(c, in.rank_of.at(c.config_key));
      s.color = col;
      s.dashed = r->state == ExpState::kPruned;
      for (const auto& [step, v] : in.curves.at(r->id)) s.points.push_back({static_cast<double>(step), v});
      chart.series.push_back(std::move(s));
    }
  }
  return svg::Render(chart);
}

// ---------------------------------------------------------------------------------------------
// report.md

std::string ReportMd(const Plan& plan, const Inputs& in, const std::string& run_dir, bool has_curves) {
  const Standings& st = in.standings;
  const double conf = plan.objective.confidence;
  std::string md;
  md += "# AutoLab report: " + MdCell(plan.name) + "\n\n";

  md += "## Objective\n\n";
  md += "- metric: `" + MdCell(plan.objective.metric) + "`, " +
        (plan.objective.maximize ? "maximize (higher is better)" : "minimize (lower is better)") + "\n";
  md += "- promotion: a configuration replaces the best only when its mean beats the best's by more than " +
        Short(plan.objective.margin) + " and, with two or more repeats, its whole " + Short(conf * 100) +
        "% confidence interval does too\n";
  md += "- repeats: " + std::to_string(plan.objective.repeats) + " seed" + (plan.objective.repeats == 1 ? "" : "s") +
        " per configuration\n";
  md += "- plan hash: `" + PlanHash(plan) + "`\n\n";

  md += "## Budget used\n\n";
  std::map<ExpState, int> counts;
  std::int64_t first_ms = 0, last_ms = 0;
  for (const auto& r : in.records) {
    ++counts[r.state];
    if (r.created_ms && (!first_ms || r.created_ms < first_ms)) first_ms = r.created_ms;
    last_ms = std::max(last_ms, r.finished_ms);
  }
  const int pending = counts[ExpState::kProposed] + counts[ExpState::kQueued] + counts[ExpState::kRunning];
  md += "- experiments: " + std::to_string(in.records.size()) + " of " + std::to_string(plan.budget.max_experiments) +
        " (finished " + std::to_string(counts[ExpState::kFinished]) + ", failed " +
        std::to_string(counts[ExpState::kFailed]) + ", pruned " + std::to_string(counts[ExpState::kPruned]) +
        ", cancelled " + std::to_string(counts[ExpState::kCancelled]) + ", not yet done " + std::to_string(pending) +
        ")\n";
  if (first_ms) {
    md += "- first proposed " + UtcTime(first_ms);
    if (last_ms) md += ", last finished " + UtcTime(last_ms) + " (" + Duration(last_ms - first_ms) + ")";
    if (plan.budget.wall_clock_s) md += "; wall-clock budget " + Duration(plan.budget.wall_clock_s * 1000);
    md += "\n";
  }
  md += "\n";

  md += "## Winner\n\n";
  const ConfigStanding* best = st.best_config ? FindConfig(st, *st.best_config) : nullptr;
  if (!best) {
    md += "No winner yet: no configuration has every repeat done with a result.\n\n";
  } else {
    md += "Configuration `" + best->config_key + "` (experiment `" + best->representative_id + "`): **" +
          MdCell(MeanCi(best->summary, conf)) + "**\n\n";
    md += "- parameters: " + MdCell(ParamsText(best->params)) + "\n";
    if (!best->hypothesis.empty()) {
      md += "- hypothesis: " + MdCell(best->hypothesis) +
            (best->rationale.empty() ? "" : " (" + MdCell(best->rationale) + ")") + "\n";
    }
    if (!best->patch.empty()) md += "- with a patch to the working files (results.json has its text)\n";
    auto step = in.step_of.find(best->config_key);
    if (step != in.step_of.end()) md += "- why promoted: " + MdCell(step->second->decision.reason) + "\n";
    std::string promoted_id;
    for (const auto& r : in.records)
      if (r.promoted) promoted_id = r.id;
    if (promoted_id == best->representative_id) {
      md += "- promoted in the ledger\n";
    } else if (promoted_id.empty()) {
      md += "- not promoted in the ledger yet (the run promotes it on its next pass)\n";
    } else {
      md += "- the ledger still promotes `" + promoted_id + "` (the run updates it on its next pass)\n";
    }
    if (!st.ranked.empty() && st.ranked.front().config_key != best->config_key) {
      const auto& top = st.ranked.front();
      md += "- the top-ranked configuration `" + top.config_key + "` has a better mean but is not the best: " +
            (in.step_of.count(top.config_key) ? MdCell(in.step_of.at(top.config_key)->decision.reason)
                                              : std::string("some of its repeats are not done yet")) +
            "\n";
    }
    md += "\n";
  }

  md += "## Ranking\n\n";
  if (st.ranked.empty()) {
    md += "No experiments yet.\n\n";
  } else {
    md += "| # | configuration | n | " + MdCell(plan.objective.metric) + " (mean ± half-width, " + Short(conf * 100) +
          "% CI) | parameters | hypothesis | notes |\n";
    md += "|---|---|---|---|---|---|---|\n";
    for (const auto& c : st.ranked) {
      std::vector<std::string> notes;
      if (st.best_config && *st.best_config == c.config_key) notes.push_back("**best**");
      if (c.failed) notes.push_back(std::to_string(c.failed) + " failed");
      if (c.pruned) notes.push_back(std::to_string(c.pruned) + " pruned");
      if (c.cancelled) notes.push_back(std::to_string(c.cancelled) + " cancelled");
      if (c.pending) notes.push_back(std::to_string(c.pending) + " not done");
      if (!c.patch.empty()) notes.push_back("patch");
      std::string note_text;
      for (const auto& n : notes) note_text += (note_text.empty() ? "" : ", ") + n;
      md += "| " + std::to_string(in.rank_of.at(c.config_key)) + " | `" + c.config_key + "` | " +
            std::to_string(c.summary.n) + " | " + MdCell(MeanCi(c.summary, conf)) + " | " +
            MdCell(ParamsText(c.params)) + " | " + MdCell(c.hypothesis) + " | " + note_text + " |\n";
    }
    md += "\n";
  }

  // Configurations in proposal order: the order the promotion chain judged them in.
  std::vector<const ConfigStanding*> by_proposal;
  for (const auto& c : st.ranked) by_proposal.push_back(&c);
  std::sort(by_proposal.begin(), by_proposal.end(), [](auto* a, auto* b) { return a->first_seq < b->first_seq; });
  if (IsEvolveStyle(plan)) {
    md += "## Evolve history (keep or revert, in order)\n\n";
    if (by_proposal.empty()) md += "Nothing tried yet.\n";
    int i = 0;
    for (const auto* c : by_proposal) {
      auto step = in.step_of.find(c->config_key);
      std::string verdict, why;
      if (step != in.step_of.end()) {
        verdict = step->second->decision.promote ? "**kept**" : "reverted";
        why = step->second->decision.reason;
      } else if (c->complete) {
        verdict = "reverted";
        why = "no repeat finished with a result";
      } else {
        verdict = "in progress";
        why = std::to_string(c->pending) + " repeat(s) not done";
      }
      md += std::to_string(++i) + ". " + (c->hypothesis.empty() ? "`" + c->config_key + "`" : MdCell(c->hypothesis)) +
            ": " + verdict + ": " + MdCell(why);
      if (!c->rationale.empty()) md += ". Rationale: " + MdCell(c->rationale);
      md += "\n";
    }
    md += "\n";
  } else if (!st.chain.empty()) {
    md += "## Promotion decisions (complete configurations, in proposal order)\n\n";
    for (const auto& s : st.chain) {
      md += "- `" + s.config_key + "`: " + (s.decision.promote ? "promoted" : "not promoted") + ": " +
            MdCell(s.decision.reason) + "\n";
    }
    md += "\n";
  }

  std::string problems;
  for (const auto& r : in.records) {
    if (r.state != ExpState::kFailed && r.state != ExpState::kPruned && r.state != ExpState::kCancelled) continue;
    const std::string log = LogLink(run_dir, r);
    problems += "| `" + r.id + "` | `" + r.config_key + "` | " + std::to_string(r.seed) + " | " +
                ExpStateName(r.state) + " | " + MdCell(r.reason.empty() ? "(no reason recorded)" : r.reason) + " | " +
                (log.empty() ? "" : "[log](" + log + ")") + " |\n";
  }
  md += "## Failed, pruned and cancelled experiments\n\n";
  if (problems.empty()) {
    md += "None.\n\n";
  } else {
    md += "| experiment | configuration | seed | state | reason | log |\n|---|---|---|---|---|---|\n" + problems + "\n";
  }

  md += "## Plots\n\n";
  md += "- [" + MdCell(plan.objective.metric) + " per configuration](plots/metric.svg)\n";
  md += "- [best so far](plots/best.svg)\n";
  if (has_curves) md += "- [intermediate curves](plots/curves.svg)\n";
  md += "\n![metric per configuration](plots/metric.svg)\n\n![best so far](plots/best.svg)\n\n";

  md += "## Experiments\n\n";
  if (in.records.empty()) {
    md += "None yet.\n";
  } else {
    md += "| experiment | configuration | seed | state | " + MdCell(plan.objective.metric) +
          " | log |\n|---|---|---|---|---|---|\n";
    for (const auto& r : in.records) {
      const std::string log = LogLink(run_dir, r);
      md += "| `" + r.id + "` | `" + r.config_key + "` | " + std::to_string(r.seed) + " | " + ExpStateName(r.state) +
            (r.promoted ? " (promoted)" : "") + " | " +
            (r.state == ExpState::kFinished && r.metric ? Short(*r.metric) : "") + " | " +
            (log.empty() ? "" : "[log](" + log + ")") + " |\n";
    }
  }
  md += "\nFiles: [results.json](results.json), [results.tsv](results.tsv) (docs/formats/autolab-results.md).\n";
  return md;
}

}  // namespace

Result<ReportFiles> WriteReport(const Plan& plan, Ledger& ledger, const std::string& run_dir) {
  Inputs in;
  auto records = ledger.List();
  if (!records.ok()) return records.status();
  in.records = std::move(*records);
  in.standings = ComputeStandings(plan, in.records);
  for (std::size_t i = 0; i < in.standings.ranked.size(); ++i) {
    in.rank_of[in.standings.ranked[i].config_key] = static_cast<int>(i + 1);
  }
  for (const auto& s : in.standings.chain) in.step_of[s.config_key] = &s;
  for (const auto& r : in.records) {
    auto curve = ledger.Curve(r.id);
    if (!curve.ok()) return curve.status();
    if (!curve->empty()) in.curves[r.id] = std::move(*curve);
    if (r.state == ExpState::kFinished && r.params.is_object()) {
      for (auto it = r.params.begin(); it != r.params.end(); ++it) in.param_names.insert(it.key());
    }
  }

  const stdfs::path dir(run_dir);
  const stdfs::path plots = dir / "plots";
  DSX_RETURN_IF_ERROR(fs::EnsureDir(plots));

  ReportFiles files;
  // Plots and data first, report.md last: a reader who sees the new report finds what it links to.
  const stdfs::path metric_svg = plots / "metric.svg", best_svg = plots / "best.svg", curves_svg = plots / "curves.svg";
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(metric_svg, MetricSvg(plan, in)));
  files.plots.push_back(metric_svg.string());
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(best_svg, BestSvg(plan, in)));
  files.plots.push_back(best_svg.string());
  const bool has_curves = !in.curves.empty();
  if (has_curves) {
    DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(curves_svg, CurvesSvg(plan, in)));
    files.plots.push_back(curves_svg.string());
  } else {
    // A stale plot from an older ledger state would contradict this report.
    std::error_code ec;
    stdfs::remove(curves_svg, ec);
    if (ec) return Status::Unavailable("cannot remove stale " + curves_svg.string() + ": " + ec.message());
  }

  files.results_tsv = (dir / "results.tsv").string();
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(files.results_tsv, ResultsTsv(plan, in)));
  files.results_json = (dir / "results.json").string();
  // A reason or hypothesis may hold bytes that are not UTF-8 (a crashed program's output): written as
  // U+FFFD instead of nlohmann's exception.
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(
      files.results_json, ResultsJson(plan, in, run_dir).dump(2, ' ', false, json::error_handler_t::replace) + "\n"));
  files.report_md = (dir / "report.md").string();
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(files.report_md, ReportMd(plan, in, run_dir, has_curves)));
  return files;
}

}  // namespace dsx::autolab
