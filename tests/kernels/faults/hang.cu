// task: vector_add
// fault: never finishes: the parent must kill the child at --child-timeout and report it
// expect: timed out
#include <cuda_bf16.h>  // the harness instantiates T = __nv_bfloat16 too
template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  // Spin on an input word nothing writes. The read goes through volatile, so it is a real load
  // every iteration (a spin on a local, even a volatile one, was optimised away on the H100 run).
  volatile const unsigned* word = reinterpret_cast<volatile const unsigned*>(a);
  const unsigned first = word[0];
  while (word[0] == first) {
  }
}
// dsx-launch: grid = [1], block = [32]
