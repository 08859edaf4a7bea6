// task: vector_add
// fault: writes far outside its output: the child's context dies (illegal address); the harness
// must report "crashed" with the CUDA error and keep going
// expect: CUDA error
#include <cuda_bf16.h>  // the harness instantiates T = __nv_bfloat16 too
template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i + (1ll << 40)] = a[i];
}
// dsx-launch: grid = ["ceil_div(N, 256)"], block = [256]
