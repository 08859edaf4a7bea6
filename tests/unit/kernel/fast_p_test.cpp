// fast_p (KernelBench's metric) over per-task outcomes, and the loaders that read saved
// `dsx kernel bench --json` documents, gen run folders and torch_eager.py's baseline. The fixtures
// in tests/cli/fixtures/fast_p/ are shaped exactly like what bench --json and gen write.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <unistd.h>

#include "kernel/bench/fast_p.hpp"
#include "kernel/bench/fast_p_results.hpp"
#include "test_paths.hpp"

using namespace dsx::kernel::bench;
namespace stdfs = std::filesystem;

namespace {

TaskOutcome Timed(const std::string& name, std::vector<std::pair<double, double>> cand_base) {
  TaskOutcome t;
  t.task = name;
  t.correct = true;
  t.status = "ok";
  t.baseline = "reference";
  int i = 0;
  for (auto [c, b] : cand_base) {
    ConfigTime ct;
    ct.dtype = "f32";
    ct.preset = "p" + std::to_string(i++);
    ct.mode = "cold";
    ct.candidate_ms = c;
    ct.baseline_ms = b;
    t.configs.push_back(ct);
  }
  return t;
}

TaskOutcome Failed(const std::string& name, const std::string& status, const std::string& why) {
  TaskOutcome t;
  t.task = name;
  t.status = status;
  t.reason = why;
  t.baseline = "reference";
  return t;
}

const FastPPoint& At(const FastPReport& r, double p) {
  for (const auto& pt : r.points)
    if (pt.p == p) return pt;
  FAIL("no threshold " << p);
  return r.points.front();
}

stdfs::path Fixtures() { return stdfs::path(DSX_SOURCE_DIR) / "tests/cli/fixtures/fast_p"; }

// One folder per test process, removed when the process ends.
struct TempRoot {
  stdfs::path dir = stdfs::temp_directory_path() / ("dsx-fast-p-test-" + std::to_string(::getpid()));
  ~TempRoot() {
    std::error_code ec;
    stdfs::remove_all(dir, ec);
  }
};

stdfs::path TempFile(const std::string& name, const std::string& text) {
  static TempRoot root;
  const stdfs::path& dir = root.dir;
  stdfs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << text;
  return dir / name;
}

const TaskOutcome& Find(const std::vector<TaskOutcome>& v, const std::string& task) {
  for (const auto& t : v)
    if (t.task == task) return t;
  FAIL("no task " << task);
  return v.front();
}

}  // namespace

TEST_CASE("fast_p: the share of ALL tasks that are correct and faster than p") {
  // speedups 2.0, 1.2, 0.5; one wrong task: n = 4.
  std::vector<TaskOutcome> v = {Timed("a", {{1.0, 2.0}}), Timed("b", {{1.0, 1.2}}), Timed("c", {{2.0, 1.0}}),
                                Failed("d", "wrong", "max rel err 0.3 > 1e-2")};
  auto r = ComputeFastP(v, {0, 1, 1.5, 2});
  CHECK(r.n == 4);
  CHECK(r.correct == 3);
  CHECK(r.scored == 3);
  CHECK(At(r, 0).count == 3);
  CHECK(At(r, 0).fraction == doctest::Approx(0.75));
  CHECK(At(r, 1).count == 2);
  CHECK(At(r, 1.5).count == 1);
  CHECK(At(r, 2).count == 0);  // 2.0 is not > 2: strict, as KernelBench
  CHECK(r.geomean_speedup == doctest::Approx(std::cbrt(2.0 * 1.2 * 0.5)));
  CHECK(r.tasks[3].note == "wrong: max rel err 0.3 > 1e-2");
  CHECK(r.baseline == "reference");
}

TEST_CASE("fast_p: no tasks gives n 0 and fractions 0 (score.py), not NaN") {
  auto r = ComputeFastP({}, DefaultFastPThresholds());
  CHECK(r.n == 0);
  CHECK(r.points.size() == 6);
  for (const auto& pt : r.points) CHECK(pt.fraction == 0.0);
  auto j = FastPToJson(r);
  CHECK(j["geomean_speedup"].is_null());
  CHECK(j["baseline"].is_null());
  CHECK(FormatFastP(r).find("fast_p over 0 tasks") != std::string::npos);
}

TEST_CASE("fast_p: ties at exactly p are not counted; just above is") {
  auto r = ComputeFastP({Timed("tie", {{0.5, 0.5}}), Timed("above", {{0.5, 0.5000001}})}, {1.0});
  CHECK(At(r, 1.0).count == 1);
  CHECK(r.tasks[0].speedup == 1.0);
}

TEST_CASE("fast_p: a task's speedup is the geometric mean over its configurations") {
  TaskScore s = ScoreTask(Timed("t", {{1.0, 4.0}, {1.0, 1.0}}));
  CHECK(s.scored);
  CHECK(s.speedup == doctest::Approx(2.0));
}

TEST_CASE("fast_p: a missing baseline keeps the task in n but out of every fast_p, fast_0 included") {
  TaskOutcome t = Timed("nobase", {{1.0, 0}});
  t.configs[0].baseline_note = "no PyTorch eager time in 'x.jsonl'";
  auto r = ComputeFastP({t, Timed("ok", {{1.0, 3.0}})}, {0, 1});
  CHECK(r.n == 2);
  CHECK(r.correct == 2);
  CHECK(r.scored == 1);
  CHECK(At(r, 0).count == 1);
  CHECK(r.tasks[0].note == "f32/p0: no PyTorch eager time in 'x.jsonl'");
}

TEST_CASE("fast_p: NaN, infinite, zero and negative times are not measurements") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (auto [c, b] : std::vector<std::pair<double, double>>{{nan, 1}, {1, nan}, {0, 1}, {1, 0}, {-1, 1}, {inf, 1},
                                                            {1, inf}}) {
    TaskScore s = ScoreTask(Timed("t", {{c, b}}));
    CHECK_MESSAGE(!s.scored, c << " vs " << b);
    CHECK(s.correct);
    CHECK(s.note.find("is not a measurement") != std::string::npos);
  }
  // A correct task with no timed configuration (impossible from bench, possible by hand) is unscored.
  TaskOutcome empty = Timed("e", {});
  CHECK(ScoreTask(empty).note == "no timed configuration");
  // Extreme but finite: the log-sum keeps it finite.
  CHECK(ScoreTask(Timed("tiny", {{1e-300, 1.0}, {1.0, 1e-300}})).speedup == doctest::Approx(1.0));
}

TEST_CASE("fast_p: thresholds parse strictly") {
  auto p = ParseFastPThresholds("0, 1,1.5,2");
  REQUIRE(p.ok());
  CHECK(*p == std::vector<double>{0, 1, 1.5, 2});
  for (const char* bad : {"", "1,", ",1", "a", "1x", "-1", "nan", "inf", "1,1", "1e999"}) {
    auto b = ParseFastPThresholds(bad);
    CHECK_MESSAGE(!b.ok(), bad);
    CHECK(b.status().exit_code() == 2);
  }
  CHECK(DefaultFastPThresholds() == std::vector<double>{0, 0.5, 0.8, 1, 1.5, 2});
  CHECK(FastPKey(1) == "fast_1");
  CHECK(FastPKey(1.5) == "fast_1.5");
  CHECK(FastPKey(0) == "fast_0");
}

TEST_CASE("fast_p JSON: keys, counts and per-task speedups") {
  auto r = ComputeFastP({Timed("a", {{1, 3}}), Failed("b", "crashed", "")}, {0, 1.5});
  auto j = FastPToJson(r);
  CHECK(j["n"] == 2);
  CHECK(j["fast_p"]["fast_0"] == 0.5);
  CHECK(j["fast_p"]["fast_1.5"] == 0.5);
  CHECK(j["thresholds"][1]["p"] == 1.5);
  CHECK(j["thresholds"][1]["count"] == 1);
  CHECK(j["tasks"][0]["speedup"] == doctest::Approx(3.0));
  CHECK(j["tasks"][1]["speedup"].is_null());
  CHECK(j["tasks"][1]["note"] == "crashed");
}

// ---- loaders, over fixtures shaped like bench --json and gen's run folder ----

TEST_CASE("results: a passing bench document gives the reference speedups of its cold medians") {
  auto v = LoadResults(Fixtures() / "softmax.bench.json");
  REQUIRE_MESSAGE(v.ok(), v.status().message());
  REQUIRE(v->size() == 1);
  const auto& t = (*v)[0];
  CHECK(t.task == "softmax");
  CHECK(t.correct);
  CHECK(t.device == "NVIDIA H100 80GB HBM3");
  REQUIRE(t.configs.size() == 2);
  CHECK(t.configs[0].mode == "cold");
  CHECK(t.configs[0].candidate_ms == doctest::Approx(0.1922));
  CHECK(t.configs[0].baseline_ms == doctest::Approx(0.3191));
  CHECK(ScoreTask(t).speedup == doctest::Approx(std::sqrt(0.3191 / 0.1922 * 0.2807 / 0.1006)));
}

TEST_CASE("results: wrong and statically rejected documents are not correct, with the harness's reason") {
  auto w = LoadResults(Fixtures() / "rmsnorm_wrong.bench.json");
  REQUIRE_MESSAGE(w.ok(), w.status().message());
  CHECK(!(*w)[0].correct);
  CHECK((*w)[0].status == "wrong");
  CHECK((*w)[0].reason.find("verification failed") != std::string::npos);
  auto rj = LoadResults(Fixtures() / "matmul_rejected.bench.json");
  REQUIRE_MESSAGE(rj.ok(), rj.status().message());
  CHECK(!(*rj)[0].correct);
  CHECK((*rj)[0].status == "rejected");
  CHECK((*rj)[0].reason.find("static scan") == 0);
}

TEST_CASE("results: gen run folders (best candidate) and a run where nothing passed") {
  auto g = LoadResults(Fixtures() / "gen-layernorm");
  REQUIRE_MESSAGE(g.ok(), g.status().message());
  CHECK((*g)[0].task == "layernorm");
  CHECK((*g)[0].correct);
  CHECK(ScoreTask((*g)[0]).speedup == doctest::Approx(std::sqrt(0.2945 / 0.19 * 0.2442 / 0.1022)));
  auto same = LoadResults(Fixtures() / "gen-layernorm" / "leaderboard.json");
  REQUIRE(same.ok());
  CHECK((*same)[0].configs.size() == 2);
  auto none = LoadResults(Fixtures() / "gen-silu_mul");
  REQUIRE_MESSAGE(none.ok(), none.status().message());
  CHECK(!(*none)[0].correct);
  CHECK((*none)[0].reason == "no candidate passed verification (3 tried)");
}

TEST_CASE("results: the whole fixture set scores as worked out by hand") {
  std::vector<TaskOutcome> all;
  for (const char* f : {"softmax.bench.json", "rmsnorm_wrong.bench.json", "matmul_rejected.bench.json",
                        "multi.bench.json", "gen-layernorm", "gen-silu_mul"}) {
    auto v = LoadResults(Fixtures() / f);
    REQUIRE_MESSAGE(v.ok(), v.status().message());
    all.insert(all.end(), v->begin(), v->end());
  }
  REQUIRE(CheckUniqueTasks(all).ok());
  // softmax 2.152, vector_add 1.000 (a tie), transpose 5.810, layernorm 1.924; 3 not correct.
  auto r = ComputeFastP(all, {0, 1, 1.5, 2});
  CHECK(r.n == 7);
  CHECK(r.correct == 4);
  CHECK(At(r, 0).count == 4);
  CHECK(At(r, 1).count == 3);
  CHECK(At(r, 1.5).count == 3);
  CHECK(At(r, 2).count == 2);

  // Against PyTorch eager: transpose was skipped there (unscored); the rest compare cold medians.
  auto base = LoadBaselineJson(Fixtures() / "torch_eager.jsonl");
  REQUIRE_MESSAGE(base.ok(), base.status().message());
  ApplyBaseline(all, *base);
  auto t = ComputeFastP(all, {0, 1, 1.5});
  CHECK(t.baseline == "torch_eager");
  CHECK(t.scored == 3);
  CHECK(At(t, 0).count == 3);
  CHECK(At(t, 1).count == 3);  // vector_add 0.5394 / 0.5381 = 1.0024
  CHECK(At(t, 1.5).count == 1);
  CHECK(ScoreTask(Find(all, "softmax")).speedup == doctest::Approx(std::sqrt(0.2359 / 0.1922 * 0.2180 / 0.1006)));
  CHECK(ScoreTask(Find(all, "transpose")).note == "f32/large: PyTorch eager skipped: time limit");
}

TEST_CASE("results: the same task twice is refused, naming both files") {
  auto a = LoadResults(Fixtures() / "softmax.bench.json");
  REQUIRE(a.ok());
  std::vector<TaskOutcome> two = {(*a)[0], (*a)[0]};
  two[1].source = "other.json";
  dsx::Status st = CheckUniqueTasks(two);
  CHECK(st.exit_code() == 2);
  CHECK(st.message().find("'softmax' appears twice") != std::string::npos);
  CHECK(st.message().find("other.json") != std::string::npos);
}

TEST_CASE("results: malformed documents are usage errors that name the field") {
  struct Case {
    const char* text;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {"[1,2]", "want a JSON object"},
           {"{\"x\": 1}", "not a dsx kernel bench or gen document"},
           {"{\"task\": 5, \"status\": \"ok\", \"results\": []}", "task: want a string, got number"},
           {"{\"task\": \"t\", \"results\": []}", "status: want a string, got nothing (missing)"},
           {"{\"task\": \"t\", \"status\": \"ok\", \"results\": {}}", "results: want an array, got object"},
           {"{\"task\": \"t\", \"status\": \"ok\", \"results\": [7]}", "results[0]: want an object, got number"},
           {"{\"task\": \"t\", \"status\": \"ok\", \"results\": [{\"status\": \"ok\", \"dtype\": \"f32\"}]}",
            "results[0].preset: want a string"},
           {"{\"task\": \"t\", \"status\": \"ok\", \"results\": [{\"status\": \"ok\", \"dtype\": \"f32\", "
            "\"preset\": \"large\"}]}",
            "results[0].candidate: want an object, got nothing"},
           {"{\"task\": \"t\", \"status\": \"ok\", \"results\": [{\"status\": \"ok\", \"dtype\": \"f32\", "
            "\"preset\": \"large\", \"candidate\": {\"cold\": {\"median_ms\": \"0.1\"}}}]}",
            "results[0].candidate.cold.median_ms: want a number, got string"},
           {"{\"task\": \"t\", \"status\": \"ok\", \"results\": [{\"status\": \"ok\", \"dtype\": \"f32\", "
            "\"preset\": \"large\", \"flagged\": \"no\", \"candidate\": {\"cold\": {\"median_ms\": 0.1}}}]}",
            "results[0].flagged: want a boolean, got string"},
           {"{\"tasks\": [{\"task\": \"t\", \"status\": \"ok\", \"results\": [null]}]}",
            "tasks[0].results[0]: want an object, got null"},
           {"{\"tasks\": 3}", "tasks: want an array"},
           {"{\"task\": \"t\", \"status\": \"ok\", \"results\": [", "invalid JSON"},
           {"{\"run_dir\": \"x\", \"entries\": [], \"task\": \"t\", \"best\": \"../../etc/passwd\"}",
            "is not a candidate id"},
           {"{\"run_dir\": \"x\", \"entries\": [], \"task\": \"t\", \"best\": 3}", "best: want a string or null"},
       }) {
    auto r = LoadResults(TempFile("bad.json", c.text));
    REQUIRE_MESSAGE(!r.ok(), c.text);
    CHECK_MESSAGE(r.status().exit_code() == 2, c.text);
    CHECK_MESSAGE(r.status().message().find(c.want) != std::string::npos, r.status().message() << " / " << c.want);
    CHECK(r.status().message().find("bad.json") != std::string::npos);
  }
  // Deep nesting is refused before it is built; a missing file is "not found" (exit 3).
  auto deep = LoadResults(TempFile("deep.json", std::string(100000, '[') + std::string(100000, ']')));
  CHECK(deep.status().message().find("nested deeper") != std::string::npos);
  CHECK(LoadResults("/nonexistent/results.json").status().exit_code() == 3);
  // A reference that was not timed: correct, but no baseline (unscored), not an error.
  auto noref = LoadResults(TempFile("noref.json",
                                    "{\"task\": \"t\", \"status\": \"ok\", \"results\": [{\"status\": \"ok\", "
                                    "\"dtype\": \"f32\", \"preset\": \"large\", \"candidate\": {\"cold\": "
                                    "{\"median_ms\": 0.1}}}]}"));
  REQUIRE(noref.ok());
  CHECK((*noref)[0].correct);
  CHECK(!ScoreTask((*noref)[0]).scored);
  CHECK(ScoreTask((*noref)[0]).note.find("--no-reference-timing") != std::string::npos);
}

TEST_CASE("results: a file over the size limit is refused without being parsed") {
  stdfs::path big = TempFile("big.json", "");
  {
    std::ofstream f(big, std::ios::binary);
    std::string chunk(1 << 20, ' ');
    for (size_t i = 0; i <= kMaxResultsFileBytes >> 20; ++i) f << chunk;
  }
  auto r = LoadResults(big);
  REQUIRE(!r.ok());
  CHECK(r.status().exit_code() == 2);
  CHECK(r.status().message().find("larger than") != std::string::npos);
  stdfs::remove(big);
}

TEST_CASE("baseline: torch_eager.py's JSON lines, attacked") {
  struct Case {
    const char* text;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {"", "no baseline rows"},
           {"\n\n", "no baseline rows"},
           {"not json\n", "line 1: invalid JSON"},
           {"{\"task\": \"a\", \"preset\": \"large\", \"dtype\": \"f32\", \"bytes\": 10}\n",
            "no \"median_ms\" (a --dry-run listing is not a baseline)"},
           {"{\"task\": \"a\", \"preset\": \"large\", \"dtype\": \"f32\", \"median_ms\": \"1\"}\n",
            "line 1: median_ms: want a number, got string"},
           {"{\"task\": \"a\", \"preset\": \"large\", \"dtype\": \"f32\", \"median_ms\": 0}\n",
            "line 1: median_ms: want a time > 0 ms"},
           {"{\"task\": \"a\", \"preset\": \"large\", \"dtype\": \"f32\", \"median_ms\": -2}\n", "want a time > 0 ms"},
           {"{\"preset\": \"large\", \"dtype\": \"f32\", \"median_ms\": 1}\n", "line 1: task: want a string"},
           {"\n{\"task\": \"a\", \"preset\": \"large\", \"dtype\": \"f32\", \"median_ms\": 1}\n"
            "{\"task\": \"a\", \"preset\": \"large\", \"dtype\": \"f32\", \"median_ms\": 2}\n",
            "line 3: a f32/large is also on line 2"},
           {"[1]", "line 1: want an object, got number"},
       }) {
    auto r = LoadBaselineJson(TempFile("torch.jsonl", c.text));
    REQUIRE_MESSAGE(!r.ok(), c.text);
    CHECK(r.status().exit_code() == 2);
    CHECK_MESSAGE(r.status().message().find(c.want) != std::string::npos, r.status().message() << " / " << c.want);
  }
  // A JSON array of the same rows is accepted too; "error" rows are recorded as missing.
  auto arr = LoadBaselineJson(TempFile("torch.json",
                                       "[{\"task\": \"a\", \"preset\": \"large\", \"dtype\": \"f32\", \"median_ms\": 1},"
                                       " {\"task\": \"b\", \"preset\": \"large\", \"dtype\": \"f32\", "
                                       "\"error\": \"RuntimeError: CUDA out of memory\"}]"));
  REQUIRE_MESSAGE(arr.ok(), arr.status().message());
  CHECK(arr->rows.size() == 2);
}

TEST_CASE("baseline: hot-only kernels and other GPUs get no PyTorch speedup") {
  TaskOutcome hot = Timed("a", {{1.0, 2.0}});
  hot.configs[0].mode = "hot";
  hot.configs[0].preset = "large";
  TaskOutcome other = Timed("b", {{1.0, 2.0}});
  other.configs[0].preset = "large";
  other.device = "NVIDIA A100-SXM4-80GB";
  auto table = LoadBaselineJson(TempFile(
      "t.jsonl",
      "{\"task\": \"a\", \"preset\": \"large\", \"dtype\": \"f32\", \"median_ms\": 3, \"device\": \"NVIDIA H100\"}\n"
      "{\"task\": \"b\", \"preset\": \"large\", \"dtype\": \"f32\", \"median_ms\": 3, \"device\": \"NVIDIA H100\"}\n"));
  REQUIRE(table.ok());
  std::vector<TaskOutcome> v = {hot, other};
  ApplyBaseline(v, *table);
  CHECK(ScoreTask(v[0]).note.find("timed hot only") != std::string::npos);
  CHECK(ScoreTask(v[1]).note.find("PyTorch eager ran on 'NVIDIA H100'") != std::string::npos);
}
