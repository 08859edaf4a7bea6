// The generation loop of `dsx kernel gen`: propose candidates, judge each, feed the verdicts back,
// keep everything in a run folder.
//
// Run folder (--out, default ./runs/kernel-gen/<task>-<UTC yyyymmddThhmmss>/):
//   run.json                 what ran: task, skill, provider, model, options (never keys), times
//   prompt-r<k>.md           the prompt of round k (system + user)            [model providers]
//   candidates/<id>.cu       every candidate as judged                         (<id> = r<k>-c<n> or t<nn>)
//   candidates/<id>.reply.md the model's raw reply                              [model providers]
//   candidates/<id>.bench.json  the harness's JSON for it
//   leaderboard.json / leaderboard.md   all candidates, best first (rewritten after each one)
//   best.cu                  the best passing candidate
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/bench/fast_p.hpp"
#include "kernel/gen/evaluation.hpp"
#include "kernel/gen/events.hpp"
#include "kernel/gen/prompt.hpp"

namespace dsx::kernel::gen {

// A candidate before judgement. `extract` non-OK: the reply held no code (judged kNoCode).
struct Proposal {
  std::string id;
  std::string source;
  Status extract;
  nlohmann::json meta;  // provider-specific: template values, extraction notes, token counts
};

class CandidateSource {
 public:
  virtual ~CandidateSource() = default;
  // This round's candidates, given every attempt so far. A non-OK Result stops the search
  // (provider unreachable, key refused); what was judged so far is kept.
  virtual Result<std::vector<Proposal>> Propose(int round, const std::vector<Attempt>& history) = 0;
  // True when there is nothing more to propose (a template grid is exhausted after one round).
  virtual bool Exhausted(int round) const {
    (void)round;
    return false;
  }
};

struct GenInfo {  // recorded in run.json and the leaderboard
  std::string task;
  std::string skill;
  std::string provider;
  std::string model;
  nlohmann::json options;
};

struct GenResult {
  std::vector<Attempt> attempts;
  int best = -1;            // index into attempts, -1 when none passed
  Status stopped;           // why the search stopped early (OK when it ran to the end)
  std::string budget_note;  // set when --max-time ended the search (not an error)
  std::filesystem::path run_dir;
  nlohmann::json leaderboard;
};

class GenLoop {
 public:
  GenLoop(GenInfo info, std::filesystem::path run_dir, EventSink& sink)
      : info_(std::move(info)), run_dir_(std::move(run_dir)), sink_(sink) {}

  // Fails only when the run folder cannot be written. Harness/provider failures end the search
  // and land in GenResult::stopped.
  Result<GenResult> Run(CandidateSource& source, Evaluator& evaluator, int rounds);

  // No candidate is started after `seconds` from the start of Run (0: no limit). What was judged
  // stays; the leaderboard says the budget ended the search.
  void set_time_budget(double seconds) { budget_s_ = seconds; }
  // How many candidates the search means to try (the template grid's size, or rounds x
  // candidates): progress totals on the session (0: unknown).
  void set_planned(int candidates) { planned_ = candidates; }
  // Thresholds of the run's fast_p (leaderboard "fast_p", gen.end): KernelBench's by default.
  void set_fast_p(std::vector<double> ps) { fast_p_ = std::move(ps); }
  // false: gen.end does not carry "fast_p" (so no session metric): gen over several tasks
  // publishes the set's fast_p once, in its gen.summary event.
  void set_fast_p_metric(bool on) { fast_p_metric_ = on; }

 private:
  std::vector<double> fast_p_ = bench::DefaultFastPThresholds();
  bool fast_p_metric_ = true;
  double budget_s_ = 0;
  int planned_ = 0;
  Status WriteLeaderboard(GenResult& r);
  GenInfo info_;
  std::filesystem::path run_dir_;
  EventSink& sink_;
  std::string started_;
};

// Leaderboard document and its Markdown rendering (exposed for tests and the CLI). The document's
// "fast_p" is the run's (one task: its best candidate vs the reference kernel; run_score.hpp).
nlohmann::json LeaderboardJson(const GenInfo& info, const GenResult& r,
                               const std::vector<double>& fast_p = bench::DefaultFastPThresholds());
std::string LeaderboardMarkdown(const nlohmann::json& board);
// "fast_p (this task, baseline reference kernel): fast_0 1 fast_1 1 fast_2 0 (speedup 1.9x)", or
// "" when the board has no fast_p. For leaderboard.md and the terminal.
std::string FastPLine(const nlohmann::json& board);
// Indices of `attempts` best first: passed by score (desc), then the rest in order.
std::vector<size_t> RankAttempts(const std::vector<Attempt>& attempts);

// Creates a new run folder <root>/<task>-<UTC yyyymmddThhmmss>-<6 hex> (root: ./runs/kernel-gen by
// default) and returns its path. The last component is made with mkdir, which fails on an
// existing name, and the random suffix is redrawn then: two runs started in the same second (or
// on two machines sharing the folder) never share a run folder.
Result<std::filesystem::path> CreateRunDir(const std::string& task,
                                           const std::filesystem::path& root = "runs/kernel-gen");
std::string UtcNow();  // RFC 3339, seconds

}  // namespace dsx::kernel::gen
