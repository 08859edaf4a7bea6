// softmax reference: y[r, :] = exp(x[r, :] - max) / sum(exp(x[r, :] - max)), one row per block.
// Three passes over the row with scalar loads: max (float), sum of expf (double, shared-memory tree),
// then the write. Launch: grid = ROWS, block = 256 (the tree assumes exactly 256 threads).
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
__global__ void softmax_ref(const T* x, T* y, int rows, int cols) {
  __shared__ double tree[256];
  const int row = blockIdx.x;
  if (row >= rows) return;
  const T* xr = x + static_cast<long long>(row) * cols;
  T* yr = y + static_cast<long long>(row) * cols;
  double m = -__longlong_as_double(0x7ff0000000000000LL);  // -inf
  for (int c = threadIdx.x; c < cols; c += blockDim.x) m = fmax(m, static_cast<double>(ref_to_float(xr[c])));
  __shared__ double mx[256];  // max tree, same shape as ref_block_sum
  mx[threadIdx.x] = m;
  __syncthreads();
  for (unsigned half = 128; half > 0; half /= 2) {
    if (threadIdx.x < half) mx[threadIdx.x] = fmax(mx[threadIdx.x], mx[threadIdx.x + half]);
    __syncthreads();
  }
  const float rmax = static_cast<float>(mx[0]);
  double s = 0.0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) s += static_cast<double>(expf(ref_to_float(xr[c]) - rmax));
  const double total = ref_block_sum(s, tree);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    yr[c] = ref_from_float<T>(static_cast<float>(static_cast<double>(expf(ref_to_float(xr[c]) - rmax)) / total));
  }
}
