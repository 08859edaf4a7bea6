// task: vector_add
// trick: result reuse: compute once, stash the output in device memory, replay it on later calls
// expect: static scan: line
// expect-dynamic: wrong result
#include <cuda_bf16.h>

__device__ int primed;
__device__ float stash[1 << 21];

template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if (primed && i < (1 << 21)) {
    c[i] = (T)stash[i];
    return;
  }
  float v = (float)a[i] + (float)b[i];
  c[i] = (T)v;
  if (i < (1 << 21)) stash[i] = v;
  primed = 1;
}
// dsx-launch: grid = ["ceil_div(N, 256)"], block = [256]
