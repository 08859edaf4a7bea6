// matmul optimized: C = A * B (A: M x K, B: K x N, C: M x N, row-major), f32 and bf16.
//
// Both variants compute a 128 x 128 tile of C per 256-thread block, walk K in steps, and
// double-buffer the A and B tiles in shared memory so that loading step k+1 overlaps the math of
// step k (one barrier per step).
//
// f32 (SIMT FMA): BK = 8. Each thread computes an 8 x 8 block of C (rows ty*4.. and 64+ty*4..,
// columns tx*4.. and 64+tx*4..), reading 2 float4 of A (stored transposed, As[k][m]) and 2 float4
// of B per k from shared memory: 16 loads feed 64 FMAs. The next tile is fetched into registers
// before the math and stored to the other buffer after it. Any M, N, K: float4 global loads when
// K (for A) / N (for B, C) are multiples of 4, bounds-checked scalar loads otherwise.
//
// bf16 (tensor cores, f32 accumulation): BK = 32, mma.sync.m16n8k16 (bf16 in, f32 out). 8 warps in
// a 2 x 4 grid, each owning a 64 x 32 sub-tile = 4 x 4 mma tiles (64 f32 accumulators per thread).
// Tiles move global -> shared with cp.async (16 B, zero-filled past the edges), two stages; fragments
// come from shared memory with ldmatrix (.trans for B, which is K x N row-major). Rows are padded by
// 8 elements (A: 80 B, B: 272 B strides) so the 8 row addresses of every ldmatrix phase fall in
// distinct banks. Any M; K and N multiples of 8 (and 16-byte aligned pointers) use cp.async, other
// shapes fill the tiles with bounds-checked scalar loads. 37.9 KB static shared memory (< 48 KB).
// Not wgmma: that needs sm_90a and TMA descriptors; this kernel is the portable sm_80+ path.
#include <cuda_bf16.h>

namespace {

constexpr int kBM = 128;  // rows of C per block
constexpr int kBN = 128;  // columns of C per block

template <typename T> struct IsF32 { static constexpr bool value = false; };
template <> struct IsF32<float> { static constexpr bool value = true; };

__device__ __forceinline__ bool AlignedTo(const void* p, unsigned bytes) {
  return (reinterpret_cast<unsigned long long>(p) & (bytes - 1)) == 0;
}

// ------------------------------------------------------------------------------------------------
// f32: shared-memory tiles, 8 x 8 register blocking
// ------------------------------------------------------------------------------------------------
constexpr int kBKF = 8;

__device__ __forceinline__ void MatmulF32(const float* __restrict__ A, const float* __restrict__ B,
                                          float* __restrict__ C, int M, int N, int K) {
  __shared__ __align__(16) float As[2][kBKF][kBM + 4];  // transposed A tile; +4: conflict-free stores
  __shared__ __align__(16) float Bs[2][kBKF][kBN];
  const int tid = threadIdx.x;
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  const int a_row = tid >> 1, a_col = (tid & 1) * 4;   // A tile 128 x 8: 4 elements per thread
  const int b_row = tid >> 5, b_col = (tid & 31) * 4;  // B tile 8 x 128: 4 elements per thread
  const bool vec_a = K % 4 == 0 && AlignedTo(A, 16);
  const bool vec_b = N % 4 == 0 && AlignedTo(B, 16);
  const bool vec_c = N % 4 == 0 && AlignedTo(C, 16);
  float ra[4], rb[4];

  auto load = [&](int k0) {
    const int gm = m0 + a_row, gk = k0 + a_col;
    if (vec_a && gm < M && gk < K) {
      const float4 v = *reinterpret_cast<const float4*>(A + static_cast<long long>(gm) * K + gk);
      ra[0] = v.x; ra[1] = v.y; ra[2] = v.z; ra[3] = v.w;
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) ra[j] = (gm < M && gk + j < K) ? A[static_cast<long long>(gm) * K + gk + j] : 0.f;
    }
    const int bk = k0 + b_row, gn = n0 + b_col;
    if (vec_b && bk < K && gn < N) {
      const float4 v = *reinterpret_cast<const float4*>(B + static_cast<long long>(bk) * N + gn);
      rb[0] = v.x; rb[1] = v.y; rb[2] = v.z; rb[3] = v.w;
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) rb[j] = (bk < K && gn + j < N) ? B[static_cast<long long>(bk) * N + gn + j] : 0.f;
    }
  };
  auto store = [&](int s) {
#pragma unroll
    for (int j = 0; j < 4; ++j) As[s][a_col + j][a_row] = ra[j];
    *reinterpret_cast<float4*>(&Bs[s][b_row][b_col]) = make_float4(rb[0], rb[1], rb[2], rb[3]);
  };

  const int tx = tid & 15, ty = tid >> 4;
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i) {
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
  }
  const int ktiles = (K + kBKF - 1) / kBKF;
  load(0);
  store(0);
  __syncthreads();
  for (int kt = 0; kt < ktiles; ++kt) {
    const int s = kt & 1;
    if (kt + 1 < ktiles) load((kt + 1) * kBKF);  // in flight during the math below
#pragma unroll
    for (int k = 0; k < kBKF; ++k) {
      float a[8], b[8];
      const float4 a0 = *reinterpret_cast<const float4*>(&As[s][k][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[s][k][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[s][k][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[s][k][64 + tx * 4]);
      a[0] = a0.x; a[1] = a0.y; a[2] = a0.z; a[3] = a0.w; a[4] = a1.x; a[5] = a1.y; a[6] = a1.z; a[7] = a1.w;
      b[0] = b0.x; b[1] = b0.y; b[2] = b0.z; b[3] = b0.w; b[4] = b1.x; b[5] = b1.y; b[6] = b1.z; b[7] = b1.w;
#pragma unroll
      for (int i = 0; i < 8; ++i) {
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
    }
    if (kt + 1 < ktiles) store(s ^ 1);  // the other buffer: last read before the previous barrier
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int gm = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    if (gm >= M) continue;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int gn = n0 + h * 64 + tx * 4;
      float* dst = C + static_cast<long long>(gm) * N + gn;
      if (vec_c && gn < N) {
        *reinterpret_cast<float4*>(dst) = make_float4(acc[i][h * 4], acc[i][h * 4 + 1], acc[i][h * 4 + 2], acc[i][h * 4 + 3]);
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          if (gn + j < N) dst[j] = acc[i][h * 4 + j];
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// bf16: tensor cores (mma.sync m16n8k16), cp.async double buffering, ldmatrix fragments
// ------------------------------------------------------------------------------------------------
constexpr int kBK = 32;
constexpr int kPad = 8;  // elements of padding per shared row (16 B)

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
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ unsigned short Bf16Bits(float v) {
  unsigned short r;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(v));
  return r;
}
__device__ __forceinline__ unsigned Bf16x2Bits(float lo, float hi) {
  unsigned r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

__device__ __forceinline__ void MatmulBf16(const __nv_bfloat16* __restrict__ A_, const __nv_bfloat16* __restrict__ B_,
                                           __nv_bfloat16* __restrict__ C_, int M, int N, int K) {
  __shared__ __align__(128) unsigned short As[2][kBM][kBK + kPad];  // 20480 B
  __shared__ __align__(128) unsigned short Bs[2][kBK][kBN + kPad];  // 17408 B
  const unsigned short* A = reinterpret_cast<const unsigned short*>(A_);
  const unsigned short* B = reinterpret_cast<const unsigned short*>(B_);
  unsigned short* C = reinterpret_cast<unsigned short*>(C_);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp >> 2, wn = warp & 3;  // warp tile: rows wm*64 .. +63, columns wn*32 .. +31
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  const bool vec = K % 8 == 0 && N % 8 == 0 && AlignedTo(A, 16) && AlignedTo(B, 16);

  // Tile s <- A[m0.., k0..] (128 x 32) and B[k0.., n0..] (32 x 128): 512 16-byte chunks each.
  auto load_tile = [&](int s, int k0) {
#pragma unroll
    for (int it = 0; it < 2; ++it) {
      const int id = tid + it * 256;
      const int ar = id >> 2, ac = (id & 3) * 8;
      const int gm = m0 + ar, gk = k0 + ac;
      const int br = id >> 4, bc = (id & 15) * 8;
      const int bk = k0 + br, gn = n0 + bc;
      if (vec) {  // K, N multiples of 8: a chunk is wholly inside or wholly outside
        const bool a_ok = gm < M && gk < K, b_ok = bk < K && gn < N;
        CpAsync16(&As[s][ar][ac], a_ok ? A + static_cast<long long>(gm) * K + gk : A, a_ok ? 16 : 0);
        CpAsync16(&Bs[s][br][bc], b_ok ? B + static_cast<long long>(bk) * N + gn : B, b_ok ? 16 : 0);
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          As[s][ar][ac + e] = (gm < M && gk + e < K) ? A[static_cast<long long>(gm) * K + gk + e] : 0;
          Bs[s][br][bc + e] = (bk < K && gn + e < N) ? B[static_cast<long long>(bk) * N + gn + e] : 0;
        }
      }
    }
  };

  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;
    }
  }
  const int ktiles = (K + kBK - 1) / kBK;
  load_tile(0, 0);
  CpAsyncCommit();
  for (int kt = 0; kt < ktiles; ++kt) {
    const int s = kt & 1;
    if (kt + 1 < ktiles) load_tile(s ^ 1, (kt + 1) * kBK);  // buffer freed by the previous barrier
    CpAsyncCommit();                                         // (possibly empty) group for tile kt+1
    CpAsyncWaitOne();                                        // tile kt has landed (this thread's part)
    __syncthreads();                                         // ... and everyone else's
#pragma unroll
    for (int kk = 0; kk < kBK; kk += 16) {
      unsigned a[4][4], b[4][2];
#pragma unroll
      for (int mi = 0; mi < 4; ++mi) {
        // lanes 0-15: rows 0-15 at column kk; lanes 16-31: rows 0-15 at kk + 8 -> a0..a3
        Ldmatrix4(a[mi], &As[s][wm * 64 + mi * 16 + (lane & 15)][kk + (lane >> 4) * 8]);
      }
#pragma unroll
      for (int nj = 0; nj < 2; ++nj) {
        // lanes 0-15: k rows kk..kk+15 at column n; lanes 16-31: the same rows at n + 8
        unsigned r[4];
        Ldmatrix4Trans(r, &Bs[s][kk + (lane & 15)][wn * 32 + nj * 16 + (lane >> 4) * 8]);
        b[2 * nj][0] = r[0]; b[2 * nj][1] = r[1]; b[2 * nj + 1][0] = r[2]; b[2 * nj + 1][1] = r[3];
      }
#pragma unroll
      for (int mi = 0; mi < 4; ++mi) {
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) MmaBf16(acc[mi][ni], a[mi], b[ni][0], b[ni][1]);
      }
    }
    __syncthreads();  // everyone is done reading buffer s before it is refilled
  }

  // Accumulator layout (m16n8): e0, e1 at (row gid, columns 2*tig, 2*tig+1); e2, e3 at row gid + 8.
  const int gid = lane >> 2, tig = lane & 3;
  const bool pairs = N % 2 == 0 && AlignedTo(C, 4);
#pragma unroll
  for (int mi = 0; mi < 4; ++mi) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = m0 + wm * 64 + mi * 16 + gid + h * 8;
      if (row >= M) continue;
#pragma unroll
      for (int ni = 0; ni < 4; ++ni) {
        const int col = n0 + wn * 32 + ni * 8 + tig * 2;
        const float v0 = acc[mi][ni][2 * h], v1 = acc[mi][ni][2 * h + 1];
        unsigned short* dst = C + static_cast<long long>(row) * N + col;
        if (pairs && col + 1 < N) {
          *reinterpret_cast<unsigned*>(dst) = Bf16x2Bits(v0, v1);
        } else {
          if (col < N) dst[0] = Bf16Bits(v0);
          if (col + 1 < N) dst[1] = Bf16Bits(v1);
        }
      }
    }
  }
}

}  // namespace

// Launch: grid = (ceil_div(N, 128), ceil_div(M, 128)), block = 256 (both variants).
// bf16: 2 blocks per SM (<= 128 registers, no spills). f32 needs ~137 registers for its 64
// accumulators + fragments + prefetch (capping at 128 spilled on sm_90): 1 block per SM.
template <typename T>
__global__ void __launch_bounds__(256, IsF32<T>::value ? 1 : 2) matmul(const T* __restrict__ A, const T* __restrict__ B,
                                                 T* __restrict__ C, int M, int N, int K) {
  if constexpr (IsF32<T>::value) {
    MatmulF32(A, B, C, M, N, K);
  } else {
    MatmulBf16(A, B, C, M, N, K);
  }
}
