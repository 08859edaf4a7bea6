// transpose reference: out[c, r] = in[r, c] for a ROWS x COLS f32 matrix (out is COLS x ROWS).
// One thread per element: reads coalesced along a row of `in`, writes strided. Simple, not fast.
// Launch: grid = (ceil_div(COLS, 32), ceil_div(ROWS, 8)), block = (32, 8).

extern "C" __global__ void transpose_ref(const float* in, float* out, int rows, int cols) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  const int r = blockIdx.y * blockDim.y + threadIdx.y;
  if (r < rows && c < cols) {
    out[static_cast<long long>(c) * rows + r] = in[static_cast<long long>(r) * cols + c];
  }
}
