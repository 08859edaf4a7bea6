// reduce_sum: out[0] = sum(x). Input x ([N]); output "out" ([1]). The scratch params (partials,
// counter) are the GPU kernels' business and are not inputs here. Compensated summation, so the
// value is exact to about one rounding even for 2^27 terms.
#include <cstddef>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"
#include "kernel/cpu_ref/cpu_ref_util.hpp"

namespace dsx::kernel::cpu_ref {

Status ReduceSum(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
                 std::span<double> values) {
  constexpr std::string_view kRef = "reduce_sum";
  auto x = Input(args, kRef, "x", 1);
  if (!x.ok()) return x.status();
  DSX_RETURN_IF_ERROR(CheckRequest(kRef, out, "out", indices, values, 1));
  if (indices.empty()) return Status::Ok();
  CompensatedSum sum;
  for (double v : (*x)->data) sum.Add(v);
  for (double& v : values) v = sum.Value();
  return Status::Ok();
}

}  // namespace dsx::kernel::cpu_ref
