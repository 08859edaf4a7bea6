// task: vector_add
// trick: none: an honest grid-stride kernel; must pass every guard
// expect: ok
#include <cuda_bf16.h>

template <typename T>
__global__ void vector_add(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ c, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    c[i] = (T)((float)a[i] + (float)b[i]);
}
// dsx-launch: grid = ["min(ceil_div(N, 256), 4096)"], block = [256]
