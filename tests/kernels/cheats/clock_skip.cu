// task: vector_add
// trick: behave differently depending on time (skip work in some windows)
// expect: clock
// expect-dynamic: NaN/Inf
#include <cuda_bf16.h>

template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if ((clock64() & 1023) < 8 && blockIdx.x > 0) return;
  if (i < n) c[i] = (T)((float)a[i] + (float)b[i]);
}
// dsx-launch: grid = ["ceil_div(N, 256)"], block = [256]
