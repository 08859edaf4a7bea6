// transpose: out[c, r] = in[r, c]. Input "in" ([ROWS, COLS]); output "out" ([COLS, ROWS]).
#include <cstddef>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"
#include "kernel/cpu_ref/cpu_ref_util.hpp"

namespace dsx::kernel::cpu_ref {

Status Transpose(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
                 std::span<double> values) {
  constexpr std::string_view kRef = "transpose";
  auto in = Input(args, kRef, "in", 2);
  if (!in.ok()) return in.status();
  const int64_t rows = (*in)->shape[0], cols = (*in)->shape[1];
  DSX_RETURN_IF_ERROR(CheckRequest(kRef, out, "out", indices, values, rows * cols));
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t c = indices[k] / rows, r = indices[k] % rows;  // out is COLS x ROWS
    values[k] = (*in)->data[static_cast<size_t>(r * cols + c)];
  }
  return Status::Ok();
}

}  // namespace dsx::kernel::cpu_ref
