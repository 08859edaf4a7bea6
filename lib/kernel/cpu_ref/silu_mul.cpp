// silu_mul: out[i] = silu(a[i]) * b[i], silu(x) = x / (1 + exp(-x)). Inputs a, b ([N]); output "out".
#include <cmath>
#include <cstddef>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"
#include "kernel/cpu_ref/cpu_ref_util.hpp"

namespace dsx::kernel::cpu_ref {

Status SiluMul(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
               std::span<double> values) {
  constexpr std::string_view kRef = "silu_mul";
  auto a = Input(args, kRef, "a", 1);
  if (!a.ok()) return a.status();
  auto b = Input(args, kRef, "b", 1);
  if (!b.ok()) return b.status();
  const int64_t n = (*a)->shape[0];
  DSX_RETURN_IF_ERROR(CheckDim(kRef, "length of 'b'", (*b)->shape[0], n));
  DSX_RETURN_IF_ERROR(CheckRequest(kRef, out, "out", indices, values, n));
  for (size_t k = 0; k < indices.size(); ++k) {
    const auto i = static_cast<size_t>(indices[k]);
    const double x = (*a)->data[i];
    values[k] = x / (1.0 + std::exp(-x)) * (*b)->data[i];
  }
  return Status::Ok();
}

}  // namespace dsx::kernel::cpu_ref
