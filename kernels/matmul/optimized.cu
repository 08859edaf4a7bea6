// matmul optimized: C = A * B (A: M x K, B: K x N, C: M x N, row-major), f32, bf16 and f16.
//
// f32 (SIMT FMA, 256 threads): a 128 x 128 tile of C per block, BK = 8, double-buffered shared
// tiles. Each thread computes an 8 x 8 block of C (rows ty*4.. and 64+ty*4.., columns tx*4.. and
// 64+tx*4..), reading 2 float4 of A (stored transposed, As[k][m]) and 2 float4 of B per k from
// shared memory: 16 loads feed 64 FMAs. The next tile is fetched into registers before the math and
// stored to the other buffer after it. float4 global loads when K (for A) / N (for B, C) are
// multiples of 4, bounds-checked scalar loads otherwise.
//
// bf16 / f16 (tensor cores, f32 accumulation, 128 threads): a 128 x 128 tile of C per block, BK =
// 32, 4 warps in 2 x 2, each owning 64 x 64 of C = 4 x 8 mma.sync.m16n8k16 tiles (128 f32
// accumulators per thread). A 64 x 64 warp tile needs 8 ldmatrix.x4 per 32 mma (a 64 x 32 tile
// needs 6 per 16): shared-memory bandwidth, not the tensor pipe, is what limits mma.sync kernels.
// Tiles move global -> shared with cp.async (16 B, zero-filled past the edges) through a 4-stage
// pipeline in 64 KiB of dynamic shared memory (2 blocks per SM: 8 warps, 128 KiB), one barrier per
// k-tile. Shared tiles are unpadded and XOR-swizzled so ldmatrix and the cp.async writes are
// bank-conflict-free. All index math lives in tc_layout.cuh, which a host unit test simulates.
// Any M; K and N multiples of 8 (and 16-byte aligned A, B) use cp.async, other shapes fill the
// tiles with bounds-checked scalar loads. Not wgmma: that needs sm_90a (the harness compiles for
// the device's sm_XX) and TMA descriptors; this is the portable sm_80+ path.
//
// Launch (task.toml): grid = (ceil_div(N, 128), ceil_div(M, 128)); block = 64 * sizeof(T) threads
// (f32: 256, 16-bit: 128); dynamic shared = (4 - sizeof(T)) * 32768 bytes (f32: 0, 16-bit: 64 KiB).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "tc_layout.cuh"

namespace {

constexpr int kFM = 128;  // f32: rows of C per block
constexpr int kFN = 128;  // f32: columns of C per block

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
  __shared__ __align__(16) float As[2][kBKF][kFM + 4];  // transposed A tile; +4: conflict-free stores
  __shared__ __align__(16) float Bs[2][kBKF][kFN];
  const int tid = threadIdx.x;
  const int m0 = blockIdx.y * kFM, n0 = blockIdx.x * kFN;
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
// bf16 / f16: tensor cores (mma.sync m16n8k16), 4-stage cp.async pipeline, ldmatrix fragments
// ------------------------------------------------------------------------------------------------
template <typename T> struct Is16 { static constexpr bool value = false; };
template <> struct Is16<__nv_bfloat16> { static constexpr bool value = true; };
template <> struct Is16<__half> { static constexpr bool value = true; };
template <typename T> struct IsHalf { static constexpr bool value = false; };
template <> struct IsHalf<__half> { static constexpr bool value = true; };

__device__ __forceinline__ unsigned SmemAddr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// The ops tc_layout.cuh's loaders and fragment loader call, as real instructions.
struct DeviceCopy {
  unsigned short* smem;
  // 16-byte async copy; bytes = 0 zero-fills the destination without reading the source.
  __device__ __forceinline__ void chunk16(int dst, const unsigned short* src, int bytes) const {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SmemAddr(smem + dst)), "l"(src), "r"(bytes)
                 : "memory");
  }
  __device__ __forceinline__ void scalar(int dst, unsigned short v) const { smem[dst] = v; }
};

struct DeviceLd {
  const unsigned short* smem;
  template <class Addr>
  __device__ __forceinline__ void x4(unsigned (&r)[4], int base, int lane, const Addr& addr) const {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(SmemAddr(smem + base + addr(lane)))
                 : "memory");
  }
  template <class Addr>
  __device__ __forceinline__ void x4_trans(unsigned (&r)[4], int base, int lane, const Addr& addr) const {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(SmemAddr(smem + base + addr(lane)))
                 : "memory");
  }
};

__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void CpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// d += a (16 x 16, row) * b (16 x 8, col), f32 accumulators; bf16 or f16 inputs. Not volatile: a
// pure register operation, so the compiler may move the next k16 step's ldmatrix (volatile: they
// read shared memory) above these and overlap them.
template <typename T>
__device__ __forceinline__ void Mma(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
  if constexpr (IsHalf<T>::value) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%0, %1, %2, %3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
}

// f32 -> T bits, round to nearest even; the pair form puts `lo` in the low half (lower address).
template <typename T> __device__ __forceinline__ unsigned short Bits16(float v) {
  unsigned short r;
  if constexpr (IsHalf<T>::value) {
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(v));
  } else {
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(v));
  }
  return r;
}
template <typename T> __device__ __forceinline__ unsigned Bits16x2(float lo, float hi) {
  unsigned r;
  if constexpr (IsHalf<T>::value) {
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  } else {
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  }
  return r;
}

template <typename T>
__device__ __forceinline__ void MatmulTensorCore(const T* __restrict__ A_, const T* __restrict__ B_,
                                                 T* __restrict__ C_, int M, int N, int K) {
  using namespace dsx_tc;
  extern __shared__ __align__(128) unsigned char dsx_tc_smem[];  // kStages x (A tile, B tile)
  unsigned short* smem = reinterpret_cast<unsigned short*>(dsx_tc_smem);
  const unsigned short* A = reinterpret_cast<const unsigned short*>(A_);
  const unsigned short* B = reinterpret_cast<const unsigned short*>(B_);
  unsigned short* C = reinterpret_cast<unsigned short*>(C_);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int warp_m = WarpM(warp), warp_n = WarpN(warp);
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  const bool vec = K % 8 == 0 && N % 8 == 0 && AlignedTo(A, 16) && AlignedTo(B, 16);
  DeviceCopy cp{smem};
  const DeviceLd ld{smem};

  auto load = [&](int kt) {  // k-tile kt into stage kt % kStages
    const int base = (kt % kStages) * kStageElems;
    LoadTileA(cp, base, A, M, K, m0, kt * kBK, tid, vec);
    LoadTileB(cp, base + kAElems, B, K, N, kt * kBK, n0, tid, vec);
  };

  float acc[kMI][kNI][4];
#pragma unroll
  for (int mi = 0; mi < kMI; ++mi) {
#pragma unroll
    for (int ni = 0; ni < kNI; ++ni) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mi][ni][e] = 0.f;
    }
  }

  const int ktiles = (K + kBK - 1) / kBK;
  // Prologue: k-tiles 0 .. kStages-2 in flight, one commit group each (empty past the end, so the
  // group count, and with it the wait below, stays uniform).
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < ktiles) load(s);
    CpAsyncCommit();
  }
  for (int kt = 0; kt < ktiles; ++kt) {
    // Groups committed so far: kStages - 1 + kt; tile kt's is done when at most kStages - 2 remain.
    CpAsyncWait<kStages - 2>();
    // Tile kt is visible to every thread, and every warp has finished computing on tile kt - 1,
    // whose stage ((kt - 1) % kStages == (kt + kStages - 1) % kStages) is refilled next.
    __syncthreads();
    if (kt + kStages - 1 < ktiles) load(kt + kStages - 1);
    CpAsyncCommit();
    const int a_base = (kt % kStages) * kStageElems, b_base = a_base + kAElems;
#pragma unroll
    for (int kk = 0; kk < kBK; kk += 16) {
      unsigned a[kMI][4], b[kNI][2];
      LoadFragments(ld, a_base, b_base, warp_m, warp_n, lane, kk, a, b);
#pragma unroll
      for (int mi = 0; mi < kMI; ++mi) {
#pragma unroll
        for (int ni = 0; ni < kNI; ++ni) Mma<T>(acc[mi][ni], a[mi], b[ni]);
      }
    }
  }
  CpAsyncWait<0>();  // only empty groups can be left; nothing may be in flight when the block exits

  // Epilogue: pairs (c0, c1) / (c2, c3) are adjacent columns: one 4-byte store when N is even.
  const bool pairs = N % 2 == 0 && AlignedTo(C, 4);
#pragma unroll
  for (int mi = 0; mi < kMI; ++mi) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = m0 + AccRow(warp_m, mi, lane, 2 * h);
      if (row >= M) continue;
#pragma unroll
      for (int ni = 0; ni < kNI; ++ni) {
        const int col = n0 + AccCol(warp_n, ni, lane, 0);
        const float v0 = acc[mi][ni][2 * h], v1 = acc[mi][ni][2 * h + 1];
        unsigned short* dst = C + static_cast<long long>(row) * N + col;
        if (pairs && col + 1 < N) {
          *reinterpret_cast<unsigned*>(dst) = Bits16x2<T>(v0, v1);
        } else {
          if (col < N) dst[0] = Bits16<T>(v0);
          if (col + 1 < N) dst[1] = Bits16<T>(v1);
        }
      }
    }
  }
}

}  // namespace

// Launch: grid = (ceil_div(N, 128), ceil_div(M, 128)). f32: 256 threads, ~137 registers for its 64
// accumulators + fragments + prefetch (capping at 128 spilled on sm_90): 1 block per SM. 16-bit:
// 128 threads, <= 255 registers (128 accumulators + 32 fragment registers), 2 blocks per SM.
template <typename T>
__global__ void __launch_bounds__(IsF32<T>::value ? 256 : 128, IsF32<T>::value ? 1 : 2)
    matmul(const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ C, int M, int N, int K) {
  static_assert(IsF32<T>::value || Is16<T>::value, "matmul: T is float, __nv_bfloat16 or __half");
  if constexpr (IsF32<T>::value) {
    MatmulF32(A, B, C, M, N, K);
  } else {
    MatmulTensorCore(A, B, C, M, N, K);
  }
}
