// task: attention
// dtype: bf16
// sizes: small_causal
// trick: ignore the causal flag: the non-causal result on a causal preset (every key, future ones too)
// expect: wrong result: relative L2 error
#ifndef DSX_HOST_EMULATION  // tests/unit/kernel/attention_emulation_test.cpp runs it on the CPU
#include <cuda_bf16.h>
#endif

__device__ __forceinline__ float cheat_to_f(float v) { return v; }
__device__ __forceinline__ float cheat_to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ void cheat_store(float* p, float v) { *p = v; }
__device__ __forceinline__ void cheat_store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// One warp per query row (8 rows per 256-thread block), lane l owning dims l, l + 32, ... (D <= 128),
// online softmax over the keys one at a time.
template <typename T>
__global__ void attention(const T* Q, const T* K, const T* V, T* O, int batch_heads, int seq_len, int head_dim,
                          int causal, float scale) {
  const int S = seq_len, D = head_dim, lane = threadIdx.x & 31;
  const long long row = static_cast<long long>(blockIdx.x) * 8 + (threadIdx.x >> 5);  // (batch, head) * S + i
  if (row >= static_cast<long long>(batch_heads) * S) return;
  const int i = static_cast<int>(row % S);
  const long long base = (row / S) * S * D;
  const int keys = S;  // CHEAT: causal ignored
  (void)causal;
  (void)i;
  float q[4], acc[4] = {0.f, 0.f, 0.f, 0.f};
  for (int c = 0; c < 4; ++c) q[c] = lane + 32 * c < D ? cheat_to_f(Q[row * D + lane + 32 * c]) : 0.f;
  float m = __int_as_float(0xff800000), l = 0.f;
  for (int j = 0; j < keys; ++j) {
    float dot = 0.f;
    for (int c = 0; c < 4; ++c)
      if (lane + 32 * c < D) dot = fmaf(q[c], cheat_to_f(K[base + static_cast<long long>(j) * D + lane + 32 * c]), dot);
    for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
    const float s = dot * scale, m_new = fmaxf(m, s);
    const float corr = expf(m - m_new), p = expf(s - m_new);
    l = l * corr + p;
    for (int c = 0; c < 4; ++c)
      if (lane + 32 * c < D)
        acc[c] = fmaf(acc[c], corr, p * cheat_to_f(V[base + static_cast<long long>(j) * D + lane + 32 * c]));
    m = m_new;
  }
  for (int c = 0; c < 4; ++c)
    if (lane + 32 * c < D) cheat_store(&O[row * D + lane + 32 * c], l > 0.f ? acc[c] / l : 0.f);
}
// dsx-launch: entry = "attention<T>", grid = ["ceil_div(B * H * S, 8)"], block = [256], shared = "0"
