// Shared argument checks for the CPU references in this folder (internal to lib/kernel/cpu_ref).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kernel/cpu_ref/cpu_reference.hpp"

namespace dsx::kernel::cpu_ref {

// Input tensor `name` with exactly `rank` dimensions whose data length matches its shape.
Result<const HostTensor*> Input(const CpuRefArgs& args, std::string_view ref, const std::string& name, size_t rank);

// Scalar param `name`.
Result<double> Scalar(const CpuRefArgs& args, std::string_view ref, const std::string& name);

// Checks that `out` is `expected`, that indices and values have the same length and that every
// index is in [0, count).
Status CheckRequest(std::string_view ref, const std::string& out, std::string_view expected,
                    std::span<const int64_t> indices, std::span<const double> values, int64_t count);

// Requires two dimensions to agree, e.g. the length of w and the columns of x.
Status CheckDim(std::string_view ref, std::string_view what, int64_t got, int64_t want);

// Neumaier-compensated sum: exact to about one rounding of the result for the sizes used here.
class CompensatedSum {
 public:
  void Add(double v);
  double Value() const { return sum_ + comp_; }

 private:
  double sum_ = 0.0;
  double comp_ = 0.0;
};

}  // namespace dsx::kernel::cpu_ref
