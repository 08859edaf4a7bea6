// The plan's canonical JSON and hash, the configuration count that `dsx autolab validate` prints,
// and the command template's placeholders (shared by the checker and the workers).
#include <algorithm>
#include <limits>

#include "autolab/command_template.hpp"
#include "autolab/plan.hpp"
#include "core/hash.hpp"

namespace dsx::autolab {

namespace {

const char* KindWord(Param::Kind kind) {
  switch (kind) {
    case Param::kGrid: return "grid";
    case Param::kChoice: return "choice";
    case Param::kUniform: return "uniform";
    case Param::kLogUniform: return "loguniform";
    case Param::kInt: return "int";
  }
  return "grid";
}

const char* SourceWord(MetricSource::Kind kind) {
  switch (kind) {
    case MetricSource::kJsonLines: return "json_lines";
    case MetricSource::kFile: return "file";
    case MetricSource::kRegex: return "regex";
  }
  return "json_lines";
}

nlohmann::json MapJson(const std::map<std::string, nlohmann::json>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

// Saturating: a grid of 40 parameters must not wrap around to a small count.
std::int64_t MulSat(std::int64_t a, std::int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > std::numeric_limits<std::int64_t>::max() / b) return std::numeric_limits<std::int64_t>::max();
  return a * b;
}

std::int64_t ParamPoints(const Param& p) {
  switch (p.kind) {
    case Param::kGrid:
    case Param::kChoice: return static_cast<std::int64_t>(p.values.size());
    case Param::kUniform:
    case Param::kLogUniform: return p.count;
    case Param::kInt: return p.count > 0 ? p.count : static_cast<std::int64_t>(p.high - p.low) + 1;
  }
  return 0;
}

}  // namespace

std::int64_t CountConfigurations(const Plan& plan) {
  if (plan.sweep) {
    if (plan.sweep->mode == Sweep::kRandom) return plan.sweep->samples;
    std::int64_t n = 1;
    for (const auto& p : plan.sweep->params) n = MulSat(n, ParamPoints(p));
    return n;
  }
  if (plan.evolve) return static_cast<std::int64_t>(plan.evolve->hypotheses.size()) + 1;
  return 0;
}

std::int64_t CountExperiments(const Plan& plan) {
  return MulSat(CountConfigurations(plan), std::max(1, plan.objective.repeats));
}

nlohmann::json ToJson(const Plan& plan) {
  nlohmann::json j;
  j["name"] = plan.name;
  const auto& o = plan.objective;
  j["objective"] = {{"metric", o.metric},
                    {"direction", o.maximize ? "maximize" : "minimize"},
                    {"margin", o.margin},
                    {"repeats", o.repeats},
                    {"confidence", o.confidence}};
  const auto& b = plan.budget;
  j["budget"] = {{"max_experiments", b.max_experiments},
                 {"max_parallel", b.max_parallel},
                 {"wall_clock_s", b.wall_clock_s},
                 {"experiment_timeout_s", b.experiment_timeout_s},
                 {"max_cost_usd", b.max_cost_usd}};
  const auto& e = plan.experiment;
  nlohmann::json env = nlohmann::json::object();
  for (const auto& [k, v] : e.env) env[k] = v;
  j["experiment"] = {{"command", e.command},
                     {"files", e.files},
                     {"git_worktree", e.git_worktree},
                     {"env", env},
                     {"metric",
                      {{"source", SourceWord(e.metric.kind)},
                       {"file", e.metric.file},
                       {"regex", e.metric.regex},
                       {"intermediate_key", e.metric.intermediate_key}}},
                     {"pruning", {{"median_stopping", e.pruning.median_stopping}, {"min_steps", e.pruning.min_steps}}}};
  if (plan.sweep) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : plan.sweep->params) {
      params.push_back({{"name", p.name},
                        {"type", KindWord(p.kind)},
                        {"values", p.values},
                        {"low", p.low},
                        {"high", p.high},
                        {"count", p.count}});
    }
    j["sweep"] = {{"mode", plan.sweep->mode == Sweep::kRandom ? "random" : "grid"},
                  {"params", params},
                  {"samples", plan.sweep->samples},
                  {"seed", plan.sweep->seed}};
  }
  if (plan.evolve) {
    nlohmann::json hs = nlohmann::json::array();
    for (const auto& h : plan.evolve->hypotheses) {
      hs.push_back({{"id", h.id}, {"rationale", h.rationale}, {"overrides", MapJson(h.overrides)}, {"patch", h.patch}});
    }
    j["evolve"] = {{"base", MapJson(plan.evolve->base)}, {"hypotheses", hs}};
  }
  if (plan.researcher) {
    const auto& r = *plan.researcher;
    j["researcher"] = {{"provider", r.provider}, {"model", r.model}, {"goal", r.goal}, {"notes", r.notes}};
  }
  j["backend"] = plan.backend;
  const auto& r = plan.resources;
  j["resources"] = {{"flavor", r.flavor},   {"gpus", r.gpus},     {"gpu_type", r.gpu_type},
                    {"cpus", r.cpus},       {"mem_gb", r.mem_gb}, {"partition", r.partition},
                    {"account", r.account}, {"image", r.image},   {"namespace", r.namespace_}};
  j["session_server"] = plan.session_server;
  return j;
}

// nlohmann::json objects are std::map-backed, so dump() already writes keys sorted: the text is
// canonical without a separate canonicalisation pass.
std::string PlanHash(const Plan& plan) {
  // Where results are sent is not what the experiments are: moving the session server or adding a
  // Hub dataset must not make the run folder "another plan's".
  nlohmann::json j = ToJson(plan);
  j.erase("session_server");
  return hash::Sha256Hex(j.dump());
}

// One definition of what a placeholder is: the one the workers expand with (command_template.hpp).
std::vector<std::string> CommandPlaceholders(std::string_view command) { return Placeholders(command); }

}  // namespace dsx::autolab
