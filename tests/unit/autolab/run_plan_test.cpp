// run_plan.hpp: plan.json read back is the plan that ran. ToJson -> PlanFromJson -> ToJson is the
// identity (same PlanHash) for a grid sweep, a random sweep, an evolve plan with a patch and a
// researcher; a damaged plan.json names the field; LoadRunPlan on a folder without one is kNotFound.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "autolab/plan.hpp"
#include "autolab/run_plan.hpp"
#include "core/fs.hpp"

namespace al = dsx::autolab;
using dsx::Code;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "dsx-run-plan-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

const char* kGrid = R"Y(name: grid-plan
objective: {metric: val_loss, direction: minimize, margin: 0.01, repeats: 3, confidence: 0.9}
budget: {max_experiments: 60, max_parallel: 2, wall_clock: 2h, experiment_timeout: 300, max_cost_usd: 1.5}
experiment:
  command: python3 train.py --lr {lr} --width {width} --act {act} --seed {seed} --out {workdir}
  env: {OMP_NUM_THREADS: "1"}
  metric: {source: json_lines, intermediate_key: step}
  pruning: {median_stopping: true, min_steps: 5}
sweep:
  mode: grid
  params:
    width: [32, 64, 128]
    lr: {type: loguniform, low: 0.001, high: 0.1, count: 3}
    act: {type: choice, values: [relu, tanh]}
backend: slurm
resources: {cpus: 2, gpus: 1, gpu_type: a100, mem_gb: 16, partition: short, account: lab}
session_server: http://127.0.0.1:4437
)Y";

const char* kRandom = R"Y(objective: {metric: acc, direction: maximize}
budget: {max_experiments: 8, experiment_timeout: 60}
experiment:
  command: run --n {n} --x {x}
  metric: {source: regex, regex: "acc=([0-9.]+)"}
sweep:
  mode: random
  samples: 8
  seed: 18446744073709551615
  params:
    n: {type: int, low: 1, high: 9}
    x: {type: uniform, low: -1, high: 1}
)Y";

const char* kEvolve = R"Y(name: evo
objective: {metric: val_bpb, direction: minimize, repeats: 2}
budget: {max_experiments: 12, experiment_timeout: 10m}
experiment:
  command: run --lr {lr} --depth {depth}
  metric: {source: file, file: out/metrics.json}
evolve:
  base: {lr: 0.003, depth: 4}
  hypotheses:
    - id: higher-lr
      rationale: larger step
      overrides: {lr: 0.006}
    - id: tweak
      rationale: a patch
      patch: |
        --- a/train.py
        +++ b/train.py
        @@ -1 +1 @@
        -x = 1
        +x = 2
researcher: {provider: openai, model: gpt-4o-mini, goal: lower bpb}
)Y";

al::Plan Parse(const char* yaml) {
  auto p = al::ParsePlan(yaml, "/tmp/plan.yaml");
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  return *p;
}

}  // namespace

TEST_CASE("PlanFromJson is the inverse of ToJson") {
  for (const char* yaml : {kGrid, kRandom, kEvolve}) {
    const al::Plan plan = Parse(yaml);
    const auto j = al::ToJson(plan);
    // Through text, as plan.json is read: numbers come back as the parser types them.
    auto back = al::PlanFromJson(nlohmann::json::parse(j.dump()));
    REQUIRE_MESSAGE(back.ok(), back.status().message());
    CHECK(al::ToJson(*back) == j);
    CHECK(al::PlanHash(*back) == al::PlanHash(plan));
    CHECK(back->name == plan.name);
  }
}

TEST_CASE("PlanFromJson keeps what standings and the reporter read") {
  auto back = al::PlanFromJson(al::ToJson(Parse(kEvolve)));
  REQUIRE(back.ok());
  CHECK(back->objective.metric == "val_bpb");
  CHECK_FALSE(back->objective.maximize);
  CHECK(back->objective.repeats == 2);
  REQUIRE(back->evolve);
  REQUIRE(back->evolve->hypotheses.size() == 2);
  CHECK(back->evolve->hypotheses[1].patch.find("+x = 2") != std::string::npos);
  REQUIRE(back->researcher);
  CHECK(back->researcher->model == "gpt-4o-mini");
  CHECK_FALSE(back->sweep);
}

TEST_CASE("a damaged plan.json names the field") {
  auto j = al::ToJson(Parse(kGrid));
  SUBCASE("missing") {
    j["objective"].erase("metric");
    auto r = al::PlanFromJson(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kFailed);
    CHECK(r.status().message().find("objective.metric is missing") != std::string::npos);
  }
  SUBCASE("wrong type") {
    j["budget"]["max_experiments"] = "sixty";
    auto r = al::PlanFromJson(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("budget.max_experiments is not an integer") != std::string::npos);
  }
  SUBCASE("unknown word") {
    j["objective"]["direction"] = "sideways";
    auto r = al::PlanFromJson(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("sideways") != std::string::npos);
  }
  SUBCASE("out of range") {
    j["objective"]["repeats"] = 1LL << 40;
    CHECK_FALSE(al::PlanFromJson(j).ok());
  }
  SUBCASE("not an object") { CHECK_FALSE(al::PlanFromJson(nlohmann::json::array()).ok()); }
  SUBCASE("a param that is not an object") {
    j["sweep"]["params"][0] = 7;
    CHECK_FALSE(al::PlanFromJson(j).ok());
  }
}

TEST_CASE("LoadRunPlan reads <run>/plan.json") {
  TempDir dir;
  auto missing = al::LoadRunPlan(dir.path);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);

  const al::Plan plan = Parse(kRandom);
  REQUIRE(dsx::fs::AtomicWriteFile(al::RunPlanPath(dir.path), al::ToJson(plan).dump()).ok());
  auto loaded = al::LoadRunPlan(dir.path);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().message());
  CHECK(al::PlanHash(*loaded) == al::PlanHash(plan));
  CHECK(loaded->dir == dir.path);

  // Nested past the JSON depth limit: refused before any value is built.
  REQUIRE(dsx::fs::AtomicWriteFile(al::RunPlanPath(dir.path), std::string(200, '[') + std::string(200, ']')).ok());
  auto deep = al::LoadRunPlan(dir.path);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().message().find("plan.json") != std::string::npos);
  REQUIRE(dsx::fs::AtomicWriteFile(al::RunPlanPath(dir.path), "{not json").ok());
  CHECK_FALSE(al::LoadRunPlan(dir.path).ok());
}
