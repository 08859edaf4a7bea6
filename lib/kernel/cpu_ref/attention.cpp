// attention: O[b, h, i, :] = sum_j p_ij V[b, h, j, :], p_ij = softmax_j(scale * Q[b, h, i, :] . K[b, h, j, :])
// over j = 0 .. S-1, or j = 0 .. i when causal (torch's is_causal: key j > query i is masked).
// Inputs Q, K, V ([B, H, S, D], the same shape); scalars "causal" (0 or 1) and "scale"; output "O".
//
// Each requested element costs its whole row (S dot products of length D, then S axpys), so rows
// are computed once per call and cached: the harness samples a few hundred elements, i.e. a few
// hundred rows spread over batch, head and sequence. The row maximum is subtracted before exp(),
// so logits in the thousands are exact too.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <unordered_map>
#include <vector>

#include "kernel/cpu_ref/cpu_ref_tasks.hpp"
#include "kernel/cpu_ref/cpu_ref_util.hpp"

namespace dsx::kernel::cpu_ref {

namespace {

constexpr std::string_view kRef = "attention";

// One output row: query `s` of (batch, head) `bh`; out has D values.
void AttentionRow(const double* q_bh, const double* k_bh, const double* v_bh, int64_t s_len, int64_t d_len,
                  int64_t s, bool causal, double scale, std::vector<double>& out) {
  const double* q = q_bh + s * d_len;
  const int64_t keys = causal ? s + 1 : s_len;
  std::vector<double> logits(static_cast<size_t>(keys));
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < keys; ++j) {
    const double* k = k_bh + j * d_len;
    CompensatedSum dot;
    for (int64_t d = 0; d < d_len; ++d) dot.Add(q[d] * k[d]);
    logits[static_cast<size_t>(j)] = scale * dot.Value();
    mx = std::max(mx, logits[static_cast<size_t>(j)]);
  }
  CompensatedSum denom;
  std::vector<CompensatedSum> acc(static_cast<size_t>(d_len));
  for (int64_t j = 0; j < keys; ++j) {
    const double p = std::exp(logits[static_cast<size_t>(j)] - mx);
    denom.Add(p);
    const double* v = v_bh + j * d_len;
    for (int64_t d = 0; d < d_len; ++d) acc[static_cast<size_t>(d)].Add(p * v[d]);
  }
  out.resize(static_cast<size_t>(d_len));
  for (int64_t d = 0; d < d_len; ++d) out[static_cast<size_t>(d)] = acc[static_cast<size_t>(d)].Value() / denom.Value();
}

}  // namespace

Status Attention(const CpuRefArgs& args, const std::string& out, std::span<const int64_t> indices,
                 std::span<double> values) {
  auto q = Input(args, kRef, "Q", 4);
  if (!q.ok()) return q.status();
  auto k = Input(args, kRef, "K", 4);
  if (!k.ok()) return k.status();
  auto v = Input(args, kRef, "V", 4);
  if (!v.ok()) return v.status();
  const std::vector<int64_t>& shape = (*q)->shape;
  static constexpr const char* kDims[] = {"batch", "heads", "sequence length", "head dim"};
  for (size_t i = 0; i < 4; ++i) {
    DSX_RETURN_IF_ERROR(CheckDim(kRef, std::string(kDims[i]) + " of 'K'", (*k)->shape[i], shape[i]));
    DSX_RETURN_IF_ERROR(CheckDim(kRef, std::string(kDims[i]) + " of 'V'", (*v)->shape[i], shape[i]));
  }
  auto causal = Scalar(args, kRef, "causal");
  if (!causal.ok()) return causal.status();
  auto scale = Scalar(args, kRef, "scale");
  if (!scale.ok()) return scale.status();
  if (*causal != 0 && *causal != 1)
    return Status::Failed("cpu reference 'attention': scalar 'causal' must be 0 or 1, not " + std::to_string(*causal));
  if (!std::isfinite(*scale)) return Status::Failed("cpu reference 'attention': scalar 'scale' is not finite");
  const int64_t s_len = shape[2], d_len = shape[3];
  const int64_t rows = shape[0] * shape[1] * s_len;
  DSX_RETURN_IF_ERROR(CheckRequest(kRef, out, "O", indices, values, rows * d_len));
  if (indices.empty()) return Status::Ok();

  std::unordered_map<int64_t, std::vector<double>> cache;  // flat row -> its D outputs
  for (size_t n = 0; n < indices.size(); ++n) {
    const int64_t row = indices[n] / d_len;
    auto it = cache.find(row);
    if (it == cache.end()) {
      const int64_t bh = row / s_len, s = row % s_len;
      const int64_t base = bh * s_len * d_len;
      std::vector<double> o;
      AttentionRow((*q)->data.data() + base, (*k)->data.data() + base, (*v)->data.data() + base, s_len, d_len, s,
                   *causal == 1, *scale, o);
      it = cache.emplace(row, std::move(o)).first;
    }
    values[n] = it->second[static_cast<size_t>(indices[n] % d_len)];
  }
  return Status::Ok();
}

}  // namespace dsx::kernel::cpu_ref
