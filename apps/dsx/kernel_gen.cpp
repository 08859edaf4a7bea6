// dsx kernel gen TASK...: a model (or a Skill's kernel template) writes candidate kernels; each is
// compiled, verified and timed by `dsx kernel bench` in a child process; the verdicts feed the
// next round. Several tasks: one search (and run folder) each, then fast_p over them. Logic lives
// in lib/kernel/gen; this file parses flags and prints.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "kernel/bench/fast_p.hpp"
#include "kernel/gen/bench_evaluator.hpp"
#include "kernel/gen/gen_loop.hpp"
#include "kernel/gen/run_score.hpp"
#include "kernel/gen/sources.hpp"
#include "kernel/gen/subprocess.hpp"
#include "kernel/gen/task_info.hpp"
#include "kernel/cuda/device.hpp"
#include "kernel/task.hpp"
#include "llm/chat.hpp"
#include "llm/skill.hpp"

namespace dsx::cmd {
namespace {

namespace stdfs = std::filesystem;
namespace gen = dsx::kernel::gen;
using nlohmann::json;

struct GenFlags {
  std::vector<std::string> tasks;
  std::string skill = "skills/cuda-kernels";
  std::string provider = "openai";
  std::string model;
  std::string base_url;
  int rounds = 3;
  int candidates = 1;
  std::string session;
  cli::ServerFlags server;  // --server / DSX_SERVER, --token / DSX_TOKEN (gen --session)
  std::string out;
  bool json = false;
  std::vector<std::string> bench_args;
  double timeout_s = 600;
  std::string arch = "sm_90";
  int max_tokens = 8192;
  double temperature = -1;
  bool compile_only = false;
  double max_time_s = 0;
  std::string fast_p;  // thresholds (when --fast-p is given; else KernelBench's)
  bool fast_p_given = false;
};

// The skill folder: as given, else under $DSX_SKILLS_DIR or next to the executable (installed
// layouts), so `--skill cuda-kernels` works from any directory.
Result<stdfs::path> ResolveSkill(const std::string& arg) {
  std::error_code ec;
  if (stdfs::exists(stdfs::path(arg) / "SKILL.md", ec)) return stdfs::path(arg);
  std::vector<stdfs::path> roots;
  std::string env = cli::Env("DSX_SKILLS_DIR");
  if (!env.empty()) roots.push_back(env);
  std::string exe = gen::SelfExecutable();
  if (!exe.empty()) {
    stdfs::path bin = stdfs::path(exe).parent_path();
    roots.push_back(bin / ".." / "skills");
    roots.push_back(bin / ".." / ".." / "skills");
    roots.push_back(bin / ".." / "share" / "dsx" / "skills");
  }
  std::string name = stdfs::path(arg).filename().string();
  for (const auto& r : roots)
    if (stdfs::exists(r / name / "SKILL.md", ec)) return (r / name).lexically_normal();
  return Status::NotFound("no skill at '" + arg + "': no SKILL.md there (or under $DSX_SKILLS_DIR)");
}

void PrintHuman(const json& board) {
  if (board["entries"].empty()) return;  // nothing was judged: the error says why, no empty table
  std::printf("%-4s %-8s %-14s %-8s %s\n", "rank", "id", "outcome", "score", "summary");
  int shown = 0;
  for (const auto& e : board["entries"]) {
    if (++shown > 20) {
      std::printf("... %zu more in leaderboard.md\n", board["entries"].size() - 20);
      break;
    }
    int rank = e.value("rank", 0);
    std::printf("%-4s %-8s %-14s %-8.3f %s\n", rank ? std::to_string(rank).c_str() : "-",
                e.value("id", std::string()).c_str(), e.value("outcome", std::string()).c_str(), e.value("score", 0.0),
                e.value("summary", std::string()).c_str());
  }
  std::string fp = gen::FastPLine(board);
  if (!fp.empty()) std::printf("%s\n", fp.c_str());
  std::printf("run folder: %s\n", board.value("run_dir", std::string()).c_str());
  if (board["best"].is_string())
    std::printf("best: %s (%s/best.cu)\n", board["best"].get<std::string>().c_str(),
                board.value("run_dir", std::string()).c_str());
}

// One task of the search, resolved before anything is asked or written.
struct TaskPlan {
  stdfs::path dir;
  gen::TaskInfo info;
  std::vector<gen::Variant> variants;  // template provider
  std::string params_file;             // template provider: the model column
};

struct TaskRun {
  std::string task;
  gen::GenResult result;
};

void Run(const GenFlags& f) {
  if (f.rounds < 1 || f.candidates < 1) return cli::Finish(Status::Usage("--rounds and --candidates must be >= 1"));
  std::vector<double> fast_p = kernel::bench::DefaultFastPThresholds();
  if (f.fast_p_given) {
    auto ps = kernel::bench::ParseFastPThresholds(f.fast_p);
    if (!ps.ok()) return cli::Finish(ps.status());
    fast_p = *ps;
  }
  if (f.tasks.empty()) return cli::Finish(Status::Usage("give one or more TASKs"));
  const bool several = f.tasks.size() > 1;
  auto skill_dir = ResolveSkill(f.skill);
  if (!skill_dir.ok()) return cli::Finish(skill_dir.status());
  auto skill = llm::LoadSkill(*skill_dir);
  if (!skill.ok()) return cli::Finish(skill.status());
  // Every task (and its template) is checked before the first one runs: a typo in the third name
  // must not cost the first two searches.
  std::vector<TaskPlan> plans;
  for (const auto& name : f.tasks) {
    TaskPlan plan;
    auto task_dir = kernel::ResolveTaskDir(name);
    if (!task_dir.ok()) return cli::Finish(task_dir.status());
    auto task = gen::LoadTaskInfo(task_dir->string(), {});
    if (!task.ok()) return cli::Finish(task.status());
    for (const auto& p : plans)
      if (p.info.name == task->name) return cli::Finish(Status::Usage("task '" + task->name + "' given twice"));
    plan.dir = *task_dir;
    plan.info = std::move(*task);
    if (f.provider == "template") {
      auto tmpl = gen::LoadTemplate(*skill_dir, plan.info.name);
      if (!tmpl.ok()) return cli::Finish(tmpl.status());
      auto v = gen::ExpandTemplate(*tmpl);
      if (!v.ok()) return cli::Finish(v.status());
      plan.variants = std::move(*v);
      plan.params_file = tmpl->params_file.filename().string();
    }
    plans.push_back(std::move(plan));
  }
  // No GPU, no search: said once, before a model is asked or a run folder is made (exit 5).
  if (!f.compile_only) {
    auto dev = kernel::cuda::ProbeDevice(0);
    if (!dev.ok()) {
      return cli::Finish(Status(dev.status().code(), "kernel gen: " + dev.status().message() +
                                                         " (--compile-only judges candidates by compiling only)"));
    }
  }

  // Provider and model first: a missing key is reported before anything is written.
  std::unique_ptr<llm::ChatClient> client;
  if (f.provider != "template") {
    auto provider = llm::ParseProvider(f.provider);
    if (!provider.ok())
      return cli::Finish(Status::Usage("unknown provider '" + f.provider + "': use openai, anthropic or template"));
    auto config = llm::ConfigFromEnv(*provider, f.model, f.base_url);
    if (!config.ok()) return cli::Finish(config.status());
    auto c = llm::MakeClient(std::move(*config));
    if (!c.ok()) return cli::Finish(c.status());
    client = std::move(*c);
  }

  std::unique_ptr<gen::SessionSink> session;
  if (!f.session.empty()) {
    auto s = gen::SessionSink::Open(f.session, f.server.server, f.server.token);
    if (!s.ok()) return cli::Finish(s.status());
    session = std::move(*s);
  }
  gen::ProgressSink progress;
  gen::TeeSink sink;
  if (!cli::Quiet()) sink.Add(&progress);
  if (session) sink.Add(session.get());

  std::vector<TaskRun> runs;
  json boards = json::array();
  for (auto& plan : plans) {
    const gen::TaskInfo& task = plan.info;
    // Made last, once everything that can fail early has been checked. Several tasks: one run
    // folder each (under --out, named after the task).
    stdfs::path run_dir = f.out.empty() ? stdfs::path() : several ? stdfs::path(f.out) / task.name : stdfs::path(f.out);
    if (run_dir.empty()) {
      auto made = gen::CreateRunDir(task.name);
      if (!made.ok()) return cli::Finish(made.status());
      run_dir = *made;
    }
    std::unique_ptr<gen::CandidateSource> source;
    std::string model = client ? client->config().model : plan.params_file;
    const std::size_t variants_planned = plan.variants.size();
    if (f.provider == "template") {
      source = std::make_unique<gen::TemplateSource>(std::move(plan.variants));
    } else {
      std::vector<std::pair<std::string, std::string>> refs;
      for (const auto& rel : gen::SelectReferences(*skill, task.name)) {
        auto text = llm::ReadSkillFile(*skill, rel);
        if (!text.ok()) return cli::Finish(text.status().Wrap("cannot read skill file '" + rel + "'"));
        refs.push_back({rel, *text});
      }
      gen::ModelSourceOptions mo{f.candidates, f.temperature, f.max_tokens, f.arch};
      source = std::make_unique<gen::ModelSource>(*client, *skill, task, std::move(refs), mo, run_dir, sink);
    }

    gen::BenchOptions bo;
    bo.task = plan.dir.string();
    bo.extra_args = f.bench_args;
    bo.timeout_s = f.timeout_s;
    bo.arch = f.arch;
    bo.compile_only = f.compile_only;
    gen::BenchEvaluator evaluator(bo);

    gen::GenInfo info{task.name, skill->name, f.provider, model,
                      json{{"rounds", f.rounds},
                           {"candidates", f.candidates},
                           {"bench_args", f.bench_args},
                           {"timeout_s", f.timeout_s},
                           {"arch", f.arch},
                           {"session", f.session},
                           {"compile_only", f.compile_only},
                           {"max_time_s", f.max_time_s},
                           {"tasks", f.tasks},
                           {"base_url", client ? client->config().base_url : std::string()}}};
    gen::GenLoop loop(info, run_dir, sink);
    loop.set_time_budget(f.max_time_s);
    loop.set_fast_p(fast_p);
    // Several tasks: the session's fast_p curve is the whole set's (gen.summary below), not each run's.
    loop.set_fast_p_metric(!several);
    loop.set_planned(f.provider == "template" ? static_cast<int>(variants_planned) : f.rounds * f.candidates);
    auto result = loop.Run(*source, evaluator, f.provider == "template" ? 1 : f.rounds);
    if (!result.ok()) return cli::Finish(result.status());
    if (f.json) {
      if (several) boards.push_back(result->leaderboard);
      else cli::PrintJson(result->leaderboard);
    } else {
      if (several) std::printf("%s== %s\n", runs.empty() ? "" : "\n", task.name.c_str());
      PrintHuman(result->leaderboard);
    }
    if (!result->budget_note.empty() && !cli::Quiet())
      std::fprintf(stderr, "dsx: kernel gen: %s: stopped: %s\n", task.name.c_str(), result->budget_note.c_str());
    // The harness or the provider is gone (no device, key refused): the next task would fail the same way.
    if (!result->stopped.ok()) {
      if (f.json && several) cli::PrintJson({{"runs", boards}});
      return cli::Finish(result->stopped);
    }
    runs.push_back({task.name, std::move(*result)});
  }

  std::vector<std::string> none_passed;
  for (const auto& r : runs)
    if (r.result.best < 0) none_passed.push_back(r.task);
  if (several) {
    std::vector<kernel::bench::TaskOutcome> outcomes;
    bool timed = false;
    for (const auto& r : runs) {
      outcomes.push_back(gen::RunOutcome(r.task, r.result));
      timed = timed || gen::RunWasTimed(r.result);
    }
    auto report = kernel::bench::ComputeFastP(outcomes, fast_p);
    json fp = kernel::bench::FastPToJson(report);
    if (timed) {
      sink.Emit({{"type", "gen.summary"}, {"tasks", f.tasks}, {"fast_p", fp}});
      sink.Flush();
    }
    if (f.json) cli::PrintJson({{"runs", boards}, {"fast_p", fp}});
    else std::printf("\n%s", kernel::bench::FormatFastP(report).c_str());
  }
  if (!none_passed.empty()) {
    std::string which;
    for (const auto& t : none_passed) which += (which.empty() ? "" : ", ") + t;
    return cli::Finish(Status::Failed(several ? "kernel gen: no candidate passed verification for " + which
                                              : "kernel gen: no candidate passed verification"));
  }
  cli::SetExit(0);
}

}  // namespace

void register_kernel_gen(CLI::App& kernel) {
  auto f = std::make_shared<GenFlags>();
  auto* cmd = kernel.add_subcommand(
      "gen", "generate kernels with a model or a Skill's template; compile, verify, time, iterate");
  cmd->add_option("TASK", f->tasks, "task names or folders (several: one run each, then fast_p over them)")
      ->required();
  cmd->add_option("--skill", f->skill, "skill folder (SKILL.md, references/, templates/)")->capture_default_str();
  cmd->add_option("--provider", f->provider, "openai (also vLLM, llama.cpp), anthropic, or template (no network)")
      ->capture_default_str()
      ->check(CLI::IsMember({"openai", "anthropic", "template"}));
  cmd->add_option("--model", f->model, "model name (default gpt-4.1 / claude-sonnet-4-5)");
  cmd->add_option("--base-url", f->base_url, "API base URL (overrides OPENAI_BASE_URL / ANTHROPIC_BASE_URL)");
  cmd->add_option("--rounds", f->rounds, "rounds of generate-judge-feedback (model providers)")->capture_default_str();
  cmd->add_option("--candidates", f->candidates, "candidates per round (model providers)")->capture_default_str();
  cmd->add_option("--session", f->session, "stream tokens and results into this durable session on --server");
  cli::AddServerFlags(cmd, f->server);
  cmd->add_option("--out", f->out, "run folder (default ./runs/kernel-gen/<task>-<UTC timestamp>-<random>, new)");
  cmd->add_option("--bench-arg", f->bench_args,
                  "extra argument for `dsx kernel bench` (repeatable), e.g. --bench-arg=--sizes=large")
      ->allow_extra_args(false);
  cmd->add_option("--max-time", f->max_time_s,
                  "start no candidate after this many seconds (0: no limit); results so far are kept");
  cmd->add_flag("--compile-only", f->compile_only, "judge candidates by compiling only (no GPU; nothing is timed)");
  cmd->add_option("--timeout", f->timeout_s, "seconds per candidate before its bench is killed")->capture_default_str();
  cmd->add_option("--arch", f->arch, "architecture to compile for and name in the prompt")->capture_default_str();
  cmd->add_option("--max-tokens", f->max_tokens, "most tokens per model reply")->capture_default_str();
  cmd->add_option("--temperature", f->temperature,
                  "sampling temperature (default: server's; 0.8 when --candidates > 1)");
  auto* fast_p = cmd->add_option("--fast-p", f->fast_p,
                                 "thresholds of the run's fast_p in the leaderboard, comma separated (default "
                                 "0,0.5,0.8,1,1.5,2)");
  cmd->add_flag("--json", f->json, "print the leaderboard as JSON");
  cmd->callback([f, fast_p] {
    f->fast_p_given = fast_p->count() > 0;
    Run(*f);
  });
}

}  // namespace dsx::cmd
