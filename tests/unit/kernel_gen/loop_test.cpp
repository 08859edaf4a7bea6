// The generation loop with a fake evaluator and a fake model: feedback flows into the next
// round's prompt, every candidate and the leaderboard land in the run folder.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "kernel/gen/bench_evaluator.hpp"
#include "kernel/gen/gen_loop.hpp"
#include "kernel/gen/sources.hpp"
#include "llm/skill.hpp"

namespace stdfs = std::filesystem;
using namespace dsx::kernel::gen;
using dsx::Result;
using nlohmann::json;

namespace {

stdfs::path RepoRoot() { return stdfs::path(__FILE__).parent_path().parent_path().parent_path().parent_path(); }

struct TempDir {
  stdfs::path path;
  TempDir() {
    static int n = 0;
    path = stdfs::temp_directory_path() / ("dsx-loop-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  }
  ~TempDir() { stdfs::remove_all(path); }
};

// Judges by markers in the source: COMPILE_ERROR, WRONG, SPEED=<x>; UNAVAILABLE stops the harness.
class FakeEvaluator : public Evaluator {
 public:
  Result<Evaluation> Evaluate(const stdfs::path& file) override {
    auto src = dsx::fs::ReadFile(file);
    REQUIRE(src.ok());
    seen.push_back(file.filename().string());
    Evaluation e;
    if (src->find("UNAVAILABLE") != std::string::npos) return dsx::Status::Unavailable("no CUDA driver");
    if (src->find("COMPILE_ERROR") != std::string::npos) {
      e.outcome = Outcome::kCompileError;
      e.summary = "compile error";
      e.feedback = "cand.cu(7): error: identifier \"uintptr_t\" is undefined";
      return e;
    }
    if (src->find("WRONG") != std::string::npos) {
      e.outcome = Outcome::kWrong;
      e.summary = "wrong: NaN left";
      e.feedback = "bf16/small: wrong\n  - 17 output elements still NaN";
      return e;
    }
    double speed = 1.0;
    auto at = src->find("SPEED=");
    if (at != std::string::npos) speed = std::stod(src->substr(at + 6));
    e.outcome = Outcome::kPassed;
    e.rows = {{"f32", "large", 1.0 / speed, 100, 50, speed}};
    e.score = ScoreRows(e.rows);
    e.summary = "passed";
    return e;
  }
  std::vector<std::string> seen;
};

class ListSource : public CandidateSource {
 public:
  explicit ListSource(std::vector<std::vector<std::string>> rounds) : rounds_(std::move(rounds)) {}
  Result<std::vector<Proposal>> Propose(int round, const std::vector<Attempt>& history) override {
    histories.push_back(history.size());
    std::vector<Proposal> out;
    if (round > static_cast<int>(rounds_.size())) return out;
    int c = 0;
    for (const auto& s : rounds_[round - 1]) {
      Proposal p;
      p.id = "r" + std::to_string(round) + "-c" + std::to_string(++c);
      p.source = s;
      if (s == "NOCODE") p.extract = dsx::Status::Failed("no CUDA code in the reply");
      out.push_back(p);
    }
    return out;
  }
  std::vector<size_t> histories;

 private:
  std::vector<std::vector<std::string>> rounds_;
};

// A model that answers from a script and records the prompts it was given.
class FakeChat : public dsx::llm::ChatClient {
 public:
  explicit FakeChat(std::vector<std::string> replies) : replies_(std::move(replies)) { config_.model = "fake"; }
  Result<dsx::llm::ChatReply> Chat(const dsx::llm::ChatRequest& req, const dsx::llm::TokenCallback& cb) override {
    prompts.push_back(req.messages.at(0).content);
    systems.push_back(req.system);
    if (next_ >= replies_.size()) return dsx::Status::Unavailable("script exhausted");
    dsx::llm::ChatReply r;
    r.text = replies_[next_++];
    if (cb) {
      cb(r.text.substr(0, 5));
      cb(r.text.substr(5));
    }
    return r;
  }
  const dsx::llm::ClientConfig& config() const override { return config_; }
  std::vector<std::string> prompts, systems;

 private:
  std::vector<std::string> replies_;
  size_t next_ = 0;
  dsx::llm::ClientConfig config_;
};

class RecordingSink : public EventSink {
 public:
  void Emit(const json& e) override { events.push_back(e); }
  void Token(const std::string& c, std::string_view t) override { tokens[c] += t; }
  std::vector<json> events;
  std::map<std::string, std::string> tokens;
};

}  // namespace

TEST_CASE("loop: rounds, ranking, run folder, events") {
  TempDir t;
  FakeEvaluator eval;
  ListSource src({{"COMPILE_ERROR", "SPEED=1.5", "NOCODE"}, {"WRONG", "SPEED=2.5"}, {"SPEED=0.5"}});
  RecordingSink sink;
  GenLoop loop({"vector_add", "cuda-kernels", "fake", "m", json::object()}, t.path, sink);
  auto r = loop.Run(src, eval, 3);
  REQUIRE(r.ok());
  CHECK(r->stopped.ok());
  REQUIRE(r->attempts.size() == 6);
  CHECK(src.histories == std::vector<size_t>{0, 3, 5});  // each round sees all earlier verdicts
  CHECK(eval.seen.size() == 5);                          // NOCODE is never sent to the harness
  CHECK(r->attempts[2].eval.outcome == Outcome::kNoCode);
  REQUIRE(r->best == 4);
  CHECK(r->attempts[4].id == "r2-c2");
  auto board = r->leaderboard;
  CHECK(board["best"] == "r2-c2");
  CHECK(board["passed"] == 3);
  CHECK(board["entries"][0]["id"] == "r2-c2");
  CHECK(board["entries"][0]["rank"] == 1);
  CHECK(board["entries"][1]["id"] == "r1-c2");
  CHECK(board["entries"][2]["id"] == "r3-c1");
  CHECK(board["entries"][3]["rank"] == 0);
  for (const char* f :
       {"leaderboard.json", "leaderboard.md", "run.json", "best.cu", "candidates/r1-c1.cu", "candidates/r3-c1.cu"})
    CHECK_MESSAGE(stdfs::exists(t.path / f), f);
  CHECK(*dsx::fs::ReadFile(t.path / "best.cu") == "SPEED=2.5");
  auto md = *dsx::fs::ReadFile(t.path / "leaderboard.md");
  CHECK(md.find("| 1 | r2-c2 | passed |") != std::string::npos);
  CHECK(sink.events.front()["type"] == "gen.start");
  CHECK(sink.events.back()["type"] == "gen.end");
  CHECK(sink.events.back()["best"] == "r2-c2");
  int results = 0;
  for (const auto& e : sink.events) results += e["type"] == "gen.result";
  CHECK(results == 6);
}

TEST_CASE("loop: an unavailable harness stops the search and keeps what was judged") {
  TempDir t;
  FakeEvaluator eval;
  ListSource src({{"SPEED=1.2", "UNAVAILABLE", "SPEED=3"}});
  NullSink sink;
  GenLoop loop({"t", "s", "p", "m", json::object()}, t.path, sink);
  auto r = loop.Run(src, eval, 2);
  REQUIRE(r.ok());
  CHECK(r->stopped.code() == dsx::Code::kUnavailable);
  CHECK(r->attempts.size() == 1);
  CHECK(r->leaderboard["stopped"] == "no CUDA driver");
  auto saved = json::parse(*dsx::fs::ReadFile(t.path / "leaderboard.json"));
  CHECK(saved["candidates"] == 1);
}

TEST_CASE("model source: the second round's prompt holds the first round's verdicts") {
  TempDir t;
  auto skill = dsx::llm::LoadSkill(RepoRoot() / "skills" / "cuda-kernels");
  REQUIRE(skill.ok());
  auto task = LoadTaskInfo("vector_add", {RepoRoot() / "kernels"});
  REQUIRE(task.ok());
  FakeChat chat({"Plan.\n```cuda\n__global__ void vector_add(int x) { COMPILE_ERROR }\n```\n", "I could not do it.",
                 "Fixed:\n```cuda\ntemplate <typename T> __global__ void vector_add(const T* a) { SPEED=2 }\n```"});
  RecordingSink sink;
  ModelSourceOptions mo;
  mo.candidates = 2;
  ModelSource src(chat, *skill, *task, {{"references/constraints.md", "RULES"}}, mo, t.path, sink);
  FakeEvaluator eval;
  GenLoop loop({"vector_add", "cuda-kernels", "fake", "fake", json::object()}, t.path, sink);
  auto r = loop.Run(src, eval, 2);
  REQUIRE(r.ok());
  // Round 2 asked twice; the script ran out on the second request: the search stops there.
  CHECK(r->stopped.code() == dsx::Code::kUnavailable);
  REQUIRE(chat.prompts.size() == 4);
  CHECK(chat.systems[0].find("RULES") != std::string::npos);
  CHECK(chat.prompts[0].find("Feedback on earlier attempts") == std::string::npos);
  CHECK(chat.prompts[2].find("### r1-c1: compile_error") != std::string::npos);
  CHECK(chat.prompts[2].find("\"uintptr_t\" is undefined") != std::string::npos);
  CHECK(chat.prompts[2].find("### r1-c2: no_code") != std::string::npos);
  REQUIRE(r->attempts.size() == 2);  // round 2 produced nothing judged: the request failed
  CHECK(stdfs::exists(t.path / "prompt-r1.md"));
  CHECK(stdfs::exists(t.path / "prompt-r2.md"));
  CHECK(stdfs::exists(t.path / "candidates" / "r1-c1.reply.md"));
  CHECK(sink.tokens["r1-c1"].find("COMPILE_ERROR") != std::string::npos);
}

TEST_CASE("model source: a full two-round run improves") {
  TempDir t;
  auto skill = dsx::llm::LoadSkill(RepoRoot() / "skills" / "cuda-kernels");
  auto task = LoadTaskInfo("vector_add", {RepoRoot() / "kernels"});
  REQUIRE(task.ok());
  FakeChat chat({"```cuda\n__global__ void vector_add() { WRONG }\n```",
                 "```cuda\n__global__ void vector_add() { SPEED=1.7 }\n```"});
  NullSink sink;
  ModelSource src(chat, *skill, *task, {}, ModelSourceOptions{}, t.path, sink);
  FakeEvaluator eval;
  GenLoop loop({"vector_add", "cuda-kernels", "fake", "fake", json::object()}, t.path, sink);
  auto r = loop.Run(src, eval, 2);
  REQUIRE(r.ok());
  CHECK(r->stopped.ok());
  CHECK(r->best == 1);
  CHECK(chat.prompts[1].find("17 output elements still NaN") != std::string::npos);
}

TEST_CASE("template source: every variant in round one, then exhausted") {
  std::vector<Variant> v(3);
  for (int i = 0; i < 3; ++i) {
    v[i].id = "B=" + std::to_string(i);
    v[i].source = "SPEED=" + std::to_string(i + 1);
  }
  TemplateSource src(v);
  auto p = src.Propose(1, {});
  REQUIRE(p.ok());
  REQUIRE(p->size() == 3);
  CHECK((*p)[0].id == "t01");
  CHECK((*p)[2].meta["template"] == "B=2");
  CHECK(src.Exhausted(1));
  TempDir t;
  FakeEvaluator eval;
  NullSink sink;
  GenLoop loop({"x", "s", "template", "m", json::object()}, t.path, sink);
  auto r = loop.Run(src, eval, 5);
  REQUIRE(r.ok());
  CHECK(r->attempts.size() == 3);
  CHECK(r->attempts[r->best].id == "t03");
}

TEST_CASE("bench output interpretation") {
  SUBCASE("exit 5: the harness has no GPU") {
    auto e = InterpretBench(5, false, "", "dsx: no CUDA driver: libcuda.so.1 not found\n");
    REQUIRE_FALSE(e.ok());
    CHECK(e.status().code() == dsx::Code::kUnavailable);
    CHECK(e.status().message() == "no CUDA driver: libcuda.so.1 not found");
  }
  SUBCASE("passed, with rows and a flag") {
    json doc = {{"status", "ok"},
                {"results",
                 {{{"dtype", "f32"},
                   {"preset", "large"},
                   {"status", "ok"},
                   {"median_ms", 0.5},
                   {"gbps", 3000.0},
                   {"pct_peak_bw", 89.5},
                   {"speedup", 2.0},
                   {"flagged", false}},
                  {{"dtype", "bf16"},
                   {"preset", "large"},
                   {"status", "ok"},
                   {"median_ms", 0.3},
                   {"gbps", 2500.0},
                   {"pct_peak_bw", 75.0},
                   {"speedup", 8.0},
                   {"flagged", true},
                   {"flags", {"speedup 11x: flagged"}}}}}};
    auto e = InterpretBench(0, false, doc.dump(), "");
    REQUIRE(e.ok());
    CHECK(e->outcome == Outcome::kPassed);
    REQUIRE(e->rows.size() == 2);
    CHECK(e->score == doctest::Approx(4.0));  // geometric mean of 2 and 8
    CHECK(e->flagged);
    CHECK(e->summary.find("flagged") != std::string::npos);
  }
  SUBCASE("wrong: the verdict and reasons reach the feedback") {
    json doc = {{"status", "wrong"},
                {"reasons", {"relative error 0.5 above tolerance 1e-06"}},
                {"results",
                 {{{"dtype", "f32"},
                   {"preset", "small"},
                   {"status", "wrong"},
                   {"reasons", {"relative error 0.5 above tolerance 1e-06", "3 NaN outputs"}}}}}};
    auto e = InterpretBench(1, false, doc.dump(), "dsx: bench 'x': wrong: relative error\n");
    REQUIRE(e.ok());
    CHECK(e->outcome == Outcome::kWrong);
    CHECK(e->summary == "wrong: relative error 0.5 above tolerance 1e-06");
    CHECK(e->feedback.find("3 NaN outputs") != std::string::npos);
    CHECK(e->score == 0);
  }
  SUBCASE("compile step: the log is the feedback") {
    json doc = {
        {"ok", false},
        {"log", "c.cu(3): error: identifier \"int64_t\" is undefined"},
        {"diagnostics",
         {{{"file", "c.cu"}, {"line", 3}, {"severity", "error"}, {"message", "identifier \"int64_t\" is undefined"}}}}};
    auto e = InterpretCompile(1, false, doc.dump(), "dsx: compile failed\n");
    REQUIRE(e.ok());
    CHECK(e->outcome == Outcome::kCompileError);
    CHECK(e->summary == "compile error (1): line 3: identifier \"int64_t\" is undefined");
    CHECK(e->feedback.find("c.cu(3): error") != std::string::npos);
    auto ok = InterpretCompile(0, false, R"({"ok":true})", "");
    REQUIRE(ok.ok());
    CHECK(ok->outcome == Outcome::kPassed);
  }
  SUBCASE("timeout is a crash") {
    auto e = InterpretBench(143, true, "", "");
    REQUIRE(e.ok());
    CHECK(e->outcome == Outcome::kCrashed);
  }
}

TEST_CASE("loop: a time budget stops starting candidates and says so") {
  TempDir t;
  FakeEvaluator eval;
  ListSource src({{"SPEED=1", "SPEED=2"}, {"SPEED=3"}});
  RecordingSink sink;
  GenLoop loop({"t", "s", "p", "m", json::object()}, t.path, sink);
  loop.set_time_budget(1e-9);  // spent before the first candidate
  auto r = loop.Run(src, eval, 2);
  REQUIRE(r.ok());
  CHECK(r->stopped.ok());
  CHECK(r->attempts.empty());
  CHECK(r->budget_note.find("time budget") != std::string::npos);
  CHECK(r->leaderboard["stopped"] == r->budget_note);
  CHECK(sink.events.back()["type"] == "gen.end");
}

// issue 18: two runs started in the same second shared ./runs/kernel-gen/<task>-<second>/.
TEST_CASE("run folders: each call makes a new folder, also within one second") {
  TempDir t;
  auto a = CreateRunDir("kernels/vector_add", t.path);
  auto b = CreateRunDir("kernels/vector_add", t.path);
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  REQUIRE_MESSAGE(b.ok(), b.status().message());
  CHECK(*a != *b);
  CHECK(stdfs::is_directory(*a));
  CHECK(stdfs::is_directory(*b));
  CHECK(a->parent_path() == t.path);
  CHECK(a->filename().string().rfind("vector_add-", 0) == 0);
  // A root that cannot be made is an error naming it, not a crash.
  { std::ofstream(t.path / "file") << "x"; }
  auto bad = CreateRunDir("vector_add", t.path / "file" / "sub");
  CHECK_FALSE(bad.ok());
}

// issue 18: what a session viewer draws (progress, best score so far, leaderboard table) comes
// from the loop's events: tried/planned/best_score in gen.result and the leaderboard at the end.
TEST_CASE("loop: results carry tried, planned and the best score so far; the leaderboard at the end") {
  TempDir t;
  FakeEvaluator eval;
  ListSource src({{"WRONG", "SPEED=1.5", "SPEED=3"}});
  struct BoardSink : RecordingSink {
    void Finished(const json& board) override { boards.push_back(board); }
    std::vector<json> boards;
  } sink;
  GenLoop loop({"vector_add", "cuda-kernels", "fake", "m", json::object()}, t.path, sink);
  loop.set_planned(3);
  auto r = loop.Run(src, eval, 1);
  REQUIRE(r.ok());
  std::vector<json> results;
  for (const auto& e : sink.events)
    if (e["type"] == "gen.result") results.push_back(e);
  REQUIRE(results.size() == 3);
  CHECK(results[0]["tried"] == 1);
  CHECK(results[0]["planned"] == 3);
  CHECK(results[0]["best_score"].is_null());  // nothing passed yet: no metric point
  CHECK(results[1]["best_score"].get<double>() == doctest::Approx(1.5));
  CHECK(results[2]["best_score"].get<double>() == doctest::Approx(3.0));
  CHECK(sink.events.front()["planned"] == 3);
  REQUIRE(sink.boards.size() == 1);
  CHECK(sink.boards[0]["entries"].size() == 3);

  // The drafts a session sink posts for them (docs/protocol/sessions.md, progress/metric/table).
  auto start = ProgressDrafts(sink.events.front());
  REQUIRE(start.size() == 1);
  CHECK(start[0]["type"] == "progress");
  CHECK(start[0]["data"]["done"] == 0);
  CHECK(start[0]["data"]["total"] == 3);
  CHECK(start[0]["data"]["unit"] == "candidates");
  CHECK(ProgressDrafts(results[0]).size() == 1);  // progress only
  auto third = ProgressDrafts(results[2]);
  REQUIRE(third.size() == 2);
  CHECK(third[0]["data"]["done"] == 3);
  CHECK(third[1]["type"] == "metric");
  CHECK(third[1]["data"]["name"] == "best_speedup");
  CHECK(third[1]["data"]["step"] == 3);
  CHECK(third[1]["data"]["value"].get<double>() == doctest::Approx(3.0));
  auto table = LeaderboardTableDraft(sink.boards[0]);
  CHECK(table["type"] == "table");
  CHECK(table["data"]["columns"] == json{"rank", "id", "outcome", "score", "summary"});
  REQUIRE(table["data"]["rows"].size() == 3);
  CHECK(table["data"]["rows"][0][1] == "r1-c3");  // best first
  CHECK(table["data"]["rows"][2][0].is_null());  // a failed candidate has no rank
  CHECK(ProgressDrafts(json{{"type", "gen.token"}}).empty());
}
