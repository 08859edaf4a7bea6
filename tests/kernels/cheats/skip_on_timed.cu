// task: vector_add
// trick: count calls; after the first few (the correctness checks) do nothing, so timed calls are free
// expect: static scan: line
// expect-dynamic: timed call
#include <cuda_bf16.h>

__device__ unsigned long long calls;

template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  unsigned long long seen = *(volatile unsigned long long*)&calls;
  if (i == 0) atomicAdd(&calls, 1ull);
  if (seen >= 6) return;  // 5 verification trials, then the timing loop
  if (i < n) c[i] = (T)((float)a[i] + (float)b[i]);
}
// dsx-launch: grid = ["ceil_div(N, 256)"], block = [256]
