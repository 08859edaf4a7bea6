// The torch op an exported kernel becomes, derived from the task: which tensors are outputs and
// inputs, which size variables come from which tensor dimension, which scalars are computed from
// the sizes and which are op arguments (with the value dsx verified as their default).
//
//   task.toml                         torch op (schema)
//   ptr io="out"                  ->  Tensor! <name>        (the Python wrapper allocates it)
//   ptr io="in"                   ->  Tensor <name>         (a bare size name in its shape binds it)
//   ptr io="scratch"              ->  (none: zero-filled by the op on every call, like the bench)
//   scalar, value uses sizes      ->  (none: computed from the bound sizes, as the bench does)
//   scalar, constant value        ->  float|int <name>=<value>
//   size not bound by any input   ->  int <NAME>
#pragma once

#include <string>
#include <vector>

#include "core/status.hpp"
#include "kernel/task.hpp"

namespace dsx::kernel::exp {

struct OpTensor {
  const ParamSpec* param = nullptr;
  std::string ident;  // C++/Python-safe name ("in" -> "in_")
};

struct OpScalarArg {  // a constant scalar exposed as an op argument
  const ParamSpec* param = nullptr;
  std::string ident;
  bool is_float = false;
  std::string default_text;  // schema / Python default: "1e-06", "3"
};

struct SizeBinding {
  std::string var;
  std::string tensor_ident;  // "" = an int op argument named after the variable
  size_t dim = 0;
};

struct OpModel {
  std::string kernel_name;  // build.toml [general] name, dashes: "reduce-sum"
  std::string py_name;      // python package, op and C++ function: "reduce_sum"
  std::vector<OpTensor> outs, ins, scratch;
  std::vector<OpScalarArg> scalar_args;
  std::vector<SizeBinding> sizes;  // every size variable any expression uses, in first-use order
  std::string entry_base;          // "rmsnorm" from "rmsnorm<T>"
  bool entry_is_template = false;  // "name<T>" (else an extern "C" name, maybe with {dtype})
  std::string schema;              // "rmsnorm(Tensor! y, Tensor x, Tensor w, float eps=1e-06) -> ()"

  const OpTensor* FindTensor(const ParamSpec* p) const;
  std::vector<std::string> SizeArgs() const;  // unbound sizes, in order
};

// `name` is the kernel-builder name (validated: ^[a-z][-a-z0-9]*[a-z0-9]$).
Result<OpModel> BuildOpModel(const TaskSpec& task, const LaunchSpec& launch, const std::string& name);

// Every size variable any preset defines.
std::vector<std::string> SizeVariables(const TaskSpec& task);

// Identifier safe in C++ and Python for a task parameter name ("in" -> "in_").
std::string SafeIdent(const std::string& name);

// "1.0e-6"-style text for a double that reads back exactly (schema and Python defaults).
std::string FormatDouble(double v);

}  // namespace dsx::kernel::exp
