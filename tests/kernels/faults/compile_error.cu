// task: vector_add
// fault: does not compile: the diagnostics come back as file:line: error: ...
// expect: undefined_symbol
#include <cuda_bf16.h>
template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i] + undefined_symbol;
}
