// matmul: C[m, n] = sum_k A[m, k] * B[k, n]. Inputs A ([M, K]), B ([K, N]); output "C" ([M, N]).
// Each requested element costs K multiply-adds in double (compensated).
#include <cstddef>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"
#include "kernel/cpu_ref/cpu_ref_util.hpp"

namespace dsx::kernel::cpu_ref {

Status Matmul(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
              std::span<double> values) {
  constexpr std::string_view kRef = "matmul";
  auto a = Input(args, kRef, "A", 2);
  if (!a.ok()) return a.status();
  auto b = Input(args, kRef, "B", 2);
  if (!b.ok()) return b.status();
  const int64_t m_dim = (*a)->shape[0], k_dim = (*a)->shape[1], n_dim = (*b)->shape[1];
  DSX_RETURN_IF_ERROR(CheckDim(kRef, "rows of 'B'", (*b)->shape[0], k_dim));
  DSX_RETURN_IF_ERROR(CheckRequest(kRef, out, "C", indices, values, m_dim * n_dim));
  const double* pa = (*a)->data.data();
  const double* pb = (*b)->data.data();
  for (size_t idx = 0; idx < indices.size(); ++idx) {
    const int64_t m = indices[idx] / n_dim, n = indices[idx] % n_dim;
    CompensatedSum acc;
    for (int64_t k = 0; k < k_dim; ++k) acc.Add(pa[m * k_dim + k] * pb[k * n_dim + n]);
    values[idx] = acc.Value();
  }
  return Status::Ok();
}

}  // namespace dsx::kernel::cpu_ref
