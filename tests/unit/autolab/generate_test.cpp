// generate: portable PRNG, grid/random sweeps pinned to exact values, repeats, ids, the evolve
// keep-or-revert sequence, the Planner's dedupe and budget, ApplyPatch on a temporary folder.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "autolab/generate.hpp"
#include "autolab/ledger.hpp"
#include "core/hash.hpp"

using dsx::Code;
using namespace dsx::autolab;
using nlohmann::json;

namespace {

Param Values(const std::string& name, Param::Kind kind, std::vector<json> values) {
  Param p;
  p.name = name;
  p.kind = kind;
  p.values = std::move(values);
  return p;
}

Param Range(const std::string& name, Param::Kind kind, double low, double high, int count = 0) {
  Param p;
  p.name = name;
  p.kind = kind;
  p.low = low;
  p.high = high;
  p.count = count;
  return p;
}

Plan SweepPlan(Sweep::Mode mode, std::vector<Param> params, int repeats, int samples = 0, std::uint64_t seed = 0) {
  Plan plan;
  plan.objective.repeats = repeats;
  Sweep s;
  s.mode = mode;
  s.params = std::move(params);
  s.samples = samples;
  s.seed = seed;
  plan.sweep = s;
  return plan;
}

Hypothesis Hyp(const std::string& id, std::map<std::string, json> overrides, std::string patch = "") {
  Hypothesis h;
  h.id = id;
  h.rationale = "why " + id;
  h.overrides = std::move(overrides);
  h.patch = std::move(patch);
  return h;
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "dsx-gen-test-XXXXXX").string();
    REQUIRE(mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

bool HavePatch() { return access("/usr/bin/patch", X_OK) == 0 || system("command -v patch >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("Rng is xoshiro256** seeded by splitmix64 (values from an independent Python model)") {
  Rng r(42);
  CHECK(r.Next() == 1546998764402558742ull);
  CHECK(r.Next() == 6990951692964543102ull);
  CHECK(r.Next() == 12544586762248559009ull);
  Rng a(9), b(9);
  for (int i = 0; i < 1000; ++i) {
    double u = a.Uniform01();
    CHECK(u == b.Uniform01());
    CHECK((u >= 0 && u < 1));
    std::int64_t k = a.UniformInt(-3, 3);
    CHECK(k == b.UniformInt(-3, 3));
    CHECK((k >= -3 && k <= 3));
  }
}

TEST_CASE("grid sweep: cartesian product in parameter order, last fastest, repeats kept together") {
  Plan plan = SweepPlan(Sweep::kGrid, {Values("a", Param::kGrid, {1, 2}), Values("b", Param::kChoice, {"x", "y"})}, 2);
  auto r = ExpandSweep(plan);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 8);
  std::vector<std::string> got;
  for (const Candidate& c : *r) got.push_back(c.params.dump() + "#" + std::to_string(c.seed));
  CHECK(got == std::vector<std::string>{R"({"a":1,"b":"x"}#0)", R"({"a":1,"b":"x"}#1)", R"({"a":1,"b":"y"}#0)",
                                        R"({"a":1,"b":"y"}#1)", R"({"a":2,"b":"x"}#0)", R"({"a":2,"b":"x"}#1)",
                                        R"({"a":2,"b":"y"}#0)", R"({"a":2,"b":"y"}#1)"});
  CHECK((*r)[0].config_key == (*r)[1].config_key);
  CHECK((*r)[0].id != (*r)[1].id);
  CHECK((*r)[1].config_key != (*r)[2].config_key);
}

TEST_CASE("grid sweep over ranges: linear, log-spaced, integers") {
  Plan plan = SweepPlan(Sweep::kGrid,
                        {Range("d", Param::kInt, 1, 3), Range("k", Param::kInt, 0, 10, 3),
                         Range("lr", Param::kLogUniform, 1e-4, 1e-2, 3), Range("u", Param::kUniform, 0, 1, 4)},
                        1);
  auto r = ExpandSweep(plan);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3 * 3 * 3 * 4);
  std::set<double> lrs, us;
  std::set<std::int64_t> ds, ks;
  for (const Candidate& c : *r) {
    lrs.insert(c.params["lr"].get<double>());
    us.insert(c.params["u"].get<double>());
    ds.insert(c.params["d"].get<std::int64_t>());
    ks.insert(c.params["k"].get<std::int64_t>());
    CHECK(c.params["d"].is_number_integer());
  }
  CHECK(lrs == std::set<double>{1e-4, 1e-3, 1e-2});  // log-spaced, rounded to 6 digits: exactly 0.001
  CHECK(us == std::set<double>{0, 0.333333, 0.666667, 1});
  CHECK(ds == std::set<std::int64_t>{1, 2, 3});
  CHECK(ks == std::set<std::int64_t>{0, 5, 10});
  CHECK(r->front().params.dump() == R"({"d":1,"k":0,"lr":0.0001,"u":0.0})");
  CHECK(!ExpandSweep(SweepPlan(Sweep::kGrid, {Range("u", Param::kUniform, 0, 1)}, 1)).ok());  // no count
  CHECK(ExpandSweep(Plan{}).status().code() == Code::kUsage);
}

TEST_CASE("random sweep: exact values for a fixed seed (independent Python model), same plan same list") {
  Plan plan = SweepPlan(Sweep::kRandom,
                        {Range("depth", Param::kInt, 2, 8), Range("lr", Param::kLogUniform, 1e-4, 1e-1),
                         Values("opt", Param::kChoice, {"adam", "sgd"}), Range("wd", Param::kUniform, 0, 0.1)},
                        3, /*samples=*/3, /*seed=*/7);
  auto r = ExpandSweep(plan);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 9);
  CHECK((*r)[0].params == json{{"depth", 2}, {"lr", 0.000685889}, {"opt", "adam"}, {"wd", 0.0981098}});
  CHECK((*r)[3].params == json{{"depth", 8}, {"lr", 0.0415262}, {"opt", "adam"}, {"wd", 0.0104436}});
  CHECK((*r)[6].params == json{{"depth", 5}, {"lr", 0.000285396}, {"opt", "sgd"}, {"wd", 0.0731858}});
  for (int i = 0; i < 9; ++i) CHECK((*r)[i].seed == i % 3);
  auto again = ExpandSweep(plan);
  REQUIRE(again.ok());
  for (std::size_t i = 0; i < r->size(); ++i) CHECK((*again)[i].id == (*r)[i].id);
  plan.sweep->seed = 8;
  CHECK((*ExpandSweep(plan))[0].params != (*r)[0].params);
}

TEST_CASE("candidate ids: stable, distinct per seed and patch, independent of key insertion order") {
  json p1 = json::object();
  p1["lr"] = 0.1;
  p1["a"] = 1;
  json p2 = json::object();
  p2["a"] = 1;
  p2["lr"] = 0.1;
  Candidate a = MakeCandidate(p1, {}, 0), b = MakeCandidate(p2, {}, 0);
  CHECK(a.id == b.id);
  CHECK(a.config_key == b.config_key);
  CHECK(a.id.size() == 14);
  CHECK(a.id.rfind("e-", 0) == 0);
  // The ledger's identities (Propose refuses an id that is not ExperimentId of the row's fields).
  CHECK(a.id == dsx::autolab::ExperimentId(p1, 0, ""));
  CHECK(a.config_key == dsx::autolab::ConfigKey(p1, ""));
  Candidate seeded = MakeCandidate(p1, {}, 1), patched = MakeCandidate(p1, {"--- a/x\n+++ b/x\n"}, 0);
  CHECK(seeded.id != a.id);
  CHECK(seeded.config_key == a.config_key);
  CHECK(patched.config_key != a.config_key);
  CHECK(MakeCandidate(json{{"a", 1}}, {}, 0).id != MakeCandidate(json{{"a", 1.5}}, {}, 0).id);
  // Pinned: the id is part of the ledger and of results.tsv; changing its recipe orphans old runs.
  // sha256 by Python's hashlib of params.dump() + "\n" + seed + "\n" + patch (ledger.hpp).
  CHECK(MakeCandidate(json{{"lr", 0.1}}, {}, 0).id == "e-1f4efe7fae3d");
  CHECK(MakeCandidate(json{{"lr", 0.1}}, {}, 0).config_key ==
        "c-" + dsx::hash::Sha256Hex("{\"lr\":0.1}\n").substr(0, 12));
}

TEST_CASE("evolve: baseline, h1 wins and is kept, h2 loses and is reverted, h3 on top of h1") {
  Plan plan;
  plan.objective.repeats = 2;
  Evolve ev;
  ev.base = {{"lr", 0.01}, {"width", 64}};
  ev.hypotheses = {Hyp("h1", {{"lr", 0.02}}, "P1"), Hyp("h2", {{"width", 128}}, "P2"), Hyp("h3", {}, "P3\n")};
  plan.evolve = ev;

  EvolveState st = InitialEvolveState(plan);
  auto step = NextEvolveStep(plan, st);
  REQUIRE(step);
  REQUIRE(step->size() == 2);
  CHECK((*step)[0].hypothesis == "baseline");
  CHECK((*step)[0].params == json{{"lr", 0.01}, {"width", 64}});
  CHECK((*step)[0].patches.empty());
  CHECK((*step)[0].seed == 0);
  CHECK((*step)[1].seed == 1);
  st = RecordOutcome(plan, st, "baseline", true);

  step = NextEvolveStep(plan, st);
  REQUIRE(step);
  CHECK((*step)[0].hypothesis == "h1");
  CHECK((*step)[0].rationale == "why h1");
  CHECK((*step)[0].params == json{{"lr", 0.02}, {"width", 64}});
  CHECK((*step)[0].patches == std::vector<std::string>{"P1"});
  st = RecordOutcome(plan, st, "h1", true);

  step = NextEvolveStep(plan, st);
  REQUIRE(step);
  CHECK((*step)[0].hypothesis == "h2");
  CHECK((*step)[0].params == json{{"lr", 0.02}, {"width", 128}});
  CHECK((*step)[0].patches == std::vector<std::string>{"P1", "P2"});
  CHECK((*step)[0].patch == "P1\nP2\n");
  st = RecordOutcome(plan, st, "h2", false);

  step = NextEvolveStep(plan, st);
  REQUIRE(step);
  CHECK((*step)[0].hypothesis == "h3");
  CHECK((*step)[0].params == json{{"lr", 0.02}, {"width", 64}});  // h2's width reverted
  CHECK((*step)[0].patches == std::vector<std::string>{"P1", "P3\n"});
  st = RecordOutcome(plan, st, "h3", false);

  CHECK(!NextEvolveStep(plan, st));
  CHECK(st.best_patches == std::vector<std::string>{"P1"});
  CHECK(!NextEvolveStep(Plan{}, InitialEvolveState(Plan{})));
}

TEST_CASE("PlanQueue: drops known ids and duplicates, keeps order, whole configurations within the budget") {
  Plan plan = SweepPlan(Sweep::kGrid, {Values("a", Param::kGrid, {1, 2, 3, 4})}, 3);
  auto all = ExpandSweep(plan);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 12);
  std::vector<Candidate> proposed = *all;
  proposed.push_back((*all)[4]);                                            // a duplicate within the list
  std::set<std::string> known = {(*all)[0].id, (*all)[1].id, (*all)[2].id,  // a=1 done
                                 (*all)[3].id};                             // a=2 seed 0 done
  std::vector<std::string> notes;
  auto q = PlanQueue(proposed, known, 4, &notes);
  // a=2 has 2 repeats left (fit: 4 -> 2), a=3 needs 3 (dropped, noted), a=4 needs 3 (dropped).
  REQUIRE(q.size() == 2);
  CHECK(q[0].id == (*all)[4].id);
  CHECK(q[1].id == (*all)[5].id);
  CHECK(notes.size() == 2);
  CHECK(notes[0].find("do not fit") != std::string::npos);

  auto everything = PlanQueue(*all, {}, 100);
  REQUIRE(everything.size() == 12);
  for (std::size_t i = 0; i < 12; ++i) CHECK(everything[i].id == (*all)[i].id);
  CHECK(PlanQueue(*all, {}, 0).empty());
  CHECK(PlanQueue(*all, {}, 5).size() == 3);  // one whole configuration; the next needs 3, only 2 left
  // A configuration's repeats stay together even when proposed interleaved.
  std::vector<Candidate> mixed = {(*all)[0], (*all)[3], (*all)[1], (*all)[4]};
  auto grouped = PlanQueue(mixed, {}, 10);
  REQUIRE(grouped.size() == 4);
  CHECK(grouped[1].id == (*all)[1].id);
}

TEST_CASE("ApplyPatch: applies a unified diff; one that does not apply changes nothing") {
  if (!HavePatch()) {
    MESSAGE("SKIP: GNU patch is not installed (Debian package 'patch')");
    return;
  }
  TempDir dir;
  WriteFile(dir.path / "a.txt", "one\ntwo\nthree\n");
  WriteFile(dir.path / "b.txt", "alpha\nbeta\n");
  const std::string good = "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n";
  auto r = ApplyPatch(dir.path.string(), good);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(ReadFile(dir.path / "a.txt") == "one\nTWO\nthree\n");

  // The first file's hunk applies, the second's does not: nothing may be half-applied.
  const std::string half =
      "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n-one\n+ONE\n TWO\n three\n"
      "--- a/b.txt\n+++ b/b.txt\n@@ -1,2 +1,2 @@\n alpha\n-gamma\n+delta\n";
  auto bad = ApplyPatch(dir.path.string(), half);
  REQUIRE(!bad.ok());
  CHECK(bad.status().code() == Code::kFailed);
  CHECK(bad.status().message().find("does not apply") != std::string::npos);
  CHECK(bad.status().message().find("b.txt") != std::string::npos);  // patch's own message
  CHECK(ReadFile(dir.path / "a.txt") == "one\nTWO\nthree\n");
  CHECK(ReadFile(dir.path / "b.txt") == "alpha\nbeta\n");
  CHECK(!std::filesystem::exists(dir.path / "a.txt.orig"));
  CHECK(!std::filesystem::exists(dir.path / "b.txt.rej"));

  // Applying the same patch again is refused (--forward), not reversed.
  CHECK(!ApplyPatch(dir.path.string(), good).ok());
  CHECK(ReadFile(dir.path / "a.txt") == "one\nTWO\nthree\n");
  CHECK(ApplyPatch(dir.path.string(), "").ok());
  CHECK(ApplyPatch((dir.path / "missing").string(), good).status().code() == Code::kNotFound);
}

TEST_CASE("ApplyPatches stacks patches in order, all or nothing") {
  if (!HavePatch()) {
    MESSAGE("SKIP: GNU patch is not installed (Debian package 'patch')");
    return;
  }
  TempDir dir;
  WriteFile(dir.path / "t.py", "lr = 1\nwidth = 2\n");
  const std::string p1 = "--- a/t.py\n+++ b/t.py\n@@ -1,2 +1,2 @@\n-lr = 1\n+lr = 3\n width = 2\n";
  const std::string p2 = "--- a/t.py\n+++ b/t.py\n@@ -1,2 +1,2 @@\n lr = 3\n-width = 2\n+width = 4\n";  // needs p1
  const std::string bad = "--- a/t.py\n+++ b/t.py\n@@ -1,2 +1,2 @@\n lr = 3\n-width = 9\n+width = 5\n";
  auto r = ApplyPatches(dir.path.string(), {p1, bad});
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("patch 2 of 2") != std::string::npos);
  CHECK(ReadFile(dir.path / "t.py") == "lr = 1\nwidth = 2\n");  // p1 undone
  auto ok = ApplyPatches(dir.path.string(), {p1, p2});
  REQUIRE_MESSAGE(ok.ok(), ok.status().message());
  CHECK(ReadFile(dir.path / "t.py") == "lr = 3\nwidth = 4\n");
}
