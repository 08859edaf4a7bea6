// rmsnorm reference: y[r, c] = x[r, c] / sqrt(mean(x[r, :]^2) + eps) * w[c], one row per block.
// Two passes with scalar loads: sum of squares in double (shared-memory tree), then the write.
// Launch: grid = ROWS, block = 256 (the tree assumes exactly 256 threads).
#include <cuda_bf16.h>

__device__ __forceinline__ float ref_to_float(float v) { return v; }
__device__ __forceinline__ float ref_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T ref_from_float(float v);
template <> __device__ __forceinline__ float ref_from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 ref_from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Sum of one double per thread over a block of exactly 256 threads (plain shared-memory tree);
// every thread gets the result.
__device__ double ref_block_sum(double v, double* tree) {
  __syncthreads();
  tree[threadIdx.x] = v;
  __syncthreads();
  for (unsigned half = 128; half > 0; half /= 2) {
    if (threadIdx.x < half) tree[threadIdx.x] += tree[threadIdx.x + half];
    __syncthreads();
  }
  return tree[0];
}

template <typename T>
__global__ void rmsnorm_ref(const T* x, const T* w, T* y, int rows, int cols, float eps) {
  __shared__ double tree[256];
  const int row = blockIdx.x;
  if (row >= rows) return;
  const T* xr = x + static_cast<long long>(row) * cols;
  T* yr = y + static_cast<long long>(row) * cols;
  double ss = 0.0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const double v = ref_to_float(xr[c]);
    ss += v * v;
  }
  const double rstd = 1.0 / sqrt(ref_block_sum(ss, tree) / cols + static_cast<double>(eps));
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    yr[c] = ref_from_float<T>(static_cast<float>(ref_to_float(xr[c]) * rstd * ref_to_float(w[c])));
  }
}
