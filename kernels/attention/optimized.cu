// attention optimized: FlashAttention-2-style forward, bf16 in/out, f32 softmax and accumulation,
// tensor cores (mma.sync.m16n8k16 bf16 -> f32), head dim 64 or 128, causal or not.
//
// One block = one 128-row query tile of one (batch, head); 8 warps, each owning 16 query rows.
// The Q tile stays in shared memory; K and V walk the sequence in tiles of kBc keys (64 at D = 64,
// 32 at D = 128), double-buffered in shared memory with cp.async (tile j+1 lands while tile j is
// computed; one barrier per tile). kBc = 32 at D = 128 keeps the 64 f32 O accumulators, the S tile
// and the fragments within 128 registers (ptxas: 127-128, no spills, sm_80 and sm_90), so two
// blocks (16 warps) fit on an SM.
// Per warp and tile: S = Q K^T (16 x kBc, f32 in registers), scaled into the log2 domain, masked,
// then the online softmax: new row max, rescale of the running sum and of the O accumulator by
// exp2(old max - new max), P = exp2(S - max) converted to bf16 in registers and used directly as
// the A operand of O += P V (the accumulator layout of m16n8k16 is the A layout of the next mma).
// O (16 x D per warp, f32) is divided by the row sums at the end, staged through the warp's own
// rows of the Q tile and written with 16-byte stores.
//
// Masking: keys >= S (the partial last tile, zero-filled) and, when causal, key > query. Tiles
// wholly above the diagonal are never loaded (the block stops at its last row); inside the loop a
// warp skips the math of a tile that starts after its last row; the diagonal tiles are masked per
// element. Query tiles run heaviest-first (causal blocks near the end of the sequence do the most
// work). Shared rows are padded to D + 8 elements so every ldmatrix phase hits 32 distinct banks.
// Needs 16-byte aligned Q, K, V, O (cudaMalloc/torch allocations are); traps otherwise, on a head
// dim other than 64 or 128, and on too little dynamic shared memory. T must be bf16.
// Launch: grid = ceil_div(S, 128) * B * H, block = 256,
//         shared = (128 + 4 * kBc) * (D + 8) * 2 bytes = (128 + 4 * (4096 / D)) * (D + 8) * 2.
#ifndef DSX_HOST_EMULATION
#include <cuda_bf16.h>
#endif

namespace {

constexpr int kBr = 128;     // query rows per block
constexpr int kThreads = 256;
constexpr int kPad = 8;      // bf16 elements of padding per shared row (16 bytes)

// The PTX primitives. tests/unit/kernel/attention_emulation_test.cpp compiles this file for the
// CPU (DSX_HOST_EMULATION) with its own versions of exactly these, written from the PTX ISA's
// fragment layouts, and runs the kernel's index math against the float64 reference.
#ifndef DSX_HOST_EMULATION
__device__ __forceinline__ unsigned SmemAddr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}
// 16-byte async copy; src_bytes = 0 zero-fills the destination without reading the source.
__device__ __forceinline__ void CpAsync16(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SmemAddr(smem)), "l"(gmem), "r"(src_bytes)
               : "memory");
}
__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void CpAsyncWaitOne() { asm volatile("cp.async.wait_group 1;\n" ::: "memory"); }
__device__ __forceinline__ void CpAsyncWaitAll() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
__device__ __forceinline__ void Ldmatrix4(unsigned (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(SmemAddr(p)));
}
__device__ __forceinline__ void Ldmatrix4Trans(unsigned (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(SmemAddr(p)));
}
// d += a (16 x 16, row-major fragment) * b (16 x 8, column fragment), f32 accumulators.
__device__ __forceinline__ void MmaBf16(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// Two floats -> packed bf16x2, `lo` in the low half (the lower column index of an mma fragment).
__device__ __forceinline__ unsigned Bf16x2Bits(float lo, float hi) {
  unsigned r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
__device__ __forceinline__ unsigned DynamicSmemBytes() {
  unsigned r;
  asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(r));
  return r;
}
#endif  // DSX_HOST_EMULATION

template <int D, int kBc>
__device__ __forceinline__ void AttentionTile(const unsigned short* __restrict__ Q, const unsigned short* __restrict__ K,
                                              const unsigned short* __restrict__ V, unsigned short* __restrict__ O,
                                              int batch_heads, int S, bool causal, float scale,
                                              unsigned short* smem) {
  constexpr int kStride = D + kPad;  // elements per shared row
  constexpr int kChunks = D / 8;     // 16-byte chunks per row
  unsigned short* sQ = smem;                       // [kBr][kStride]
  unsigned short* sK = sQ + kBr * kStride;         // [2][kBc][kStride]
  unsigned short* sV = sK + 2 * kBc * kStride;     // [2][kBc][kStride]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int q_tiles = (S + kBr - 1) / kBr;
  if (static_cast<long long>(blockIdx.x) >= static_cast<long long>(q_tiles) * batch_heads) return;
  // blockIdx.x = rank * batch_heads + bh; rank 0 is the last (heaviest under the causal mask) tile.
  const int bh = blockIdx.x % batch_heads;
  const int q0 = (q_tiles - 1 - static_cast<int>(blockIdx.x / batch_heads)) * kBr;
  const long long base = static_cast<long long>(bh) * S * D;

  // Q tile: rows past S are zero-filled (their results are never stored).
  for (int c = tid; c < kBr * kChunks; c += kThreads) {
    const int r = c / kChunks, ch = c % kChunks, gr = q0 + r;
    const bool ok = gr < S;
    CpAsync16(sQ + r * kStride + ch * 8, ok ? Q + base + static_cast<long long>(gr) * D + ch * 8 : Q, ok ? 16 : 0);
  }
  auto load_kv = [&](int stage, int k0) {
    unsigned short* dk = sK + stage * kBc * kStride;
    unsigned short* dv = sV + stage * kBc * kStride;
    for (int c = tid; c < kBc * kChunks; c += kThreads) {
      const int r = c / kChunks, ch = c % kChunks, gr = k0 + r;
      const bool ok = gr < S;
      const long long off = static_cast<long long>(gr) * D + ch * 8;
      CpAsync16(dk + r * kStride + ch * 8, ok ? K + base + off : K, ok ? 16 : 0);
      CpAsync16(dv + r * kStride + ch * 8, ok ? V + base + off : V, ok ? 16 : 0);
    }
  };

  // Keys this block needs: all, or (causal) up to its last query row. Never 0 tiles.
  const int kv_end = causal ? min(S, q0 + kBr) : S;
  const int n_tiles = (kv_end + kBc - 1) / kBc;
  load_kv(0, 0);
  CpAsyncCommit();  // group 0: the Q tile and K/V tile 0

  const float neg_inf = __int_as_float(0xff800000);
  const float scale_log2 = scale * 1.4426950408889634f;  // exp(x * scale) = exp2(x * scale * log2 e)
  const int gid = lane >> 2, tig = lane & 3;              // mma fragment coordinates
  const int row_w = q0 + warp * 16;                       // this warp's first query row
  const int row_lo = row_w + gid, row_hi = row_lo + 8;    // the two rows this thread holds

  float o[D / 8][4];
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.f;
  float m_run[2] = {neg_inf, neg_inf};  // running max (log2 domain), per row, quad-uniform
  float l_run[2] = {0.f, 0.f};          // running sum of this thread's probabilities, per row

  for (int j = 0; j < n_tiles; ++j) {
    const int st = j & 1;
    if (j + 1 < n_tiles) load_kv(st ^ 1, (j + 1) * kBc);  // that buffer was released by the last barrier
    CpAsyncCommit();                                      // (possibly empty) group for tile j+1
    CpAsyncWaitOne();                                     // Q and tile j have landed (own copies)
    __syncthreads();                                      // ... everyone's copies

    const int k0 = j * kBc;
    // Causal: a tile whose first key is past this warp's last row contributes nothing to it.
    if (!(causal && k0 > row_w + 15)) {
      const unsigned short* tK = sK + st * kBc * kStride;
      const unsigned short* tV = sV + st * kBc * kStride;

      // ---- S = Q K^T: 16 x kBc per warp, kBc / 8 n-tiles of 8 keys ----
      constexpr int kNt = kBc / 8;
      float s[kNt][4];
#pragma unroll
      for (int nt = 0; nt < kNt; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        unsigned a[4];
        // lanes 0-15: rows 0-15 at dim 16kk; lanes 16-31: the same rows at 16kk + 8 -> a0..a3
        Ldmatrix4(a, sQ + (warp * 16 + (lane & 15)) * kStride + kk * 16 + (lane >> 4) * 8);
#pragma unroll
        for (int nj = 0; nj < kNt / 2; ++nj) {
          // K rows are the columns of K^T. Matrices: (keys 0-7, dims 0-7), (keys 0-7, dims 8-15),
          // (keys 8-15, dims 0-7), (keys 8-15, dims 8-15) of this 16-key group -> b0, b1 of
          // n-tile 2nj, then b0, b1 of n-tile 2nj+1.
          unsigned b[4];
          Ldmatrix4(b, tK + (nj * 16 + (lane & 7) + ((lane >> 4) << 3)) * kStride + kk * 16 + ((lane >> 3) & 1) * 8);
          MmaBf16(s[2 * nj], a, b[0], b[1]);
          MmaBf16(s[2 * nj + 1], a, b[2], b[3]);
        }
      }

      // ---- scale into the log2 domain, mask, row max ----
      // Fragment element e of n-tile nt: row (e < 2 ? row_lo : row_hi), key k0 + nt*8 + 2*tig + (e & 1).
      const bool need_mask = k0 + kBc > S || (causal && k0 + kBc - 1 > row_w);
      float mx[2] = {m_run[0], m_run[1]};
#pragma unroll
      for (int nt = 0; nt < kNt; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float v = s[nt][e] * scale_log2;
          if (need_mask) {
            const int key = k0 + nt * 8 + 2 * tig + (e & 1);
            const int row = e < 2 ? row_lo : row_hi;
            if (key >= S || (causal && key > row)) v = neg_inf;
          }
          s[nt][e] = v;
          mx[e >> 1] = fmaxf(mx[e >> 1], v);
        }
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) {  // the 4 threads of a quad hold the same two rows
        mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
        mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
      }

      // ---- online softmax: rescale what came before, P = exp2(S - max) ----
      float corr[2], m_use[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        m_use[h] = mx[h] == neg_inf ? 0.f : mx[h];  // all keys masked so far: exp2(-inf - 0) = 0, no NaN
        corr[h] = exp2f(m_run[h] - m_use[h]);       // 0 on this row's first tile (m_run = -inf)
        m_run[h] = mx[h];
      }
      float rs[2] = {0.f, 0.f};
#pragma unroll
      for (int nt = 0; nt < kNt; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[nt][e] = exp2f(s[nt][e] - m_use[e >> 1]);  // masked: exp2(-inf) = 0
          rs[e >> 1] += s[nt][e];
        }
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) l_run[h] = l_run[h] * corr[h] + rs[h];
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        o[dt][0] *= corr[0];
        o[dt][1] *= corr[0];
        o[dt][2] *= corr[1];
        o[dt][3] *= corr[1];
      }

      // ---- O += P V: P (16 x kBc, bf16) from registers, k-steps of 16 keys ----
#pragma unroll
      for (int kk = 0; kk < kBc / 16; ++kk) {
        unsigned a[4];
        a[0] = Bf16x2Bits(s[2 * kk][0], s[2 * kk][1]);          // row lo, keys 16kk + 2tig, +1
        a[1] = Bf16x2Bits(s[2 * kk][2], s[2 * kk][3]);          // row hi, same keys
        a[2] = Bf16x2Bits(s[2 * kk + 1][0], s[2 * kk + 1][1]);  // row lo, keys 16kk + 8 + 2tig, +1
        a[3] = Bf16x2Bits(s[2 * kk + 1][2], s[2 * kk + 1][3]);  // row hi, same keys
#pragma unroll
        for (int nd = 0; nd < D / 16; ++nd) {
          // V is keys x dims row-major (k x n): transposed loads give the column fragments.
          // lanes 0-15: keys 16kk + 0..15 at dim 16nd; lanes 16-31: the same keys at dim 16nd + 8.
          unsigned b[4];
          Ldmatrix4Trans(b, tV + (kk * 16 + (lane & 15)) * kStride + nd * 16 + (lane >> 4) * 8);
          MmaBf16(o[2 * nd], a, b[0], b[1]);
          MmaBf16(o[2 * nd + 1], a, b[2], b[3]);
        }
      }
    }
    __syncthreads();  // everyone is done reading buffer st before it is refilled
  }
  CpAsyncWaitAll();  // only empty groups can be pending here; leave none behind

  // ---- epilogue: divide by the row sums, stage in this warp's own Q rows, 16-byte stores ----
  float inv[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = l_run[h];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    inv[h] = l > 0.f ? 1.f / l : 0.f;
  }
  unsigned short* sO = sQ + warp * 16 * kStride;  // only this warp ever read these rows
  __syncwarp();                                   // its last ldmatrix of them is complete
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) {
    const int col = dt * 8 + 2 * tig;
    *reinterpret_cast<unsigned*>(sO + gid * kStride + col) = Bf16x2Bits(o[dt][0] * inv[0], o[dt][1] * inv[0]);
    *reinterpret_cast<unsigned*>(sO + (gid + 8) * kStride + col) = Bf16x2Bits(o[dt][2] * inv[1], o[dt][3] * inv[1]);
  }
  __syncwarp();
#pragma unroll
  for (int c = lane; c < 16 * kChunks; c += 32) {
    const int r = c / kChunks, ch = c % kChunks, gr = row_w + r;
    if (gr < S)
      *reinterpret_cast<uint4*>(O + base + static_cast<long long>(gr) * D + ch * 8) =
          *reinterpret_cast<const uint4*>(sO + r * kStride + ch * 8);
  }
}

template <int D, int kBc>
constexpr unsigned SmemBytes() {
  return (kBr + 4 * kBc) * (D + kPad) * 2;  // Q tile + 2 stages of (K, V), bf16
}

__device__ __forceinline__ bool Aligned16(const void* p) {
  return (reinterpret_cast<unsigned long long>(p) & 15ull) == 0;
}

}  // namespace

// 2 blocks per SM (<= 128 registers per thread): 16 warps, 136 KB of shared memory at D = 128.
template <typename T>
__global__ void __launch_bounds__(kThreads, 2) attention(const T* __restrict__ Q, const T* __restrict__ K,
                                                         const T* __restrict__ V, T* __restrict__ O,
                                                         int batch_heads, int seq_len, int head_dim, int causal,
                                                         float scale) {
  static_assert(sizeof(T) == 2, "attention: bf16 only");
  extern __shared__ __align__(128) unsigned char attention_smem[];
  if (blockDim.x != kThreads || !Aligned16(Q) || !Aligned16(K) || !Aligned16(V) || !Aligned16(O)) __trap();
  const auto* q = reinterpret_cast<const unsigned short*>(Q);
  const auto* k = reinterpret_cast<const unsigned short*>(K);
  const auto* v = reinterpret_cast<const unsigned short*>(V);
  auto* o = reinterpret_cast<unsigned short*>(O);
  auto* smem = reinterpret_cast<unsigned short*>(attention_smem);
  const unsigned dyn_smem = DynamicSmemBytes();
  if (head_dim == 128) {
    if (dyn_smem < SmemBytes<128, 32>()) __trap();
    AttentionTile<128, 32>(q, k, v, o, batch_heads, seq_len, causal != 0, scale, smem);
  } else if (head_dim == 64) {
    if (dyn_smem < SmemBytes<64, 64>()) __trap();
    AttentionTile<64, 64>(q, k, v, o, batch_heads, seq_len, causal != 0, scale, smem);
  } else {
    __trap();  // task.toml's [allowed] keeps D at 64 or 128
  }
}
