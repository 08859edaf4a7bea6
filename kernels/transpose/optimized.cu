// transpose optimized: out[c, r] = in[r, c], ROWS x COLS f32 -> COLS x ROWS.
//
// Shared-memory tiles so that both the read and the write are coalesced: a block of 32 x 8 threads
// moves one 64 x 64 tile. Each thread loads 16 elements (rows ty + 8j, columns tx and tx + 32 of the
// tile: every warp instruction reads 128 contiguous bytes) into a [64][65] tile, all 16 loads issued
// before the barrier (64 B in flight per thread), then writes 16 elements of the transposed tile
// (again 128 contiguous bytes per warp instruction). The +1 padding makes both the row-wise store and
// the column-wise load of the tile hit 32 different banks (row stride 65 words = 1 mod 32).
// Why 64 x 64 and 4-byte accesses rather than 32 x 32 or float4: 64 x 64 doubles the bytes in flight
// per thread and makes each tile touch 256-byte runs on both sides (fewer DRAM row switches), and
// 4-byte accesses keep the padded tile conflict-free; every warp access is still a full 128-byte line.
// Interior tiles skip the bounds checks; edge tiles check every element, so any ROWS x COLS works.

namespace {
constexpr int kTile = 64;
constexpr int kRowsPerPass = 8;  // blockDim.y
}  // namespace

extern "C" __global__ void __launch_bounds__(256) transpose(const float* __restrict__ in,
                                                           float* __restrict__ out, int rows, int cols) {
  __shared__ float tile[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;  // block (32, 8)
  const int c0 = blockIdx.x * kTile, r0 = blockIdx.y * kTile;
  const bool interior = r0 + kTile <= rows && c0 + kTile <= cols;

  if (interior) {
    const float* src = in + static_cast<long long>(r0 + ty) * cols + c0 + tx;
#pragma unroll
    for (int j = 0; j < kTile / kRowsPerPass; ++j) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        tile[ty + kRowsPerPass * j][tx + 32 * h] = src[static_cast<long long>(kRowsPerPass * j) * cols + 32 * h];
      }
    }
  } else {
#pragma unroll
    for (int j = 0; j < kTile / kRowsPerPass; ++j) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = r0 + ty + kRowsPerPass * j, c = c0 + tx + 32 * h;
        if (r < rows && c < cols) tile[ty + kRowsPerPass * j][tx + 32 * h] = in[static_cast<long long>(r) * cols + c];
      }
    }
  }
  __syncthreads();
  // Output row c0 + i holds input column c0 + i; its columns r0 .. r0 + 63 are the tile's column i.
  if (interior) {
    float* dst = out + static_cast<long long>(c0 + ty) * rows + r0 + tx;
#pragma unroll
    for (int j = 0; j < kTile / kRowsPerPass; ++j) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        dst[static_cast<long long>(kRowsPerPass * j) * rows + 32 * h] = tile[tx + 32 * h][ty + kRowsPerPass * j];
      }
    }
  } else {
#pragma unroll
    for (int j = 0; j < kTile / kRowsPerPass; ++j) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int oc = r0 + tx + 32 * h, orow = c0 + ty + kRowsPerPass * j;  // out[orow, oc]
        if (orow < cols && oc < rows) out[static_cast<long long>(orow) * rows + oc] = tile[tx + 32 * h][ty + kRowsPerPass * j];
      }
    }
  }
}
