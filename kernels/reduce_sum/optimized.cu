// reduce_sum optimized: out[0] = sum(x[0..n)), one launch, every output element written.
//
// Design (why not atomics): the harness pre-fills outputs with NaN, so atomicAdd into `out` would
// need a separate zeroing launch. Instead one launch does both levels:
//   1. A fixed grid (512 blocks x 256 threads) streams x with 16-byte loads, 4 independent float4
//      loads in flight per thread (64 B), 8 float accumulators per thread, then a warp-shuffle +
//      shared-memory block reduction in double. __launch_bounds__(256, 6) keeps it at 40
//      registers, so 6 blocks fit per SM and the 512 blocks are one wave on any GPU with >= 86
//      SMs (H100 SXM 132: 792 slots, H100 PCIe 114, A100 108): a second, partial wave of
//      equal-work blocks would nearly double the time.
//   2. Each block writes its partial (as double) to `partials` (scratch), fences, and takes a ticket
//      from `counter` (scratch, zero-filled by the harness before every call). The block that draws
//      the last ticket adds all partials in index order (deterministic) and writes out[0], then
//      resets the counter.
// Accuracy: each float accumulator sums ~n/(512*256*8) values (128 at n = 2^27); everything past
// the thread level is in double. Any n (scalar tail for n % 4) and any alignment (scalar path).
// A grid larger than the partials buffer (1024) writes NaN rather than out of bounds.

namespace {

constexpr unsigned kMaxBlocks = 1024;  // length of `partials` in task.toml

__device__ __forceinline__ double WarpSumD(double v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Sum over the block; every thread gets the result. `sh` holds one double per warp.
__device__ __forceinline__ double BlockSum(double v, double* sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warps = (blockDim.x + 31) >> 5;
  v = WarpSumD(v);
  __syncthreads();  // `sh` may still be read by a previous call
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  return WarpSumD(lane < warps ? sh[lane] : 0.0);
}

}  // namespace

extern "C" __global__ void __launch_bounds__(256, 6)
    reduce_sum(const float* __restrict__ x, double* __restrict__ partials,
               unsigned int* __restrict__ counter, float* __restrict__ out, long long n) {
  __shared__ double sh[32];
  __shared__ bool is_last;
  if (gridDim.x > kMaxBlocks) {  // misconfigured launch: fail verification, never write past partials
    if (blockIdx.x == 0 && threadIdx.x == 0) out[0] = __int_as_float(0x7fc00000);
    return;
  }
  const long long tid = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  const bool aligned = (reinterpret_cast<unsigned long long>(x) & 15) == 0;
  const long long nvec = aligned ? n / 4 : 0;
  const float4* x4 = reinterpret_cast<const float4*>(x);

  float4 acc[2];
#pragma unroll
  for (int u = 0; u < 2; ++u) acc[u] = make_float4(0.f, 0.f, 0.f, 0.f);
  long long i = tid;
  for (; i + 3 * stride < nvec; i += 4 * stride) {
    float4 v[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) v[u] = x4[i + u * stride];  // 4 loads in flight before any add
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      acc[u & 1].x += v[u].x; acc[u & 1].y += v[u].y; acc[u & 1].z += v[u].z; acc[u & 1].w += v[u].w;
    }
  }
  for (; i < nvec; i += stride) {
    const float4 v = x4[i];
    acc[0].x += v.x; acc[0].y += v.y; acc[0].z += v.z; acc[0].w += v.w;
  }
  float s = 0.f;
  for (long long j = nvec * 4 + tid; j < n; j += stride) s += x[j];  // tail, or unaligned x
#pragma unroll
  for (int u = 0; u < 2; ++u) s += (acc[u].x + acc[u].y) + (acc[u].z + acc[u].w);
  const double block_total = BlockSum(static_cast<double>(s), sh);  // double from here on
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = block_total;
    __threadfence();  // publish the partial before taking a ticket
    is_last = atomicAdd(counter, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!is_last) return;
  __threadfence();  // see every other block's partial
  double t = 0.0;
  for (unsigned b = threadIdx.x; b < gridDim.x; b += blockDim.x) t += __ldcg(&partials[b]);
  t = BlockSum(t, sh);
  if (threadIdx.x == 0) {
    out[0] = static_cast<float>(t);
    *counter = 0u;  // leave the scratch as the harness gave it
  }
}
