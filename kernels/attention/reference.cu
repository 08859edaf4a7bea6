// attention reference: O = softmax(scale * Q K^T [causal mask]) V for each (batch, head), f32 math.
//
// Plain and direct: 8 threads per query row (each owns dims part, part + 8, part + 16, ... of q and
// of the output accumulator), 32 rows per 256-thread block, all from one (batch, head). Keys are
// visited in chunks of 32 staged in shared memory as f32 (shared by the 32 rows, so K and V are
// read from global memory once per 32 rows, not once per row). For each chunk: full f32 dot
// products (partial sums over the 8 threads of a row, added with shuffles), masked keys set to
// -inf, then the exact online-softmax update: new max, rescale the running sum and accumulator by
// exp(old max - new max), add exp(score - new max) weighted V rows. expf (not __expf) throughout.
// Any D <= 128 (task.toml allows 64 and 128); a larger D traps. T = bf16 (the task's dtype).
// Launch: grid = ceil_div(S, 32) * B * H, block = 256 (exactly), shared = 2 * 32 * D * 4 bytes.
#ifndef DSX_HOST_EMULATION  // tests/unit/kernel/attention_emulation_test.cpp runs this on the CPU
#include <cuda_bf16.h>
#endif

namespace {

constexpr int kRows = 32;        // query rows per block
constexpr int kPart = 8;         // threads per row
constexpr int kChunk = 32;       // keys per shared-memory chunk
constexpr int kMaxPer = 16;      // dims per thread: D <= kPart * kMaxPer = 128

__device__ __forceinline__ float ref_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T ref_from_float(float v);
template <> __device__ __forceinline__ __nv_bfloat16 ref_from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

}  // namespace

// The whole computation for one block; kPer = dims per thread (D <= 8 * kPer), a compile-time
// bound so q and the accumulator stay in registers.
template <int kPer, typename T>
__device__ __forceinline__ void AttentionRows(const T* Q, const T* K, const T* V, T* O, int bh, int q0, int S,
                                              int D, int causal, float scale, float* Ks, float* Vs) {
  const long long base = static_cast<long long>(bh) * S * D;
  const int r = threadIdx.x / kPart, part = threadIdx.x % kPart;
  const int row = q0 + r;
  const bool live = row < S;  // dead rows still take part in the shuffles below
  float q[kPer], acc[kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int d = part + kPart * i;
    q[i] = (live && d < D) ? ref_to_float(Q[base + static_cast<long long>(row) * D + d]) : 0.f;
    acc[i] = 0.f;
  }
  const float neg_inf = __int_as_float(0xff800000);
  float m = neg_inf, l = 0.f;

  // Keys any row of this block may see: all of them, or up to the block's last row when causal.
  const int key_end = causal ? min(S, q0 + kRows) : S;
  for (int k0 = 0; k0 < key_end; k0 += kChunk) {
    __syncthreads();  // the previous chunk is no longer read
    for (int idx = threadIdx.x; idx < kChunk * D; idx += blockDim.x) {
      const int j = idx / D, d = idx % D, key = k0 + j;
      const bool in = key < S;
      Ks[idx] = in ? ref_to_float(K[base + static_cast<long long>(key) * D + d]) : 0.f;
      Vs[idx] = in ? ref_to_float(V[base + static_cast<long long>(key) * D + d]) : 0.f;
    }
    __syncthreads();

    float s[kChunk];
    float chunk_max = neg_inf;
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      float part_dot = 0.f;
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const int d = part + kPart * i;
        if (d < D) part_dot = fmaf(q[i], Ks[j * D + d], part_dot);
      }
      // Sum over the 8 threads of this row (lanes 8k .. 8k+7 of the warp); every one gets it.
      part_dot += __shfl_xor_sync(0xffffffffu, part_dot, 1);
      part_dot += __shfl_xor_sync(0xffffffffu, part_dot, 2);
      part_dot += __shfl_xor_sync(0xffffffffu, part_dot, 4);
      const int key = k0 + j;
      const bool masked = key >= S || (causal && key > row);
      s[j] = masked ? neg_inf : part_dot * scale;
      chunk_max = fmaxf(chunk_max, s[j]);
    }
    const float m_new = fmaxf(m, chunk_max);
    if (m_new == neg_inf) continue;  // every key so far masked for this row: nothing to add
    const float corr = expf(m - m_new);  // 0 on the first chunk (m = -inf)
    l *= corr;
#pragma unroll
    for (int i = 0; i < kPer; ++i) acc[i] *= corr;
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      const float p = expf(s[j] - m_new);  // masked: exp(-inf) = 0
      l += p;
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const int d = part + kPart * i;
        if (d < D) acc[i] = fmaf(p, Vs[j * D + d], acc[i]);
      }
    }
    m = m_new;
  }
  if (!live) return;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int d = part + kPart * i;
    if (d < D) O[base + static_cast<long long>(row) * D + d] = ref_from_float<T>(acc[i] / l);
  }
}

template <typename T>
__global__ void __launch_bounds__(256) attention_ref(const T* Q, const T* K, const T* V, T* O, int batch_heads,
                                                     int seq_len, int head_dim, int causal, float scale) {
  extern __shared__ float ref_smem[];  // Ks[kChunk][D], then Vs[kChunk][D]
  const int S = seq_len, D = head_dim;
  if (blockDim.x != kRows * kPart || D < 1 || D > kPart * kMaxPer) __trap();
  const int q_tiles = (S + kRows - 1) / kRows;
  if (static_cast<long long>(blockIdx.x) >= static_cast<long long>(q_tiles) * batch_heads) return;
  const int bh = blockIdx.x / q_tiles, q0 = (blockIdx.x % q_tiles) * kRows;
  float* Ks = ref_smem;
  float* Vs = ref_smem + kChunk * D;
  if (D <= 64) AttentionRows<8>(Q, K, V, O, bh, q0, S, D, causal, scale, Ks, Vs);
  else AttentionRows<kMaxPer>(Q, K, V, O, bh, q0, S, D, causal, scale, Ks, Vs);
}
