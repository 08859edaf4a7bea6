// The real judge: `dsx kernel bench TASK --impl FILE --json` run as a child process of our own
// binary. The child compiles, verifies and times the candidate exactly as `dsx kernel bench`
// does for a person, and a candidate that crashes or hangs takes down only that child.
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
};

class BenchEvaluator : public Evaluator {
 public:
  explicit BenchEvaluator(BenchOptions options);
  Result<Evaluation> Evaluate(const std::filesystem::path& file) override;
  // The argv it runs for `file` (for logs and tests).
  std::vector<std::string> Command(const std::filesystem::path& file) const;

 private:
  BenchOptions options_;
};

// Turns the child's exit code, stdout (JSON) and stderr into an Evaluation; non-OK when the
// harness could not run at all (exit 5: no CUDA driver or device; 2/3: bad task or flags).
// Exposed for tests.
Result<Evaluation> InterpretBench(int exit_code, bool timed_out, const std::string& out,
                                  const std::string& err);

}  // namespace dsx::kernel::gen
