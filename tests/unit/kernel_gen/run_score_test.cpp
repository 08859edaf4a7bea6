// fast_p of a gen run: the leaderboard's "fast_p", the gen.end event and its metric drafts.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "kernel/gen/events.hpp"
#include "kernel/gen/gen_loop.hpp"
#include "kernel/gen/run_score.hpp"

namespace stdfs = std::filesystem;
using namespace dsx::kernel::gen;
using dsx::Result;
using nlohmann::json;

namespace {

struct TempDir {
  stdfs::path path;
  TempDir() {
    static int n = 0;
    path = stdfs::temp_directory_path() / ("dsx-run-score-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  }
  ~TempDir() { stdfs::remove_all(path); }
};

// "WRONG" fails; "COMPILED" passes without timing (as --compile-only); "SPEED=x" passes, x times
// faster than the reference; "DOC" passes with a real bench document (the softmax fixture).
class Judge : public Evaluator {
 public:
  Result<Evaluation> Evaluate(const stdfs::path& file) override {
    auto src = dsx::fs::ReadFile(file);
    REQUIRE(src.ok());
    Evaluation e;
    if (*src == "WRONG") {
      e.outcome = Outcome::kWrong;
      e.summary = "wrong";
      return e;
    }
    e.outcome = Outcome::kPassed;
    if (*src == "COMPILED") return e;
    if (*src == "DOC") {
      auto text = dsx::fs::ReadFile(stdfs::path(__FILE__).parent_path() / "../../cli/fixtures/fast_p/softmax.bench.json");
      REQUIRE(text.ok());
      e.bench = json::parse(*text);
      e.rows = {{"f32", "large", 0.1922, 0, 0, 0.3191 / 0.1922}, {"bf16", "large", 0.1006, 0, 0, 0.2807 / 0.1006}};
      e.score = ScoreRows(e.rows);
      return e;
    }
    double speed = std::stod(src->substr(6));
    e.rows = {{"f32", "large", 1.0 / speed, 100, 50, speed}};
    e.score = ScoreRows(e.rows);
    return e;
  }
};

class List : public CandidateSource {
 public:
  explicit List(std::vector<std::string> s) : s_(std::move(s)) {}
  Result<std::vector<Proposal>> Propose(int round, const std::vector<Attempt>&) override {
    std::vector<Proposal> out;
    if (round > 1) return out;
    for (size_t i = 0; i < s_.size(); ++i) {
      Proposal p;
      p.id = "c" + std::to_string(i);
      p.source = s_[i];
      out.push_back(p);
    }
    return out;
  }

 private:
  std::vector<std::string> s_;
};

struct Sink : EventSink {
  void Emit(const json& e) override { events.push_back(e); }
  std::vector<json> events;
};

json RunLoop(const std::vector<std::string>& cands, Sink& sink, std::vector<double> ps = {}, bool metric = true) {
  TempDir t;
  Judge judge;
  List src(cands);
  GenLoop loop({"softmax", "cuda-kernels", "fake", "m", json::object()}, t.path, sink);
  if (!ps.empty()) loop.set_fast_p(ps);
  loop.set_fast_p_metric(metric);
  auto r = loop.Run(src, judge, 1);
  REQUIRE(r.ok());
  auto md = dsx::fs::ReadFile(t.path / "leaderboard.md");
  REQUIRE(md.ok());
  json board = r->leaderboard;
  board["_md"] = *md;
  return board;
}

double Fraction(const json& fp, const std::string& key) { return fp["fast_p"][key].get<double>(); }

}  // namespace

TEST_CASE("gen fast_p: the best candidate's speedup over the reference decides, strictly above p") {
  Sink sink;
  json board = RunLoop({"WRONG", "SPEED=1.5", "SPEED=2"}, sink);
  const json& fp = board["fast_p"];
  CHECK(fp["n"] == 1);
  CHECK(fp["baseline"] == "reference");
  CHECK(Fraction(fp, "fast_0") == 1.0);
  CHECK(Fraction(fp, "fast_1.5") == 1.0);
  CHECK(Fraction(fp, "fast_2") == 0.0);  // best is exactly 2x: not > 2
  CHECK(fp["tasks"][0]["speedup"].get<double>() == doctest::Approx(2.0));
  CHECK(board["_md"].get<std::string>().find("fast_p (this task, baseline reference kernel): fast_0 1") !=
        std::string::npos);
  // gen.end carries it, and the session gets the fast_p curve as metric points, p ascending.
  const json& end = sink.events.back();
  REQUIRE(end["type"] == "gen.end");
  REQUIRE(end.contains("fast_p"));
  auto drafts = ProgressDrafts(end);
  REQUIRE(drafts.size() == 7);
  CHECK(drafts[0]["type"] == "progress");
  for (size_t i = 1; i < drafts.size(); ++i) {
    CHECK(drafts[i]["type"] == "metric");
    CHECK(drafts[i]["data"]["name"] == "fast_p");
  }
  CHECK(drafts[1]["data"]["step"] == 0.0);
  CHECK(drafts[6]["data"]["step"] == 2.0);
  CHECK(drafts[6]["data"]["value"] == 0.0);
  CHECK(drafts[5]["data"]["value"] == 1.0);
}

TEST_CASE("gen fast_p: nothing passed is 0 everywhere; no metric without a timed candidate") {
  Sink sink;
  json board = RunLoop({"WRONG", "WRONG"}, sink, {1});
  CHECK(board["fast_p"]["thresholds"].size() == 1);
  CHECK(Fraction(board["fast_p"], "fast_1") == 0.0);
  CHECK(board["fast_p"]["tasks"][0]["note"] == "failed: no candidate passed verification (2 tried)");
  CHECK(!sink.events.back().contains("fast_p"));
  CHECK(ProgressDrafts(sink.events.back()).size() == 1);
}

TEST_CASE("gen fast_p: a compile-only pass is not correct") {
  Sink sink;
  json board = RunLoop({"COMPILED"}, sink);
  CHECK(board["passed"] == 1);
  CHECK(board["fast_p"]["correct"] == 0);
  CHECK(board["fast_p"]["tasks"][0]["note"].get<std::string>().find("compile-only") != std::string::npos);
  CHECK(!sink.events.back().contains("fast_p"));
}

TEST_CASE("gen fast_p: a real bench document is read as dsx kernel score reads it") {
  Sink sink;
  json board = RunLoop({"DOC"}, sink);
  CHECK(board["fast_p"]["tasks"][0]["speedup"].get<double>() ==
        doctest::Approx(std::sqrt(0.3191 / 0.1922 * 0.2807 / 0.1006)));
  CHECK(Fraction(board["fast_p"], "fast_2") == 1.0);
}

TEST_CASE("gen fast_p over several tasks: no per-run metric; gen.summary carries the set's curve") {
  Sink sink;
  json board = RunLoop({"SPEED=3"}, sink, {}, /*metric=*/false);
  CHECK(board["fast_p"]["n"] == 1);                 // the leaderboard still shows the run's
  CHECK(!sink.events.back().contains("fast_p"));    // but gen.end does not publish it
  CHECK(ProgressDrafts(sink.events.back()).size() == 1);
  json summary = {{"type", "gen.summary"},
                  {"tasks", {"a", "b"}},
                  {"fast_p", {{"thresholds", {{{"p", 1.5}, {"fraction", 0.5}}, {{"p", 0.0}, {"fraction", 1.0}}}}}}};
  auto drafts = ProgressDrafts(summary);
  REQUIRE(drafts.size() == 2);  // metric points only (no progress), p ascending
  CHECK(drafts[0]["data"] == json{{"name", "fast_p"}, {"step", 0.0}, {"value", 1.0}});
  CHECK(drafts[1]["data"] == json{{"name", "fast_p"}, {"step", 1.5}, {"value", 0.5}});
  // Malformed thresholds give no metric rather than a refused event.
  CHECK(ProgressDrafts({{"type", "gen.summary"}, {"fast_p", {{"thresholds", {{{"p", "x"}}}}}}}).empty());
}
