// rmsnorm: y[r, c] = x[r, c] / sqrt(mean_c'(x[r, c']^2) + eps) * w[c]. Inputs x ([ROWS, COLS]),
// w ([COLS]); scalar eps; output "y" ([ROWS, COLS]). Row statistics once per requested row and call.
#include <cmath>
#include <cstddef>
#include <unordered_map>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"
#include "kernel/cpu_ref/cpu_ref_util.hpp"

namespace dsx::kernel::cpu_ref {

Status RmsNorm(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
               std::span<double> values) {
  constexpr std::string_view kRef = "rmsnorm";
  auto x = Input(args, kRef, "x", 2);
  if (!x.ok()) return x.status();
  auto w = Input(args, kRef, "w", 1);
  if (!w.ok()) return w.status();
  auto eps = Scalar(args, kRef, "eps");
  if (!eps.ok()) return eps.status();
  const int64_t rows = (*x)->shape[0], cols = (*x)->shape[1];
  DSX_RETURN_IF_ERROR(CheckDim(kRef, "length of 'w'", (*w)->shape[0], cols));
  DSX_RETURN_IF_ERROR(CheckRequest(kRef, out, "y", indices, values, rows * cols));
  std::unordered_map<int64_t, double> rstd;  // row -> 1 / sqrt(mean(x^2) + eps)
  const double* px = (*x)->data.data();
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t r = indices[k] / cols, c = indices[k] % cols;
    const double* row = px + r * cols;
    auto it = rstd.find(r);
    if (it == rstd.end()) {
      CompensatedSum ss;
      for (int64_t j = 0; j < cols; ++j) ss.Add(row[j] * row[j]);
      it = rstd.emplace(r, 1.0 / std::sqrt(ss.Value() / static_cast<double>(cols) + *eps)).first;
    }
    values[k] = row[c] * it->second * (*w)->data[static_cast<size_t>(c)];
  }
  return Status::Ok();
}

}  // namespace dsx::kernel::cpu_ref
