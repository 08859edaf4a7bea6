// A run's status summary from its ledger (run_status.hpp).
#include "autolab/run_status.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "autolab/standings.hpp"

namespace dsx::autolab {
namespace {

using json = nlohmann::json;

constexpr ExpState kAllStates[] = {ExpState::kProposed, ExpState::kQueued, ExpState::kRunning,  ExpState::kFinished,
                                   ExpState::kFailed,   ExpState::kPruned, ExpState::kCancelled};

// A finite number, or null: an interval over fewer than two repeats is (-inf, +inf), which JSON
// cannot hold; null says "no bound" without inventing one.
json Finite(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string Num(double v) {
  if (!std::isfinite(v)) return v > 0 ? "inf" : (v < 0 ? "-inf" : "nan");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// "2026-12-07 04:43:02 UTC"
std::string UtcStamp(std::int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Duration(std::int64_t ms) {
  if (ms < 0) ms = 0;
  const std::int64_t s = ms / 1000;
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  return buf;
}

}  // namespace

bool LeaseAlive(const LeaseInfo& lease, const std::string& this_host, std::int64_t now_ms) {
  if (lease.owner.host == this_host) {
    auto start = ProcessStartTime(lease.owner.pid);
    return start.ok() && *start == lease.owner.pid_start;
  }
  return lease.expires_ms > now_ms;
}

Result<RunStatus> ReadRunStatus(const std::string& run_dir, Ledger& ledger, const Plan* plan, Clock& clock) {
  RunStatus s;
  s.run_dir = run_dir;
  auto name = ledger.Meta("plan_name");
  if (!name.ok()) return name.status();
  auto hash = ledger.Meta("plan_hash");
  if (!hash.ok()) return hash.status();
  s.plan_name = name->value_or(plan ? plan->name : "");
  s.plan_hash = hash->value_or(plan ? PlanHash(*plan) : "");
  auto started = ledger.Meta("started_ms");
  if (!started.ok()) return started.status();
  if (started->has_value()) s.started_ms = std::atoll((*started)->c_str());

  auto control = ReadControl(ledger);
  if (!control.ok()) return control.status();
  s.control = *control;

  auto holder = RunLease::Holder(ledger);
  if (!holder.ok()) return holder.status();
  s.lease = *holder;
  if (s.lease) s.lease_alive = LeaseAlive(*s.lease, LeaseOwner::Self().host, clock.NowMs());

  auto records = ledger.List();
  if (!records.ok()) return records.status();
  for (ExpState st : kAllStates) s.counts[ExpStateName(st)] = 0;
  for (const auto& r : *records) {
    ++s.counts[ExpStateName(r.state)];
    ++s.total;
    if (r.promoted) s.promoted_id = r.id;
    if (r.state == ExpState::kRunning) {
      s.running.push_back({r.id, r.job_id, r.host, r.pid, r.started_ms, r.attempts, r.params, r.seed});
    }
  }

  if (plan) {
    s.metric = plan->objective.metric;
    s.maximize = plan->objective.maximize;
    s.max_experiments = plan->budget.max_experiments;
    s.wall_clock_s = plan->budget.wall_clock_s;
    const Standings standings = ComputeStandings(*plan, *records);
    if (standings.best_config) {
      if (const ConfigStanding* c = FindConfig(standings, *standings.best_config)) {
        s.best = BestSoFar{c->representative_id, c->config_key, c->params, c->hypothesis, c->summary};
      }
    }
  }
  return s;
}

json ToJson(const RunStatus& s) {
  json j;
  j["run_dir"] = s.run_dir;
  j["plan"] = {{"name", s.plan_name}, {"hash", s.plan_hash}};
  j["control"] = ControlName(s.control);
  if (s.lease) {
    const auto& l = *s.lease;
    j["lease"] = {{"host", l.owner.host},         {"pid", l.owner.pid},         {"alive", s.lease_alive},
                  {"acquired_ms", l.acquired_ms}, {"renewed_ms", l.renewed_ms}, {"expires_ms", l.expires_ms}};
  } else {
    j["lease"] = nullptr;
  }
  j["counts"] = s.counts;
  j["total"] = s.total;
  j["budget"] = {{"used", s.total},
                 {"max_experiments", s.max_experiments},
                 {"started_ms", s.started_ms},
                 {"wall_clock_s", s.wall_clock_s}};
  json running = json::array();
  for (const auto& r : s.running) {
    running.push_back({{"id", r.id},
                       {"job_id", r.job_id},
                       {"host", r.host},
                       {"pid", r.pid},
                       {"started_ms", r.started_ms},
                       {"attempts", r.attempts},
                       {"params", r.params},
                       {"seed", r.seed}});
  }
  j["running"] = running;
  j["objective"] = s.metric.empty() ? json(nullptr)
                                    : json{{"metric", s.metric}, {"direction", s.maximize ? "maximize" : "minimize"}};
  if (s.best) {
    const auto& b = *s.best;
    j["best"] = {{"id", b.id},
                 {"config", b.config_key},
                 {"params", b.params},
                 {"hypothesis", b.hypothesis},
                 {"n", b.summary.n},
                 {"mean", Finite(b.summary.mean)},
                 {"ci", json::array({Finite(b.summary.ci_low), Finite(b.summary.ci_high)})}};
  } else {
    j["best"] = nullptr;
  }
  j["promoted"] = s.promoted_id.empty() ? json(nullptr) : json(s.promoted_id);
  return j;
}

std::string FormatRunStatus(const RunStatus& s, std::int64_t now_ms) {
  std::string out;
  out += "run      " + s.run_dir + "\n";
  out += "plan     " + (s.plan_name.empty() ? std::string("?") : s.plan_name);
  if (!s.plan_hash.empty()) out += " (" + s.plan_hash.substr(0, 12) + ")";
  out += "\n";
  out += "control  " + std::string(ControlName(s.control));
  if (s.control == Control::kStop) out += " (stop requested: `dsx autolab resume` to continue)";
  if (s.control == Control::kPause) out += " (pause requested: `dsx autolab resume` to continue)";
  out += "\n";
  if (s.lease) {
    const auto& o = s.lease->owner;
    out +=
        "driver   pid " + std::to_string(o.pid) + " on " + o.host + (s.lease_alive ? " (running)" : " (not running)");
    out += ", renewed " + Duration(now_ms - s.lease->renewed_ms) + " ago\n";
  } else {
    out += "driver   none (no `dsx autolab run` holds this run)\n";
  }
  out += "budget   " + std::to_string(s.total) + " of " +
         (s.max_experiments > 0 ? std::to_string(s.max_experiments) : std::string("?")) + " experiments";
  if (s.started_ms > 0) {
    out += ", started " + UtcStamp(s.started_ms);
    if (s.wall_clock_s > 0) out += " (wall clock " + Duration(s.wall_clock_s * 1000) + ")";
  }
  out += "\n";
  out += "states  ";
  for (const auto& st : kAllStates) {
    const char* name = ExpStateName(st);
    auto it = s.counts.find(name);
    out += " " + std::string(name) + " " + std::to_string(it == s.counts.end() ? 0 : it->second);
  }
  out += "\n";
  if (s.best) {
    const auto& b = *s.best;
    out += "best     " + b.id + " " + s.metric + " " + Num(b.summary.mean);
    if (b.summary.n >= 2) {
      out += " [" + Num(b.summary.ci_low) + ", " + Num(b.summary.ci_high) + "]";
    }
    out += " over " + std::to_string(b.summary.n) + (b.summary.n == 1 ? " repeat" : " repeats");
    out += " " + b.params.dump();
    if (!b.hypothesis.empty()) out += " (" + b.hypothesis + ")";
    out += "\n";
  } else {
    out += "best     none yet\n";
  }
  for (const auto& r : s.running) {
    out += "running  " + r.id + " job " + (r.job_id.empty() ? std::string("-") : r.job_id) + " since " +
           UtcStamp(r.started_ms) + " (" + Duration(now_ms - r.started_ms) + ")";
    if (r.attempts > 1) out += " attempt " + std::to_string(r.attempts);
    out += "\n";
  }
  return out;
}

}  // namespace dsx::autolab
