// silu_mul reference: out[i] = silu(a[i]) * b[i], silu(x) = x / (1 + exp(-x)).
// One thread per element, scalar loads, math in float with the accurate expf.
// Ground truth on the GPU: simple on purpose, not fast.
#include <cuda_bf16.h>

__device__ __forceinline__ float ref_to_float(float v) { return v; }
__device__ __forceinline__ float ref_to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T ref_from_float(float v);
template <> __device__ __forceinline__ float ref_from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 ref_from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

template <typename T>
__global__ void silu_mul_ref(const T* a, const T* b, T* out, long long n) {
  long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < n) {
    float x = ref_to_float(a[i]);
    float g = ref_to_float(b[i]);
    out[i] = ref_from_float<T>(x / (1.0f + expf(-x)) * g);
  }
}
