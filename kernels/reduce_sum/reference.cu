// reduce_sum reference: out[0] = sum(x[0..n)), accumulated in double.
// Each block sums a grid-strided slice into partials[blockIdx.x] (double; scalar loads, a plain
// shared-memory tree); the last block to finish (ticket from `counter`, zero-filled scratch) adds
// the partials in index order on one thread and writes the only output. Every output element is
// written by the kernel, so the harness's NaN pre-fill catches a missing write.
// Launch: grid <= 1024 blocks (the partials buffer), block = 256 (the tree assumes it).

extern "C" __global__ void reduce_sum_ref(const float* x, double* partials, unsigned int* counter,
                                          float* out, long long n) {
  __shared__ double tree[256];
  __shared__ bool is_last;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  double acc = 0.0;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    acc += static_cast<double>(x[i]);
  }
  tree[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) tree[threadIdx.x] += tree[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = tree[0];
    __threadfence();  // publish the partial before taking a ticket
    is_last = atomicAdd(counter, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (is_last && threadIdx.x == 0) {
    __threadfence();
    double total = 0.0;
    for (unsigned b = 0; b < gridDim.x; ++b) total += __ldcg(&partials[b]);
    out[0] = static_cast<float>(total);
    *counter = 0u;
  }
}
