// task: vector_add
// trick: zero the inputs so the reference, run afterwards on the same buffers, also returns zeros
// expect: modified its inputs
#include <cuda_bf16.h>

template <typename T>
__global__ void vector_add(T* a, T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  a[i] = (T)0.0f;
  b[i] = (T)0.0f;
  c[i] = (T)0.0f;
}
// dsx-launch: grid = ["ceil_div(N, 256)"], block = [256]
