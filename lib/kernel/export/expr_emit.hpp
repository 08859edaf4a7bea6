// Task expressions (docs/formats/kernel-task.md, "Expressions") translated to C++ and Python
// source, so an exported project computes shapes, scalars and launch dimensions exactly as
// `dsx kernel bench` did (lib/kernel/expr.cpp is the evaluator this must agree with).
//
// C++ output uses the small value type `dsx_export::V` that the generated launch.h defines
// (see kVRuntimeCpp): integer while every operand is an integer, float as soon as one is not,
// errors (division by zero, integer overflow) carried in the value instead of undefined
// behaviour. Python output uses helpers `_div`, `_mod`, `_ceil_div` from the generated wrapper.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "kernel/dtype.hpp"

namespace dsx::kernel::exp {

struct EmitEnv {
  // Size variable -> the source text that holds its value ("s.ROWS" in C++, "ROWS" in Python).
  std::map<std::string, std::string> vars;
  DType t = DType::kF32;  // what sizeof(T) means
};

// Translates `text`; a syntax error or an unknown name is a Usage error naming the expression.
Result<std::string> EmitCpp(std::string_view text, const EmitEnv& env);
Result<std::string> EmitPython(std::string_view text, const EmitEnv& env);

// The size variables `text` names (syntax errors: an empty set; EmitCpp reports them).
std::set<std::string> NamesIn(std::string_view text);

// True when `text` is exactly one name (after trimming): a tensor dimension that binds it.
bool IsBareName(std::string_view text, std::string* name = nullptr);

// The C++ source of dsx_export::V and its helpers (dsx_ceil_div, dsx_min, dsx_max), emitted once
// into launch.h. Pure C++17, no CUDA, no torch: the unit test compiles it with the host compiler.
extern const char* const kVRuntimeCpp;

}  // namespace dsx::kernel::exp
