// layernorm reference: y[r, c] = (x[r, c] - mean) / sqrt(var + eps) * w[c] + b[c] over each row
// (biased variance, like torch.nn.functional.layer_norm). One row per block, three passes with
// scalar loads: mean and then var = mean((x - mean)^2) in double (shared-memory tree), then the write.
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
__global__ void layernorm_ref(const T* x, const T* w, const T* b, T* y, int rows, int cols, float eps) {
  __shared__ double tree[256];
  const int row = blockIdx.x;
  if (row >= rows) return;
  const T* xr = x + static_cast<long long>(row) * cols;
  T* yr = y + static_cast<long long>(row) * cols;
  double s = 0.0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) s += ref_to_float(xr[c]);
  const double mean = ref_block_sum(s, tree) / cols;
  double ss = 0.0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const double d = ref_to_float(xr[c]) - mean;
    ss += d * d;
  }
  const double rstd = 1.0 / sqrt(ref_block_sum(ss, tree) / cols + static_cast<double>(eps));
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const double v = (ref_to_float(xr[c]) - mean) * rstd * ref_to_float(w[c]) + ref_to_float(b[c]);
    yr[c] = ref_from_float<T>(static_cast<float>(v));
  }
}
