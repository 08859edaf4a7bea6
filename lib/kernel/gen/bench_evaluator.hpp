// The real judge, in two child processes of our own binary:
//   1. `dsx kernel compile FILE --task TASK --json`: NVRTC only, no GPU; a compile error is
//      reported with the compiler's log (the most useful feedback a model can get);
//   2. `dsx kernel bench TASK --impl FILE --json`: verifies and times the candidate exactly as
//      `dsx kernel bench` does for a person; a candidate that crashes or hangs takes down only
//      that child (which itself runs each configuration in a further child).
// With compile_only the second step is skipped: a candidate that compiles "passes" with score 0
// (useful to check a template grid on a machine without a GPU).
#pragma once

#include <string>
#include <vector>

#include "kernel/gen/evaluation.hpp"

namespace dsx::kernel::gen {

struct BenchOptions {
  std::string dsx_binary;               // default: this executable
  std::string task;                     // TASK as given to gen (name or folder)
  std::vector<std::string> extra_args;  // passed on, e.g. "--sizes=large", "--dtype=bf16"
  double timeout_s = 600;               // per candidate
  std::string arch;                     // for the compile step ("" = dsx's default, sm_90)
  bool compile_only = false;            // stop after the compile step (no GPU needed)
};

class BenchEvaluator : public Evaluator {
 public:
  explicit BenchEvaluator(BenchOptions options);
  Result<Evaluation> Evaluate(const std::filesystem::path& file) override;
  // The argvs it runs for `file` (for logs and tests).
  std::vector<std::string> CompileCommand(const std::filesystem::path& file) const;
  std::vector<std::string> Command(const std::filesystem::path& file) const;

 private:
  BenchOptions options_;
};

// Turns the child's exit code, stdout (JSON) and stderr into an Evaluation; non-OK when the
// harness could not run at all (exit 5: no CUDA driver or device; 2/3: bad task or flags).
// Exposed for tests.
Result<Evaluation> InterpretBench(int exit_code, bool timed_out, const std::string& out, const std::string& err);
// The compile step: nullopt-like (OK with outcome kPassed) when it compiled; kCompileError with
// the log; non-OK when the compiler could not run at all.
Result<Evaluation> InterpretCompile(int exit_code, bool timed_out, const std::string& out, const std::string& err);

}  // namespace dsx::kernel::gen
