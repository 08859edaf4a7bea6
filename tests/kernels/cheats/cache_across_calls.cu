// task: vector_add
// trick: memoise across calls: remember the problem size of the last call and, when it repeats,
// replay the saved result instead of computing (tensara PR #238: compute once, replay later)
// expect: static scan: line
// expect-dynamic: wrong result
#include <cuda_bf16.h>

__device__ long long last_n;
__device__ float memo[1 << 21];

template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if (last_n == n && i < (1 << 21)) {
    c[i] = (T)memo[i];
    return;
  }
  float v = (float)a[i] + (float)b[i];
  c[i] = (T)v;
  if (i < (1 << 21)) memo[i] = v;
  if (i == n - 1) last_n = n;
}
// dsx-launch: grid = ["ceil_div(N, 256)"], block = [256]
