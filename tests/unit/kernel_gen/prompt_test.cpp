// Prompt assembly: skill constraints, the task's signature, and the feedback so far.
#include <doctest/doctest.h>

#include <filesystem>

#include "kernel/gen/prompt.hpp"
#include "kernel/gen/task_info.hpp"
#include "llm/skill.hpp"

namespace stdfs = std::filesystem;
using namespace dsx::kernel::gen;

namespace {
stdfs::path RepoRoot() { return stdfs::path(__FILE__).parent_path().parent_path().parent_path().parent_path(); }
}  // namespace

TEST_CASE("task info from the shipped rmsnorm task") {
  auto t = LoadTaskInfo("rmsnorm", {RepoRoot() / "kernels"});
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  CHECK(t->name == "rmsnorm");
  CHECK(t->entry == "rmsnorm<T>");
  CHECK(t->entry_base == "rmsnorm");
  CHECK(t->signature == "(const T* x, const T* w, T* y, int rows, int cols, float eps)");
  CHECK(t->sizes.find("large: ") != std::string::npos);
  CHECK(t->tolerance.find("bf16") != std::string::npos);
  CHECK(t->reference_source.find("__global__") != std::string::npos);
  CHECK(t->launch.find("grid = [ROWS]") != std::string::npos);
  auto missing = LoadTaskInfo("no_such_task", {RepoRoot() / "kernels"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == dsx::Code::kNotFound);
  CHECK(EntryBaseName("add_{dtype}") == "add_");
}

TEST_CASE("prompt: constraints first, task signature, reply format; no feedback section yet") {
  auto skill = dsx::llm::LoadSkill(RepoRoot() / "skills" / "cuda-kernels");
  REQUIRE(skill.ok());
  auto task = LoadTaskInfo("rmsnorm", {RepoRoot() / "kernels"});
  REQUIRE(task.ok());
  auto refs = SelectReferences(*skill, "rmsnorm");
  CHECK(std::find(refs.begin(), refs.end(), "references/constraints.md") != refs.end());
  CHECK(std::find(refs.begin(), refs.end(), "examples/rowwise-rmsnorm.md") == refs.end());  // this task's own
  CHECK(std::find(refs.begin(), refs.end(), "examples/elementwise-vector-add.md") != refs.end());
  auto va = SelectReferences(*skill, "vector_add");
  CHECK(std::find(va.begin(), va.end(), "examples/elementwise-vector-add.md") == va.end());

  PromptInputs in;
  in.skill = &*skill;
  in.task = &*task;
  in.references = {{"references/constraints.md", "CONSTRAINTS-TEXT"}};
  Prompt p = BuildPrompt(in);
  CHECK(p.system.find("Hard constraints") != std::string::npos);
  CHECK(p.system.find("Hard constraints") < p.system.find("What makes these kernels fast"));
  CHECK(p.system.find("CONSTRAINTS-TEXT") != std::string::npos);
  CHECK(p.user.find("(const T* x, const T* w, T* y, int rows, int cols, float eps)") != std::string::npos);
  CHECK(p.user.find("`rmsnorm<T>`") != std::string::npos);
  CHECK(p.user.find("dsx-launch:") != std::string::npos);
  CHECK(p.user.find("rmsnorm_ref") != std::string::npos);  // the reference kernel is shown
  CHECK(p.user.find("f32: 1e-05") != std::string::npos);
  CHECK(p.user.find("Feedback on earlier attempts") == std::string::npos);
  CHECK(p.user.find("exactly ONE fenced ```cuda block") != std::string::npos);
}

TEST_CASE("prompt: feedback carries compile errors, failures, timings and the best kernel") {
  auto task = LoadTaskInfo("rmsnorm", {RepoRoot() / "kernels"});
  REQUIRE(task.ok());
  PromptInputs in;
  in.task = &*task;
  Attempt a1{"r1-c1", 1, "bad source", {}};
  a1.eval.outcome = Outcome::kCompileError;
  a1.eval.summary = "compile error (1): line 3: identifier \"int64_t\" is undefined";
  a1.eval.feedback = "NVRTC compile log:\ncand.cu(3): error: identifier \"int64_t\" is undefined";
  Attempt a2{"r1-c2", 1, "__global__ void rmsnorm_good() {}", {}};
  a2.eval.outcome = Outcome::kPassed;
  a2.eval.summary = "passed: score 1.800";
  a2.eval.score = 1.8;
  a2.eval.rows = {{"bf16", "large", 0.2512, 2700, 80.6, 1.8}};
  Attempt a3{"r2-c1", 2, "wrong source", {}};
  a3.eval.outcome = Outcome::kWrong;
  a3.eval.summary = "wrong: relative error 0.3 above tolerance 1e-05";
  a3.eval.feedback = "f32/small: wrong\n  - NaN left in 12 output elements";
  in.history = {a1, a2, a3};
  Prompt p = BuildPrompt(in);
  CHECK(p.user.find("## Best kernel so far: r1-c2") != std::string::npos);
  CHECK(p.user.find("__global__ void rmsnorm_good() {}") != std::string::npos);
  CHECK(p.user.find("identifier \"int64_t\" is undefined") != std::string::npos);
  CHECK(p.user.find("### r2-c1: wrong") != std::string::npos);
  CHECK(p.user.find("NaN left in 12 output elements") != std::string::npos);
  CHECK(p.user.find("| bf16 | large | 0.2512 | 2700 | 80.6 | 1.80x |") != std::string::npos);

  // Older attempts keep their one-line verdict but lose the details.
  in.detailed_attempts = 1;
  Prompt q = BuildPrompt(in);
  CHECK(q.user.find("### r1-c1: compile_error") != std::string::npos);
  CHECK(q.user.find("cand.cu(3): error") == std::string::npos);
  CHECK(q.user.find("NaN left in 12 output elements") != std::string::npos);

  // Long logs are cut.
  in.detailed_attempts = 6;
  in.history[0].eval.feedback = std::string(10000, 'e');
  in.feedback_chars = 500;
  Prompt r = BuildPrompt(in);
  CHECK(r.user.find("more characters cut") != std::string::npos);
}
