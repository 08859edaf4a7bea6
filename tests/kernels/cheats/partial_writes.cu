// task: vector_add
// trick: compute only the first half of the output (half the bytes: twice the bandwidth)
// expect: NaN/Inf
#include <cuda_bf16.h>

template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n / 2) c[i] = (T)((float)a[i] + (float)b[i]);
}
// dsx-launch: grid = ["ceil_div(N, 256)"], block = [256]
