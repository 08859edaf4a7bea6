// Index math of the tensor-core path of optimized.cu (bf16/f16, mma.sync.m16n8k16), in one place
// so that a host unit test (tests/unit/kernel/matmul_tc_layout_test.cpp) runs the SAME code: it
// loads tiles through these functions into a simulated shared memory, simulates ldmatrix and mma
// per the PTX ISA fragment layouts, stores through AccRow/AccCol, and checks the result against a
// plain product for edge shapes (M, N, K not multiples of the tile), plus bank-conflict freedom of
// the swizzle. Without a GPU in the loop, that is the evidence the index math is right.
//
// Everything is a function of (thread, lane, warp, tile coordinates); the instructions themselves
// come in through small "ops" objects: the device passes cp.async / ldmatrix wrappers, the test
// passes simulators. NVRTC finds this header next to optimized.cu (the source folder is an include
// path; its contents are part of the compile-cache key).
//
// Block tile 128 x 128 x 32, 128 threads = 4 warps in a 2 x 2 grid, each warp 64 x 64 of C
// (4 x 8 mma tiles of 16 x 8: 128 f32 accumulators per thread). kStages-deep cp.async pipeline.
#pragma once

#if defined(__CUDACC__)
#define DSX_TC_HD __host__ __device__ __forceinline__
#else
#define DSX_TC_HD inline
#endif
// Fully unrolled on the device (the fragment and accumulator arrays must stay in registers).
#if defined(__CUDACC__)
#define DSX_TC_UNROLL _Pragma("unroll")
#else
#define DSX_TC_UNROLL
#endif

namespace dsx_tc {

constexpr int kBM = 128, kBN = 128, kBK = 32;  // block tile
constexpr int kThreads = 128;                  // 4 warps
constexpr int kWM = 64, kWN = 64;              // warp tile
constexpr int kMI = kWM / 16, kNI = kWN / 8;   // mma tiles per warp: 4 x 8
constexpr int kStages = 4;                     // cp.async pipeline depth
constexpr int kChunk = 8;                      // 16-bit elements per 16-byte chunk
constexpr int kAChunks = kBK / kChunk;         // chunks per A row (4: a row is 64 B)
constexpr int kBChunks = kBN / kChunk;         // chunks per B row (16: a row is 256 B)
constexpr int kAElems = kBM * kBK;             // one stage of A, elements
constexpr int kBElems = kBK * kBN;             // one stage of B
constexpr int kStageElems = kAElems + kBElems;
constexpr int kSharedBytes = kStages * kStageElems * 2;       // 64 KiB: dynamic shared memory
constexpr int kLoadIters = kBM * kAChunks / kThreads;         // 16-byte chunks per thread per operand
static_assert(kBM * kAChunks == kBK * kBChunks, "A and B tiles have the same number of chunks");
static_assert(kBM * kAChunks % kThreads == 0, "chunks divide evenly over the threads");

struct RowChunk {
  int row;
  int chunk;  // 16-byte chunk within the row (logical, before the swizzle)
};

// Swizzles: the physical chunk is the logical one XOR a few row bits, so that the 8 row addresses
// of one ldmatrix phase (same logical chunk, 8 consecutive rows) land in 8 different 16-byte bank
// groups of a 128-byte line, as do the 8 chunks one phase of cp.async writes. A row of A is 64 B
// (two rows share a 128-byte line), so the XOR uses row bits 1-2; a row of B is 256 B, bits 0-2.
DSX_TC_HD int SwizzleA(int row, int chunk) { return row * kBK + ((chunk ^ ((row >> 1) & 3)) * kChunk); }
DSX_TC_HD int SwizzleB(int row, int chunk) { return row * kBN + ((chunk ^ (row & 7)) * kChunk); }

// Which chunk of the A (128 x 32) / B (32 x 128) tile load slot `id` (= tid + it * kThreads)
// copies: consecutive threads take consecutive chunks of a row (coalesced global reads).
DSX_TC_HD RowChunk LoadSlotA(int id) { return {id / kAChunks, id % kAChunks}; }
DSX_TC_HD RowChunk LoadSlotB(int id) { return {id / kBChunks, id % kBChunks}; }

// Warp position in the 2 x 2 warp grid.
DSX_TC_HD int WarpM(int warp) { return warp >> 1; }
DSX_TC_HD int WarpN(int warp) { return warp & 1; }

// ldmatrix.x4 row addresses. A (16 x 16 at rows warp_m*64 + mi*16, k = kk): lanes 0-15 give rows
// 0-15 at k chunk kk/8, lanes 16-31 the same rows at kk/8 + 1, so the four 8 x 8 matrices are
// (rows 0-7, k 0-7), (8-15, 0-7), (0-7, 8-15), (8-15, 8-15) = the mma A registers a0..a3.
DSX_TC_HD RowChunk LdmatrixA(int lane, int warp_m, int mi, int kk) {
  return {warp_m * kWM + mi * 16 + (lane & 15), kk / kChunk + (lane >> 4)};
}
// B with .trans (16 k-rows x 16 columns at n = warp_n*64 + nj*16): lanes 0-15 give k rows 0-15 at
// column chunk n/8, lanes 16-31 the same rows at n/8 + 1. Matrices: (k 0-7, n 0-7), (k 8-15, n 0-7),
// (k 0-7, n 8-15), (k 8-15, n 8-15) = b0, b1 of n-tile 2*nj, then b0, b1 of n-tile 2*nj + 1.
DSX_TC_HD RowChunk LdmatrixB(int lane, int warp_n, int nj, int kk) {
  return {kk + (lane & 15), (warp_n * kWN + nj * 16) / kChunk + (lane >> 4)};
}

// Accumulator element e (0..3) of mma tile (mi, ni) held by `lane`, as (row, column) in the block
// tile: c0, c1 at (lane/4, 2*(lane%4) + {0,1}), c2, c3 eight rows below.
DSX_TC_HD int AccRow(int warp_m, int mi, int lane, int e) { return warp_m * kWM + mi * 16 + (lane >> 2) + (e >> 1) * 8; }
DSX_TC_HD int AccCol(int warp_n, int ni, int lane, int e) { return warp_n * kWN + ni * 8 + (lane & 3) * 2 + (e & 1); }

// Global -> shared copy of one k-tile. Copy provides
//   chunk16(smem_offset, src, bytes): 16 bytes (bytes == 0: zero-fill, src is not read)
//   scalar(smem_offset, value):       one element
// vec: K and N are multiples of 8 and A, B 16-byte aligned, so every chunk is wholly inside or
// wholly outside the matrix; otherwise every element is bounds-checked (scalar path).
template <class Copy>
DSX_TC_HD void LoadTileA(Copy& cp, int smem_a, const unsigned short* A, int M, int K, int m0, int k0, int tid, bool vec) {
  DSX_TC_UNROLL for (int it = 0; it < kLoadIters; ++it) {
    const RowChunk rc = LoadSlotA(tid + it * kThreads);
    const int gm = m0 + rc.row, gk = k0 + rc.chunk * kChunk;
    const int dst = smem_a + SwizzleA(rc.row, rc.chunk);
    if (vec) {
      const bool ok = gm < M && gk < K;
      cp.chunk16(dst, ok ? A + static_cast<long long>(gm) * K + gk : A, ok ? 16 : 0);
    } else {
      DSX_TC_UNROLL for (int e = 0; e < kChunk; ++e)
        cp.scalar(dst + e, (gm < M && gk + e < K) ? A[static_cast<long long>(gm) * K + gk + e] : 0);
    }
  }
}
template <class Copy>
DSX_TC_HD void LoadTileB(Copy& cp, int smem_b, const unsigned short* B, int K, int N, int k0, int n0, int tid, bool vec) {
  DSX_TC_UNROLL for (int it = 0; it < kLoadIters; ++it) {
    const RowChunk rc = LoadSlotB(tid + it * kThreads);
    const int gk = k0 + rc.row, gn = n0 + rc.chunk * kChunk;
    const int dst = smem_b + SwizzleB(rc.row, rc.chunk);
    if (vec) {
      const bool ok = gk < K && gn < N;
      cp.chunk16(dst, ok ? B + static_cast<long long>(gk) * N + gn : B, ok ? 16 : 0);
    } else {
      DSX_TC_UNROLL for (int e = 0; e < kChunk; ++e)
        cp.scalar(dst + e, (gk < K && gn + e < N) ? B[static_cast<long long>(gk) * N + gn + e] : 0);
    }
  }
}

// Offsets (in elements, from the start of the A / B stage) that lane l hands to ldmatrix.
struct AddrA {
  int warp_m, mi, kk;
  DSX_TC_HD int operator()(int l) const {
    const RowChunk rc = LdmatrixA(l, warp_m, mi, kk);
    return SwizzleA(rc.row, rc.chunk);
  }
};
struct AddrB {
  int warp_n, nj, kk;
  DSX_TC_HD int operator()(int l) const {
    const RowChunk rc = LdmatrixB(l, warp_n, nj, kk);
    return SwizzleB(rc.row, rc.chunk);
  }
};

// The fragments of one k16 step for this lane. Ld provides x4(regs, stage_base, lane, addr) and
// x4_trans(...): ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16, where addr(l) is the element
// offset lane l supplies (the device uses its own lane's; a simulator reads the others').
template <class Ld>
DSX_TC_HD void LoadFragments(const Ld& ld, int a_base, int b_base, int warp_m, int warp_n, int lane, int kk,
                             unsigned (&a)[kMI][4], unsigned (&b)[kNI][2]) {
  DSX_TC_UNROLL for (int mi = 0; mi < kMI; ++mi) ld.x4(a[mi], a_base, lane, AddrA{warp_m, mi, kk});
  DSX_TC_UNROLL for (int nj = 0; nj < kNI / 2; ++nj) {
    unsigned r[4];
    ld.x4_trans(r, b_base, lane, AddrB{warp_n, nj, kk});
    b[2 * nj][0] = r[0];
    b[2 * nj][1] = r[1];
    b[2 * nj + 1][0] = r[2];
    b[2 * nj + 1][1] = r[3];
  }
}

}  // namespace dsx_tc
