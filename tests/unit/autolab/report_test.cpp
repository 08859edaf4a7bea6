// report.hpp: WriteReport from a real ledger (SQLite in a temp folder, a ManualClock): the TSV's
// columns, order and escaping; results.json's shape, ranking, winner and what it must leave out
// (pids, hosts, job ids, attempts, requeue reasons); report.md's winner with its confidence
// interval, ranking table, failures, evolve history and links; the plots; and determinism: the
// same ledger twice, and a second ledger filled in another finishing order (with a requeue, as an
// interrupted run has), give byte-identical results.json, results.tsv and metric.svg.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autolab/ledger.hpp"
#include "autolab/plan.hpp"
#include "autolab/report.hpp"
#include "autolab/run_dir.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"

namespace dsx_test_svg {
std::string XmlProblem(const std::string& doc);  // svg_plot_test.cpp (same unit_autolab binary)
}

using dsx::ManualClock;
using nlohmann::json;
using namespace dsx::autolab;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "dsx-report-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string Read(const std::string& path) {
  auto r = dsx::fs::ReadFile(path);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return *r;
}

Plan SweepPlan() {
  Plan p;
  p.name = "report-test";
  p.objective.metric = "val_loss";
  p.objective.repeats = 3;
  p.objective.margin = 0.01;
  p.objective.confidence = 0.95;
  p.budget.max_experiments = 20;
  p.budget.experiment_timeout_s = 60;
  p.experiment.command = "python3 train.py --lr {lr} --seed {seed}";
  Sweep s;
  Param lr;
  lr.name = "lr";
  lr.values = {0.1, 0.01, 0.001, 1.0};
  s.params = {lr};
  p.sweep = s;
  return p;
}

// Four configurations x 3 seeds, proposed in this order:
//   A lr=0.1    0.5 0.52 0.48          the baseline (promoted first)
//   B lr=0.01   0.19 0.2 0.21          the winner: beats A's 0.5 - 0.01 with its whole interval
//   C lr=0.001  0.3 0.31, seed 2 fails  complete, mean 0.305: not better than B
//   D lr=1 + a note with a tab, newline, backslash, '|' and '<': seed 0 pruned, seed 1 0.9,
//     seed 2 cancelled before it started
// Ranking by mean: B, C, A, D.
enum Outcome { kFinish, kFail, kPrune, kCancel };
struct Planned {
  json params;
  std::int64_t seed;
  Outcome outcome;
  double metric;
  std::string hypothesis;
};

const std::string kNote = "a\tb\nc\\d|e<f";

std::vector<Planned> SweepExperiments() {
  json a = {{"lr", 0.1}}, b = {{"lr", 0.01}}, c = {{"lr", 0.001}}, d = {{"lr", 1.0}, {"note", kNote}};
  return {{a, 0, kFinish, 0.5, ""}, {a, 1, kFinish, 0.52, ""}, {a, 2, kFinish, 0.48, ""}, {b, 0, kFinish, 0.19, ""},
          {b, 1, kFinish, 0.2, ""}, {b, 2, kFinish, 0.21, ""}, {c, 0, kFinish, 0.3, ""},  {c, 1, kFinish, 0.31, ""},
          {c, 2, kFail, 0, ""},     {d, 0, kPrune, 0, ""},     {d, 1, kFinish, 0.9, ""},  {d, 2, kCancel, 0, ""}};
}

struct Lab {
  TempDir dir;
  ManualClock clock;
  std::unique_ptr<Ledger> ledger;
  explicit Lab(std::int64_t start_ms = 1'700'000'000'000) : clock(start_ms) {
    auto l = Ledger::Open(dir.path + "/" + kLedgerFileName, clock);
    REQUIRE_MESSAGE(l.ok(), l.status().message());
    ledger = std::move(*l);
  }
  std::string Path(const std::string& name) const { return dir.path + "/" + name; }

  // Proposes and queues every experiment in `plan` order, then runs them in `finish_order` (indices
  // into plan); `requeue` indices are found dead once first (Start, Requeue, Start again), as a run
  // interrupted by kill -9 does.
  std::vector<std::string> Fill(const std::vector<Planned>& plan, const std::vector<int>& finish_order,
                                const std::vector<int>& requeue = {}) {
    std::vector<std::string> ids;
    for (const auto& p : plan) {
      ExperimentRecord e;
      e.params = p.params;
      e.seed = p.seed;
      e.hypothesis = p.hypothesis;
      e.rationale = p.hypothesis.empty() ? "" : "because " + p.hypothesis;
      auto r = ledger->Propose(e);
      REQUIRE_MESSAGE(r.ok(), r.status().message());
      REQUIRE(*r);
      ids.push_back(ExperimentId(p.params, p.seed, ""));
      clock.Advance(10);
    }
    for (const auto& id : ids) REQUIRE(ledger->Queue(id).ok());
    int pid = 1000 + static_cast<int>(clock.NowMs() % 1000);
    for (int i : finish_order) {
      const Planned& p = plan[i];
      const std::string& id = ids[i];
      clock.Advance(1000);
      if (p.outcome == kCancel) {
        REQUIRE(ledger->Cancel(id, "budget spent").ok());
        continue;
      }
      if (std::find(requeue.begin(), requeue.end(), i) != requeue.end()) {
        REQUIRE(ledger->Start(id, "job-dead-" + std::to_string(i), "host-old", ++pid).ok());
        clock.Advance(500);
        REQUIRE(ledger->Requeue(id, "found dead after restart (pid gone)").ok());
      }
      REQUIRE(ledger->Start(id, "job-" + std::to_string(pid), "host-" + std::to_string(pid), ++pid).ok());
      clock.Advance(60'000);
      switch (p.outcome) {
        case kFinish: REQUIRE(ledger->Finish(id, p.metric, ExperimentLogPath(dir.path, id)).ok()); break;
        case kFail: REQUIRE(ledger->Fail(id, "crashed: exit 1").ok()); break;
        case kPrune: REQUIRE(ledger->Prune(id, "median stopping at step 5").ok()); break;
        case kCancel: break;
      }
    }
    return ids;
  }

  ReportFiles Report(const Plan& plan) {
    auto r = WriteReport(plan, *ledger, dir.path);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    return *r;
  }
};

std::vector<int> Iota(int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> Lines(const std::string& s) {
  auto v = Split(s, '\n');
  REQUIRE(!v.empty());
  CHECK(v.back().empty());  // every line ends with a newline
  v.pop_back();
  return v;
}

std::string Key(const json& params) { return ConfigKey(params, ""); }

}  // namespace

TEST_CASE("results.tsv: one row per finished experiment, sorted by id, fields escaped") {
  Lab lab;
  const auto plan = SweepPlan();
  const auto exps = SweepExperiments();
  lab.Fill(exps, Iota(12));
  auto files = lab.Report(plan);
  CHECK(files.results_tsv == lab.Path("results.tsv"));

  const auto lines = Lines(Read(files.results_tsv));
  REQUIRE(lines.size() == 1 + 9);  // header + A3 + B3 + C2 + D1
  CHECK(lines[0] == "id\tconfig\tseed\thypothesis\tlr\tnote\tval_loss");
  std::vector<std::string> ids;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto f = Split(lines[i], '\t');
    REQUIRE(f.size() == 7);
    ids.push_back(f[0]);
    auto rec = lab.ledger->Get(f[0]);
    REQUIRE(rec.ok());
    CHECK(rec->state == ExpState::kFinished);
    CHECK(f[1] == rec->config_key);
    CHECK(f[2] == std::to_string(rec->seed));
    CHECK(f[3] == "");
    CHECK(f[4] == rec->params["lr"].dump());
    // The metric reads back to exactly the ledger's double.
    CHECK(std::strtod(f[6].c_str(), nullptr) == *rec->metric);
    if (rec->params.contains("note")) {
      CHECK(f[5] == "a\\tb\\nc\\\\d|e<f");
    } else {
      CHECK(f[5] == "");
    }
  }
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  const std::string tsv = Read(files.results_tsv);
  CHECK(tsv.find("host-") == std::string::npos);
  CHECK(tsv.find("job-") == std::string::npos);
}

TEST_CASE("results.tsv: a parameter named like a fixed column gets a prefix") {
  Lab lab;
  auto plan = SweepPlan();
  plan.objective.metric = "score";
  std::vector<Planned> exps = {{json{{"id", 1}, {"score", 2}, {"zeta", "x"}}, 0, kFinish, 0.5, "h"}};
  lab.Fill(exps, {0});
  lab.Report(plan);
  const auto lines = Lines(Read(lab.Path("results.tsv")));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "id\tconfig\tseed\thypothesis\tparam.id\tparam.score\tzeta\tscore");
  auto f = Split(lines[1], '\t');
  REQUIRE(f.size() == 8);
  CHECK(f[3] == "h");
  CHECK(f[4] == "1");
  CHECK(f[6] == "x");  // strings as they are, not JSON-quoted
  CHECK(f[7] == "0.5");
}

TEST_CASE("results.json: shape, ranking, winner, experiments by id, nothing from attempts") {
  Lab lab;
  const auto plan = SweepPlan();
  const auto exps = SweepExperiments();
  auto ids = lab.Fill(exps, Iota(12));
  REQUIRE(lab.ledger->Promote(ids[0]).ok());
  REQUIRE(lab.ledger->Promote(ids[3]).ok());
  auto files = lab.Report(plan);
  const json j = json::parse(Read(files.results_json));

  CHECK(j["format"] == "dsx-autolab-results");
  CHECK(j["version"] == 1);
  CHECK(j["run"] == "report-test");
  CHECK(j["plan_hash"] == PlanHash(plan));
  CHECK(j["objective"]["metric"] == "val_loss");
  CHECK(j["objective"]["direction"] == "minimize");
  CHECK(j["objective"]["repeats"] == 3);
  CHECK(j["budget"]["max_experiments"] == 20);
  CHECK(j["budget"]["experiments"] == 12);
  CHECK(j["budget"]["finished"] == 9);
  CHECK(j["budget"]["failed"] == 1);
  CHECK(j["budget"]["pruned"] == 1);
  CHECK(j["budget"]["cancelled"] == 1);
  CHECK(j["budget"]["running"] == 0);

  const json& best = j["best"];
  REQUIRE(best.is_object());
  CHECK(best["config"] == Key(exps[3].params));
  CHECK(best["id"] == ids[3]);
  CHECK(best["rank"] == 1);
  CHECK(best["params"] == exps[3].params);
  CHECK(best["summary"]["n"] == 3);
  CHECK(best["summary"]["mean"].get<double>() == doctest::Approx(0.2));
  CHECK(best["summary"]["stddev"].get<double>() == doctest::Approx(0.01));
  CHECK(best["summary"]["ci_low"].get<double>() == doctest::Approx(0.175159).epsilon(1e-5));
  CHECK(best["summary"]["ci_high"].get<double>() == doctest::Approx(0.224841).epsilon(1e-5));
  CHECK(best["reason"].get<std::string>().find("with its whole interval") != std::string::npos);

  const json& configs = j["configurations"];
  REQUIRE(configs.size() == 4);
  const std::vector<std::string> expected = {Key(exps[3].params), Key(exps[6].params), Key(exps[0].params),
                                             Key(exps[9].params)};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(configs[i]["config"] == expected[i]);
    CHECK(configs[i]["rank"] == i + 1);
  }
  CHECK(configs[0]["best"] == true);
  CHECK(configs[1]["best"] == false);
  CHECK(configs[0]["values"] == json::array({0.19, 0.2, 0.21}));  // by proposal, not finishing order
  CHECK(configs[1]["failed"] == 1);
  CHECK(configs[1]["values"] == json::array({0.3, 0.31}));
  CHECK(configs[1]["decision"]["promoted"] == false);
  CHECK(configs[2]["decision"]["promoted"] == true);  // the baseline was promoted first
  // D: one value, so no interval: null, never a fake number or the text "inf".
  CHECK(configs[3]["summary"]["n"] == 1);
  CHECK(configs[3]["summary"]["ci_low"].is_null());
  CHECK(configs[3]["summary"]["ci_high"].is_null());
  CHECK(configs[3]["summary"]["stddev"].is_null());
  CHECK(configs[3]["pruned"] == 1);
  CHECK(configs[3]["cancelled"] == 1);
  CHECK(configs[3]["experiments"].size() == 3);

  const json& chain = j["promotion_chain"];
  REQUIRE(chain.size() == 4);
  CHECK(chain[0]["config"] == Key(exps[0].params));
  CHECK(chain[0]["promoted"] == true);
  CHECK(chain[1]["promoted"] == true);
  CHECK(chain[2]["promoted"] == false);
  CHECK(chain[3]["promoted"] == false);

  const json& ex = j["experiments"];
  REQUIRE(ex.size() == 12);
  std::vector<std::string> seen;
  for (const auto& e : ex) {
    seen.push_back(e["id"]);
    for (const char* banned : {"pid", "host", "job_id", "attempts", "started_ms", "finished_ms", "created_ms", "seq"}) {
      CHECK_MESSAGE(!e.contains(banned), banned);
    }
    const std::string id = e["id"];
    auto rec = lab.ledger->Get(id);
    REQUIRE(rec.ok());
    CHECK(e["state"] == ExpStateName(rec->state));
    CHECK(e["seed"] == rec->seed);
    CHECK(e["config"] == rec->config_key);
    if (rec->state == ExpState::kFinished) {
      CHECK(e["metric"].get<double>() == *rec->metric);
      CHECK(e["log"] == "experiments/" + id + "/output.log");
      CHECK(e["reason"] == "");
    } else {
      CHECK(e["metric"].is_null());
    }
    if (rec->state == ExpState::kFailed) CHECK(e["reason"] == "crashed: exit 1");
    if (rec->state == ExpState::kPruned) CHECK(e["reason"] == "median stopping at step 5");
    if (rec->state == ExpState::kCancelled) CHECK(e["log"].is_null());  // it never started: no log
    CHECK(e["promoted"] == (id == ids[3]));
  }
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  const std::string text = Read(files.results_json);
  CHECK(text.find("host-") == std::string::npos);
  CHECK(text.find("job-") == std::string::npos);
  CHECK(text.find(lab.dir.path) == std::string::npos);  // paths are relative: the folder can move
}

TEST_CASE("report.md: objective, winner with its interval, ranking, failures, links") {
  Lab lab;
  const auto plan = SweepPlan();
  const auto exps = SweepExperiments();
  auto ids = lab.Fill(exps, Iota(12));
  REQUIRE(lab.ledger->Promote(ids[3]).ok());
  auto files = lab.Report(plan);
  CHECK(files.report_md == lab.Path("report.md"));
  const std::string md = Read(files.report_md);

  CHECK(md.find("# AutoLab report: report-test") == 0);
  CHECK(md.find("minimize (lower is better)") != std::string::npos);
  CHECK(md.find("- experiments: 12 of 20 (finished 9, failed 1, pruned 1, cancelled 1, not yet done 0)") !=
        std::string::npos);
  CHECK(md.find("first proposed 2023-11-14 22:13:20 UTC") != std::string::npos);  // ManualClock's start
  // The winner: B, with mean +- half-width and the interval.
  const std::string winner = "Configuration `" + Key(exps[3].params) + "` (experiment `" + ids[3] +
                             "`): **0.2 ± 0.0248414 (95% CI [0.175159, 0.224841], n=3)**";
  CHECK_MESSAGE(md.find(winner) != std::string::npos, md);
  CHECK(md.find("- parameters: lr=0.01\n") != std::string::npos);
  CHECK(md.find("- why promoted: mean 0.2 [0.175159, 0.224841] (n=3) beats 0.49") != std::string::npos);
  CHECK(md.find("- promoted in the ledger\n") != std::string::npos);

  // Ranking rows in order B, C, A, D.
  const auto row = [&](int rank, int exp) {
    return md.find("| " + std::to_string(rank) + " | `" + Key(exps[exp].params) + "` | ");
  };
  REQUIRE(row(1, 3) != std::string::npos);
  REQUIRE(row(2, 6) != std::string::npos);
  REQUIRE(row(3, 0) != std::string::npos);
  REQUIRE(row(4, 9) != std::string::npos);
  CHECK(row(1, 3) < row(2, 6));
  CHECK(row(2, 6) < row(3, 0));
  CHECK(row(3, 0) < row(4, 9));
  CHECK(md.find("0.305 ± 0.063531 (95% CI [0.241469, 0.368531], n=2) | lr=0.001 |  | 1 failed |") != std::string::npos);
  CHECK(md.find("0.9 (n=1, single seed: no 95% CI)") != std::string::npos);
  // The note's '|' cannot break the table, its newline not the row, its '<' not open HTML.
  CHECK(md.find("note=a\tb c\\d\\|e&lt;f") != std::string::npos);

  CHECK(md.find("## Promotion decisions") != std::string::npos);
  CHECK(md.find("Evolve history") == std::string::npos);
  CHECK(md.find("| failed | crashed: exit 1 | [log](experiments/" + ids[8] + "/output.log) |") != std::string::npos);
  CHECK(md.find("| pruned | median stopping at step 5 |") != std::string::npos);
  CHECK(md.find("| cancelled | budget spent |  |") != std::string::npos);  // never started: no log link
  CHECK(md.find("[log](experiments/" + ids[4] + "/output.log)") != std::string::npos);
  CHECK(md.find("(plots/metric.svg)") != std::string::npos);
  CHECK(md.find("(plots/best.svg)") != std::string::npos);
  CHECK(md.find("plots/curves.svg") == std::string::npos);  // no curves in this ledger
  CHECK(md.find(lab.dir.path) == std::string::npos);
}

TEST_CASE("report.md: says when the ledger has not promoted the winner yet, and when the top mean is not the best") {
  Lab lab;
  auto plan = SweepPlan();
  plan.objective.margin = 0.25;  // B (0.2) must beat A's 0.5 by 0.25: its interval's top 0.2248 does
  auto exps = SweepExperiments();
  exps.resize(9);
  exps[6].metric = 0.1;  // C: mean 0.105 beats B but not by the margin: ranked first, not promoted
  exps[7].metric = 0.11;
  lab.Fill(exps, Iota(9));
  lab.Report(plan);
  const std::string md = Read(lab.Path("report.md"));
  CHECK(md.find("- not promoted in the ledger yet") != std::string::npos);
  CHECK(md.find("- the top-ranked configuration `" + Key(exps[6].params) +
                "` has a better mean but is not the best: ") != std::string::npos);
  const json j = json::parse(Read(lab.Path("results.json")));
  CHECK(j["best"]["config"] == Key(exps[3].params));
  CHECK(j["best"]["rank"] == 2);
  CHECK(j["configurations"][0]["config"] == Key(exps[6].params));
}

TEST_CASE("the winner's experiment is a finished one when its first seed failed") {
  Lab lab;
  const auto plan = SweepPlan();
  auto exps = SweepExperiments();
  exps.resize(6);
  exps[3].outcome = kFail;  // B's seed 0: B still wins on seeds 1 and 2
  auto ids = lab.Fill(exps, Iota(6));
  lab.Report(plan);
  const json j = json::parse(Read(lab.Path("results.json")));
  CHECK(j["best"]["config"] == Key(exps[3].params));
  CHECK(j["best"]["id"] == ids[4]);  // the ledger can promote only a finished experiment
  CHECK(lab.ledger->Promote(j["best"]["id"].get<std::string>()).ok());
  CHECK(Read(lab.Path("report.md")).find("(experiment `" + ids[4] + "`)") != std::string::npos);
}

TEST_CASE("maximize: higher is better in the ranking, the winner and best so far") {
  Lab lab;
  auto plan = SweepPlan();
  plan.objective.metric = "accuracy";
  plan.objective.maximize = true;
  auto exps = SweepExperiments();
  exps.resize(6);  // A: 0.5 0.52 0.48 (baseline), B: 0.19 0.2 0.21 (worse when maximizing)
  lab.Fill(exps, Iota(6));
  lab.Report(plan);
  const json j = json::parse(Read(lab.Path("results.json")));
  CHECK(j["objective"]["direction"] == "maximize");
  CHECK(j["best"]["config"] == Key(exps[0].params));
  CHECK(j["configurations"][0]["config"] == Key(exps[0].params));
  CHECK(j["promotion_chain"][1]["promoted"] == false);
  const std::string md = Read(lab.Path("report.md"));
  CHECK(md.find("maximize (higher is better)") != std::string::npos);
  const std::string best = Read(lab.Path("plots/best.svg"));
  // The promoted configuration's mean, drawn when its repeats are done: A at 3; B (worse) at 6.
  CHECK(best.find("data-values=\"3,0.5 6,0.5\"") != std::string::npos);
  CHECK(best.find("higher is better") != std::string::npos);
  CHECK(Lines(Read(lab.Path("results.tsv")))[0] == "id\tconfig\tseed\thypothesis\tlr\taccuracy");
}

TEST_CASE("a log outside the run folder is linked as the ledger has it") {
  Lab lab;
  const auto plan = SweepPlan();
  ExperimentRecord e;
  e.params = {{"lr", 0.1}};
  REQUIRE(*lab.ledger->Propose(e));
  const std::string id = ExperimentId(e.params, 0, "");
  REQUIRE(lab.ledger->Queue(id).ok());
  REQUIRE(lab.ledger->Start(id, "job-1", "host-1", 1).ok());
  REQUIRE(lab.ledger->Finish(id, 0.5, "/var/log/elsewhere/out.log").ok());
  lab.Report(plan);
  const json j = json::parse(Read(lab.Path("results.json")));
  CHECK(j["experiments"][0]["log"] == "/var/log/elsewhere/out.log");
}

TEST_CASE("determinism: same ledger twice, and another ledger filled in another order after a crash") {
  const auto plan = SweepPlan();
  const auto exps = SweepExperiments();
  Lab first;
  auto ids = first.Fill(exps, Iota(12));
  REQUIRE(first.ledger->Promote(ids[3]).ok());
  first.Report(plan);
  const std::string json1 = Read(first.Path("results.json")), tsv1 = Read(first.Path("results.tsv")),
                    md1 = Read(first.Path("report.md")), metric1 = Read(first.Path("plots/metric.svg")),
                    best1 = Read(first.Path("plots/best.svg"));
  first.Report(plan);
  CHECK(Read(first.Path("results.json")) == json1);
  CHECK(Read(first.Path("results.tsv")) == tsv1);
  CHECK(Read(first.Path("report.md")) == md1);  // no clock in report.md either: only the ledger's times
  CHECK(Read(first.Path("plots/metric.svg")) == metric1);
  CHECK(Read(first.Path("plots/best.svg")) == best1);

  // Another folder, another start time, the reverse finishing order, two experiments found dead
  // and retried (new pids, hosts, job ids, attempts = 2, a requeue reason in the ledger), and the
  // baseline promoted before the winner.
  Lab second(1'800'000'000'000);
  std::vector<int> reverse = Iota(12);
  std::reverse(reverse.begin(), reverse.end());
  auto ids2 = second.Fill(exps, reverse, {4, 7});
  REQUIRE(ids2 == ids);
  REQUIRE(second.ledger->Get(ids[4])->attempts == 2);
  REQUIRE(second.ledger->Promote(ids[0]).ok());
  REQUIRE(second.ledger->Promote(ids[3]).ok());
  second.Report(plan);
  CHECK(Read(second.Path("results.json")) == json1);
  CHECK(Read(second.Path("results.tsv")) == tsv1);
  CHECK(Read(second.Path("plots/metric.svg")) == metric1);
  // best.svg is in finishing order by definition, and report.md shows the ledger's times.
  CHECK(Read(second.Path("plots/best.svg")) != best1);
  CHECK(Read(second.Path("report.md")) != md1);
}

TEST_CASE("plots: well-formed SVG holding the points; curves.svg only when curves exist") {
  Lab lab;
  const auto plan = SweepPlan();
  const auto exps = SweepExperiments();
  auto ids = lab.Fill(exps, Iota(12));
  REQUIRE(dsx::fs::EnsureDir(lab.Path("plots")).ok());
  REQUIRE(dsx::fs::AtomicWriteFile(lab.Path("plots/curves.svg"), "<svg>stale</svg>").ok());

  auto files = lab.Report(plan);
  REQUIRE(files.plots.size() == 2);
  CHECK(files.plots[0] == lab.Path("plots/metric.svg"));
  CHECK(files.plots[1] == lab.Path("plots/best.svg"));
  CHECK(!std::filesystem::exists(lab.Path("plots/curves.svg")));  // the stale one is gone

  const std::string metric = Read(lab.Path("plots/metric.svg"));
  CHECK(dsx_test_svg::XmlProblem(metric) == "");
  // Rank 1 (B): its three repeats side by side around x = 1, and the means with their intervals.
  CHECK(metric.find("data-values=\"0.94,0.19 1,0.2 1.06,0.21\"") != std::string::npos);
  // (0.19 + 0.2 + 0.21) / 3 is 0.19999999999999998 in doubles: written so that it reads back exactly.
  CHECK(metric.find("data-values=\"1,0.19999999999999998 2,0.305 3,0.5 4,0.9\"") != std::string::npos);
  CHECK(metric.find("val_loss per configuration") != std::string::npos);

  // Best so far in finishing order: experiments 0..11 finished in plan order here.
  const std::string best = Read(lab.Path("plots/best.svg"));
  CHECK(dsx_test_svg::XmlProblem(best) == "");
  CHECK(best.find("data-values=\"1,0.5 2,0.52 3,0.48 4,0.19 5,0.2 6,0.21 7,0.3 8,0.31 9,0.9\"") != std::string::npos);
  // The best line is the promotion chain, not the best single run (0.19): A's mean once A is done,
  // B's from 6 on; C (done at 8) and D (at 9) do not beat it.
  CHECK(best.find("data-values=\"3,0.5 6,0.19999999999999998 8,0.19999999999999998 9,0.19999999999999998\"") !=
        std::string::npos);

  // Intermediate curves: one finished run and the pruned one (dashed).
  REQUIRE(lab.ledger->AddIntermediate(ids[0], 1, 0.8).ok());
  REQUIRE(lab.ledger->AddIntermediate(ids[0], 2, 0.6).ok());
  REQUIRE(lab.ledger->AddIntermediate(ids[9], 1, 1.5).ok());
  files = lab.Report(plan);
  REQUIRE(files.plots.size() == 3);
  CHECK(files.plots[2] == lab.Path("plots/curves.svg"));
  const std::string curves = Read(lab.Path("plots/curves.svg"));
  CHECK(dsx_test_svg::XmlProblem(curves) == "");
  CHECK(curves.find("data-values=\"1,0.8 2,0.6\"") != std::string::npos);
  CHECK(curves.find("data-values=\"1,1.5\"") != std::string::npos);
  CHECK(curves.find("stroke-dasharray") != std::string::npos);
  CHECK(curves.find(ids[9] + " seed 0 (pruned)") != std::string::npos);
  CHECK(Read(lab.Path("report.md")).find("(plots/curves.svg)") != std::string::npos);
}

TEST_CASE("evolve plan: the keep-or-revert history in order") {
  Lab lab;
  auto plan = SweepPlan();
  plan.sweep.reset();
  Evolve ev;
  ev.base = {{"lr", 0.1}, {"width", 64}};
  ev.hypotheses = {{"h1", "wider", {{"width", 128}}, ""},
                   {"h2", "lower lr", {{"lr", 0.01}}, ""},
                   {"h3", "deeper", {{"width", 256}}, ""}};
  plan.evolve = ev;
  json base = {{"lr", 0.1}, {"width", 64}}, h1 = {{"lr", 0.1}, {"width", 128}}, h2 = {{"lr", 0.01}, {"width", 128}},
       h3 = {{"lr", 0.1}, {"width", 256}};
  std::vector<Planned> exps = {{base, 0, kFinish, 1.0, "baseline"},  {base, 1, kFinish, 1.01, "baseline"},
                               {base, 2, kFinish, 0.99, "baseline"}, {h1, 0, kFinish, 0.8, "h1"},
                               {h1, 1, kFinish, 0.81, "h1"},         {h1, 2, kFinish, 0.79, "h1"},
                               {h2, 0, kFinish, 0.9, "h2"},          {h2, 1, kFinish, 0.95, "h2"},
                               {h2, 2, kFinish, 0.85, "h2"},         {h3, 0, kFinish, 0.7, "h3"}};
  lab.Fill(exps, Iota(10));
  // h3's other repeats are still queued: in progress.
  for (std::int64_t seed : {1, 2}) {
    ExperimentRecord e;
    e.params = h3;
    e.seed = seed;
    e.hypothesis = "h3";
    REQUIRE(*lab.ledger->Propose(e));
  }
  lab.Report(plan);
  const std::string md = Read(lab.Path("report.md"));
  CHECK(md.find("## Evolve history (keep or revert, in order)") != std::string::npos);
  CHECK(md.find("## Promotion decisions") == std::string::npos);
  const auto b = md.find("1. baseline: **kept**: no current best"), k1 = md.find("2. h1: **kept**: "),
             r2 = md.find("3. h2: reverted: "), p3 = md.find("4. h3: in progress: 2 repeat(s) not done");
  REQUIRE(b != std::string::npos);
  REQUIRE(k1 != std::string::npos);
  REQUIRE(r2 != std::string::npos);
  REQUIRE(p3 != std::string::npos);
  CHECK(b < k1);
  CHECK(k1 < r2);
  CHECK(r2 < p3);
  CHECK(md.find("Rationale: because h2") != std::string::npos);
  // h3's single finished seed (0.7) ranks first by mean but is not complete: h1 is the winner.
  const json j = json::parse(Read(lab.Path("results.json")));
  CHECK(j["best"]["hypothesis"] == "h1");
  CHECK(j["configurations"][0]["hypothesis"] == "h3");
  CHECK(j["configurations"][0]["complete"] == false);
  CHECK(j["configurations"][0]["pending"] == 2);
  const auto lines = Lines(Read(lab.Path("results.tsv")));
  REQUIRE(lines.size() == 11);
  CHECK(lines[0] == "id\tconfig\tseed\thypothesis\tlr\twidth\tval_loss");
}

TEST_CASE("text that is not UTF-8 (a crashed program's output in a reason) is written, not thrown on") {
  Lab lab;
  const auto plan = SweepPlan();
  std::vector<Planned> exps = {{json{{"lr", 0.1}}, 0, kFinish, 0.5, "h\xe2\x88\x9e"},
                               {json{{"lr", 0.2}}, 0, kFail, 0, ""}};
  auto ids = lab.Fill(exps, {0});
  REQUIRE(lab.ledger->Fail(ids[1], "printed no metric: last line 'loss=\xff\xfe'").ok());
  auto files = lab.Report(plan);
  const std::string text = Read(files.results_json);
  const json j = json::parse(text);
  bool found = false;
  for (const auto& e : j["experiments"]) {
    if (e["id"] == ids[1]) {
      CHECK(e["reason"] == "printed no metric: last line 'loss=\xef\xbf\xbd\xef\xbf\xbd'");
      found = true;
    }
  }
  CHECK(found);
  for (const auto& p : files.plots) CHECK(dsx_test_svg::XmlProblem(Read(p)) == "");
  CHECK(Read(lab.Path("plots/metric.svg")).find("#1 h\xe2\x88\x9e") != std::string::npos);
  CHECK(Read(files.report_md).find("printed no metric") != std::string::npos);
}

TEST_CASE("an empty ledger reports no winner, and a run folder that is a file is an error") {
  Lab lab;
  const auto plan = SweepPlan();
  auto files = lab.Report(plan);
  CHECK(Read(files.report_md).find("No winner yet") != std::string::npos);
  const json j = json::parse(Read(files.results_json));
  CHECK(j["best"].is_null());
  CHECK(j["configurations"].empty());
  CHECK(j["experiments"].empty());
  CHECK(Read(files.results_tsv) == "id\tconfig\tseed\thypothesis\tval_loss\n");
  for (const auto& p : files.plots) {
    const std::string svg = Read(p);
    CHECK(dsx_test_svg::XmlProblem(svg) == "");
    CHECK(svg.find("no data") != std::string::npos);
  }

  REQUIRE(dsx::fs::AtomicWriteFile(lab.Path("not-a-dir"), "x").ok());
  auto r = WriteReport(plan, *lab.ledger, lab.Path("not-a-dir"));
  CHECK(!r.ok());
}
