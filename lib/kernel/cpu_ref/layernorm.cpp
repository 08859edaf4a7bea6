// layernorm: y[r, c] = (x[r, c] - mean_r) / sqrt(var_r + eps) * w[c] + b[c], var_r the biased
// variance of row r. Inputs x ([ROWS, COLS]), w, b ([COLS]); scalar eps; output "y" ([ROWS, COLS]).
// Two-pass statistics (mean, then mean of squared deviations) once per requested row and call.
#include <cmath>
#include <cstddef>
#include <unordered_map>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"
#include "kernel/cpu_ref/cpu_ref_util.hpp"

namespace dsx::kernel::cpu_ref {

Status LayerNorm(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
                 std::span<double> values) {
  constexpr std::string_view kRef = "layernorm";
  auto x = Input(args, kRef, "x", 2);
  if (!x.ok()) return x.status();
  auto w = Input(args, kRef, "w", 1);
  if (!w.ok()) return w.status();
  auto b = Input(args, kRef, "b", 1);
  if (!b.ok()) return b.status();
  auto eps = Scalar(args, kRef, "eps");
  if (!eps.ok()) return eps.status();
  const int64_t rows = (*x)->shape[0], cols = (*x)->shape[1];
  DSX_RETURN_IF_ERROR(CheckDim(kRef, "length of 'w'", (*w)->shape[0], cols));
  DSX_RETURN_IF_ERROR(CheckDim(kRef, "length of 'b'", (*b)->shape[0], cols));
  DSX_RETURN_IF_ERROR(CheckRequest(kRef, out, "y", indices, values, rows * cols));
  struct RowStats {
    double mean;
    double rstd;
  };
  std::unordered_map<int64_t, RowStats> stats;
  const double* px = (*x)->data.data();
  const auto n = static_cast<double>(cols);
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t r = indices[k] / cols, c = indices[k] % cols;
    const double* row = px + r * cols;
    auto it = stats.find(r);
    if (it == stats.end()) {
      CompensatedSum s;
      for (int64_t j = 0; j < cols; ++j) s.Add(row[j]);
      const double mean = s.Value() / n;
      CompensatedSum ss;
      for (int64_t j = 0; j < cols; ++j) ss.Add((row[j] - mean) * (row[j] - mean));
      it = stats.emplace(r, RowStats{mean, 1.0 / std::sqrt(ss.Value() / n + *eps)}).first;
    }
    const auto cc = static_cast<size_t>(c);
    values[k] = (row[c] - it->second.mean) * it->second.rstd * (*w)->data[cc] + (*b)->data[cc];
  }
  return Status::Ok();
}

}  // namespace dsx::kernel::cpu_ref
