// Expressions in task.toml (shapes, scalar values, launch dimensions, cost): a tiny recursive-
// descent evaluator. Grammar and semantics are in docs/formats/kernel-task.md ("Expressions").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "kernel/dtype.hpp"

namespace dsx::kernel {

// A number: integer while every operand was an integer, float as soon as one is not.
struct Value {
  bool is_int = true;
  int64_t i = 0;
  double f = 0;
  double AsDouble() const { return is_int ? static_cast<double>(i) : f; }
  static Value Int(int64_t v) { return {true, v, static_cast<double>(v)}; }
  static Value Float(double v) { return {false, 0, v}; }
};

struct ExprEnv {
  const std::map<std::string, int64_t>* vars = nullptr;  // size variables of the preset
  DType t = DType::kF32;                                 // what sizeof(T) means
};

// Evaluates `text`; errors name the position: "expected ')' at column 7 in 'ceil_div(N, 2'".
Result<Value> EvalExpr(std::string_view text, const ExprEnv& env);

// Integer result required (shapes, grid, block, shared); floats with no fractional part pass.
Result<int64_t> EvalInt(std::string_view text, const ExprEnv& env);

}  // namespace dsx::kernel
