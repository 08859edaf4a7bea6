// vector_add: c[i] = a[i] + b[i]. Inputs a, b (shape [N]); output "c".
#include <cstddef>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"
#include "kernel/cpu_ref/cpu_ref_util.hpp"

namespace dsx::kernel::cpu_ref {

Status VectorAdd(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
                 std::span<double> values) {
  constexpr std::string_view kRef = "vector_add";
  auto a = Input(args, kRef, "a", 1);
  if (!a.ok()) return a.status();
  auto b = Input(args, kRef, "b", 1);
  if (!b.ok()) return b.status();
  const int64_t n = (*a)->shape[0];
  DSX_RETURN_IF_ERROR(CheckDim(kRef, "length of 'b'", (*b)->shape[0], n));
  DSX_RETURN_IF_ERROR(CheckRequest(kRef, out, "c", indices, values, n));
  for (size_t k = 0; k < indices.size(); ++k) {
    const auto i = static_cast<size_t>(indices[k]);
    values[k] = (*a)->data[i] + (*b)->data[i];
  }
  return Status::Ok();
}

}  // namespace dsx::kernel::cpu_ref
