// softmax: y[r, c] = exp(x[r, c] - max_r) / sum_c' exp(x[r, c'] - max_r). Input x ([ROWS, COLS]);
// output "y" (same shape). Row statistics are computed once per requested row and call.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <unordered_map>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"
#include "kernel/cpu_ref/cpu_ref_util.hpp"

namespace dsx::kernel::cpu_ref {

Status Softmax(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
               std::span<double> values) {
  constexpr std::string_view kRef = "softmax";
  auto x = Input(args, kRef, "x", 2);
  if (!x.ok()) return x.status();
  const int64_t rows = (*x)->shape[0], cols = (*x)->shape[1];
  DSX_RETURN_IF_ERROR(CheckRequest(kRef, out, "y", indices, values, rows * cols));
  struct RowStats {
    double max;
    double sum;  // of exp(x - max)
  };
  std::unordered_map<int64_t, RowStats> stats;
  const double* px = (*x)->data.data();
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t r = indices[k] / cols;
    const double* row = px + r * cols;
    auto it = stats.find(r);
    if (it == stats.end()) {
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < cols; ++c) mx = std::max(mx, row[c]);
      CompensatedSum sum;
      for (int64_t c = 0; c < cols; ++c) sum.Add(std::exp(row[c] - mx));
      it = stats.emplace(r, RowStats{mx, sum.Value()}).first;
    }
    values[k] = std::exp(row[indices[k] % cols] - it->second.max) / it->second.sum;
  }
  return Status::Ok();
}

}  // namespace dsx::kernel::cpu_ref
