// matmul reference: C[m, n] = sum_k A[m, k] * B[k, n]; A is M x K, B is K x N, C is M x N, all
// row-major. One thread per output element, a plain K loop with f32 accumulation (bf16 and f16
// inputs are widened to f32; the result is rounded to T once). Simple and slow on purpose.
// Launch: grid = (ceil_div(N, 16), ceil_div(M, 16)), block = (16, 16).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

__device__ __forceinline__ float ref_to_float(float v) { return v; }
__device__ __forceinline__ float ref_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float ref_to_float(__half v) { return __half2float(v); }
template <typename T> __device__ __forceinline__ T ref_from_float(float v);
template <> __device__ __forceinline__ float ref_from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 ref_from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <> __device__ __forceinline__ __half ref_from_float<__half>(float v) { return __float2half_rn(v); }

template <typename T>
__global__ void matmul_ref(const T* A, const T* B, T* C, int M, int N, int K) {
  const int n = blockIdx.x * blockDim.x + threadIdx.x;
  const int m = blockIdx.y * blockDim.y + threadIdx.y;
  if (m >= M || n >= N) return;
  float acc = 0.f;
  for (int k = 0; k < K; ++k) {
    acc = fmaf(ref_to_float(A[static_cast<long long>(m) * K + k]), ref_to_float(B[static_cast<long long>(k) * N + n]), acc);
  }
  C[static_cast<long long>(m) * N + n] = ref_from_float<T>(acc);
}
