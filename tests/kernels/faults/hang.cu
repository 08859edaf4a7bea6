// task: vector_add
// fault: never finishes: the parent must kill the child at --child-timeout and report it
// expect: timed out
#include <cuda_bf16.h>  // the harness instantiates T = __nv_bfloat16 too
template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  volatile long long spin = n;
  while (spin > 0) spin = spin + 1;
}
// dsx-launch: grid = [1], block = [32]
