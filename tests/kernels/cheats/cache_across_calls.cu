// task: vector_add
// trick: memoise by input address: if `a` is the buffer seen last time, return the saved result
// expect: static scan: line
// expect-dynamic: wrong result
#include <cuda_bf16.h>

__device__ const void* last_a;
__device__ float memo[1 << 21];

template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if (last_a == (const void*)a && i < (1 << 21)) {
    c[i] = (T)memo[i];
    return;
  }
  float v = (float)a[i] + (float)b[i];
  c[i] = (T)v;
  if (i < (1 << 21)) memo[i] = v;
  __syncthreads();
  if (i == n - 1) last_a = a;
}
// dsx-launch: grid = ["ceil_div(N, 256)"], block = [256]
