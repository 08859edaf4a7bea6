// task: vector_add
// trick: do the work on a side stream (device-side launch) so the timed stream looks idle
// expect: side-work
// expect-dynamic: compile failed
#include <cuda_bf16.h>

template <typename T>
__global__ void add_child(const T* a, const T* b, T* c, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = (T)((float)a[i] + (float)b[i]);
}

template <typename T>
__global__ void vector_add(const T* a, const T* b, T* c, long long n) {
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    add_child<T><<<(unsigned)((n + 255) / 256), 256, 0, s>>>(a, b, c, n);
  }
}
// dsx-launch: grid = [1], block = [32]
