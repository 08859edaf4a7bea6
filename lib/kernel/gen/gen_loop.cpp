#include "kernel/gen/gen_loop.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>

#include "core/fs.hpp"
#include "kernel/gen/run_score.hpp"

namespace dsx::kernel::gen {
namespace stdfs = std::filesystem;
using nlohmann::json;

namespace {

std::string Dump(const json& j, int indent = 2) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace) + "\n";
}

json RowsJson(const std::vector<TimingRow>& rows) {
  json a = json::array();
  for (const auto& r : rows)
    a.push_back({{"dtype", r.dtype},
                 {"preset", r.preset},
                 {"median_ms", r.median_ms},
                 {"gbps", r.gbps},
                 {"pct_peak_bw", r.pct_peak},
                 {"speedup", r.speedup}});
  return a;
}

}  // namespace

std::string FastPLine(const json& board) {
  const json* fp = board.contains("fast_p") && board["fast_p"].is_object() ? &board["fast_p"] : nullptr;
  if (!fp || !fp->contains("thresholds") || !(*fp)["thresholds"].is_array()) return "";
  std::string line = "fast_p (this task, baseline " + fp->value("baseline", std::string("reference")) + " kernel):";
  for (const auto& t : (*fp)["thresholds"]) {
    char b[64];
    std::snprintf(b, sizeof b, " fast_%g %g", t.value("p", 0.0), t.value("fraction", 0.0));
    line += b;
  }
  const json& tasks = fp->value("tasks", json::array());
  if (!tasks.empty() && tasks[0].value("note", std::string()).size())
    line += " (" + tasks[0]["note"].get<std::string>().substr(0, 160) + ")";
  else if (!tasks.empty() && tasks[0].contains("speedup") && tasks[0]["speedup"].is_number()) {
    char b[64];
    std::snprintf(b, sizeof b, " (speedup %.3fx)", tasks[0]["speedup"].get<double>());
    line += b;
  }
  return line;
}

std::string UtcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<stdfs::path> CreateRunDir(const std::string& task, const stdfs::path& root) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
  std::string base = stdfs::path(task).filename().string();
  if (base.empty()) base = stdfs::path(task).parent_path().filename().string();
  DSX_RETURN_IF_ERROR(fs::EnsureDir(root));
  std::random_device rd;
  for (int attempt = 0; attempt < 32; ++attempt) {
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%06x", static_cast<unsigned>(rd()) & 0xffffffu);
    stdfs::path dir = root / (base + "-" + stamp + "-" + suffix);
    if (::mkdir(dir.c_str(), 0777) == 0) return dir;
    if (errno != EEXIST) {
      return Status::Failed("cannot create run folder '" + dir.string() + "': " + std::strerror(errno));
    }
  }
  return Status::Failed("cannot create a run folder under '" + root.string() + "': every name tried exists");
}

std::vector<size_t> RankAttempts(const std::vector<Attempt>& attempts) {
  std::vector<size_t> idx(attempts.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    bool pa = attempts[a].eval.outcome == Outcome::kPassed, pb = attempts[b].eval.outcome == Outcome::kPassed;
    if (pa != pb) return pa;
    if (pa && attempts[a].eval.score != attempts[b].eval.score) return attempts[a].eval.score > attempts[b].eval.score;
    return false;
  });
  return idx;
}

json LeaderboardJson(const GenInfo& info, const GenResult& r, const std::vector<double>& fast_p) {
  json entries = json::array();
  int rank = 0;
  int passed = 0;
  for (size_t i : RankAttempts(r.attempts)) {
    const Attempt& a = r.attempts[i];
    bool ok = a.eval.outcome == Outcome::kPassed;
    passed += ok;
    entries.push_back({{"rank", ok ? ++rank : 0},
                       {"id", a.id},
                       {"round", a.round},
                       {"outcome", OutcomeName(a.eval.outcome)},
                       {"score", a.eval.score},
                       {"flagged", a.eval.flagged},
                       {"summary", a.eval.summary},
                       {"file", "candidates/" + a.id + ".cu"},
                       {"rows", RowsJson(a.eval.rows)}});
  }
  json board = {{"task", info.task},
                {"skill", info.skill},
                {"provider", info.provider},
                {"model", info.model},
                {"run_dir", r.run_dir.string()},
                {"candidates", r.attempts.size()},
                {"passed", passed},
                {"best", r.best >= 0 ? json(r.attempts[r.best].id) : json(nullptr)},
                {"best_score", r.best >= 0 ? r.attempts[r.best].eval.score : 0.0},
                {"stopped", !r.stopped.ok()         ? json(r.stopped.message())
                            : r.budget_note.empty() ? json(nullptr)
                                                    : json(r.budget_note)},
                {"fast_p", RunFastPJson(info.task, r, fast_p)},
                {"entries", entries}};
  return board;
}

std::string LeaderboardMarkdown(const json& board) {
  std::string md = "# kernel gen: " + board.value("task", std::string()) + "\n\n";
  md += "provider " + board.value("provider", std::string()) + ", model " + board.value("model", std::string()) +
        ", skill " + board.value("skill", std::string()) + "; " + std::to_string(board.value("passed", 0)) + " of " +
        std::to_string(board.value("candidates", 0)) + " candidates passed.\n\n";
  if (board.contains("stopped") && board["stopped"].is_string())
    md += "Stopped early: " + board["stopped"].get<std::string>() + "\n\n";
  std::string fp = FastPLine(board);
  if (!fp.empty()) md += fp + "\n\n";
  md += "| rank | id | outcome | score | summary |\n|---|---|---|---|---|\n";
  for (const auto& e : board["entries"]) {
    char score[32];
    std::snprintf(score, sizeof score, "%.3f", e.value("score", 0.0));
    std::string summary = e.value("summary", std::string());
    for (char& c : summary)
      if (c == '|' || c == '\n') c = ' ';
    int rank = e.value("rank", 0);
    md += "| " + (rank ? std::to_string(rank) : std::string("-")) + " | " + e.value("id", std::string()) + " | " +
          e.value("outcome", std::string()) + " | " + score + " | " + summary + " |\n";
  }
  return md;
}

Status GenLoop::WriteLeaderboard(GenResult& r) {
  r.leaderboard = LeaderboardJson(info_, r, fast_p_);
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(run_dir_ / "leaderboard.json", Dump(r.leaderboard), false));
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(run_dir_ / "leaderboard.md", LeaderboardMarkdown(r.leaderboard), false));
  if (r.best >= 0) DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(run_dir_ / "best.cu", r.attempts[r.best].source, false));
  json run = {{"task", info_.task},   {"skill", info_.skill},           {"provider", info_.provider},
              {"model", info_.model}, {"options", info_.options},       {"started", started_},
              {"updated", UtcNow()},  {"candidates", r.attempts.size()}};
  return fs::AtomicWriteFile(run_dir_ / "run.json", Dump(run), false);
}

Result<GenResult> GenLoop::Run(CandidateSource& source, Evaluator& evaluator, int rounds) {
  GenResult r;
  r.run_dir = run_dir_;
  started_ = UtcNow();
  DSX_RETURN_IF_ERROR(fs::EnsureDir(run_dir_ / "candidates"));
  DSX_RETURN_IF_ERROR(WriteLeaderboard(r));
  sink_.Emit({{"type", "gen.start"},
              {"task", info_.task},
              {"provider", info_.provider},
              {"model", info_.model},
              {"skill", info_.skill},
              {"run_dir", run_dir_.string()},
              {"planned", planned_},
              {"options", info_.options}});
  const auto t0 = std::chrono::steady_clock::now();
  auto over_budget = [&] {
    if (budget_s_ <= 0) return false;
    double used = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (used < budget_s_) return false;
    if (r.budget_note.empty()) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "time budget of %.0f s spent", budget_s_);
      r.budget_note = buf;
      sink_.Emit({{"type", "gen.error"}, {"message", r.budget_note}});
    }
    return true;
  };
  for (int round = 1; round <= rounds && r.stopped.ok() && !over_budget(); ++round) {
    auto proposals = source.Propose(round, r.attempts);
    if (!proposals.ok()) {
      r.stopped = proposals.status();
      sink_.Emit({{"type", "gen.error"}, {"round", round}, {"message", r.stopped.message()}});
      break;
    }
    for (auto& p : *proposals) {
      if (over_budget()) break;
      Attempt a;
      a.id = p.id;
      a.round = round;
      a.source = p.source;
      stdfs::path file = run_dir_ / "candidates" / (p.id + ".cu");
      DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(file, p.source, false));
      if (!p.extract.ok()) {
        a.eval.outcome = Outcome::kNoCode;
        a.eval.summary = p.extract.message();
        a.eval.feedback = "Your reply could not be used: " + p.extract.message() +
                          ". Reply with exactly one fenced ```cuda block holding the whole file.";
      } else {
        auto e = evaluator.Evaluate(file);
        if (!e.ok()) {
          r.stopped = e.status();
          sink_.Emit({{"type", "gen.error"}, {"candidate", p.id}, {"message", r.stopped.message()}});
          break;
        }
        a.eval = std::move(*e);
      }
      if (!a.eval.bench.is_null())
        DSX_RETURN_IF_ERROR(
            fs::AtomicWriteFile(run_dir_ / "candidates" / (p.id + ".bench.json"), Dump(a.eval.bench), false));
      r.attempts.push_back(std::move(a));
      const Attempt& done = r.attempts.back();
      if (done.eval.outcome == Outcome::kPassed && (r.best < 0 || done.eval.score > r.attempts[r.best].eval.score))
        r.best = static_cast<int>(r.attempts.size()) - 1;
      sink_.Emit({{"type", "gen.result"},
                  {"task", info_.task},
                  {"candidate", done.id},
                  {"round", round},
                  {"outcome", OutcomeName(done.eval.outcome)},
                  {"summary", done.eval.summary},
                  {"score", done.eval.score},
                  {"rows", RowsJson(done.eval.rows)},
                  {"meta", p.meta},
                  {"tried", r.attempts.size()},
                  {"planned", planned_},
                  {"best", r.best >= 0 ? json(r.attempts[r.best].id) : json(nullptr)},
                  {"best_score", r.best >= 0 ? json(r.attempts[r.best].eval.score) : json(nullptr)}});
      DSX_RETURN_IF_ERROR(WriteLeaderboard(r));
    }
    if (source.Exhausted(round)) break;
  }
  DSX_RETURN_IF_ERROR(WriteLeaderboard(r));
  json end = {{"type", "gen.end"},
              {"task", info_.task},
              {"planned", planned_},
              {"candidates", r.attempts.size()},
              {"passed", r.leaderboard.value("passed", 0)},
              {"best", r.best >= 0 ? json(r.attempts[r.best].id) : json(nullptr)},
              {"best_score", r.best >= 0 ? r.attempts[r.best].eval.score : 0.0},
              {"stopped", r.leaderboard["stopped"]}};
  // Only a run that verified and timed something has a fast_p worth plotting: a --compile-only
  // run's "0" would read as "every kernel was slow".
  if (fast_p_metric_ && RunWasTimed(r)) end["fast_p"] = r.leaderboard["fast_p"];
  sink_.Emit(end);
  sink_.Finished(r.leaderboard);
  sink_.Flush();
  return r;
}

}  // namespace dsx::kernel::gen
