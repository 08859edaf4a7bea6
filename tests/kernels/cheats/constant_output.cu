// task: vector_add
// trick: write a constant that matched one fixed test input (a = b = 0.5 gives c = 1)
// expect: wrong result
#include <cuda_bf16.h>

template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = (T)1.0f;
}
// dsx-launch: grid = ["ceil_div(N, 256)"], block = [256]
