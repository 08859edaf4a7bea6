#include "kernel/bench/harness_kernels.hpp"

#include <algorithm>

namespace dsx::kernel::bench {

const char* HarnessKernelSource() {
  return R"CUDA(
#include <cuda_bf16.h>
#include <cuda_fp16.h>

__device__ __forceinline__ unsigned long long dsx_mix64(unsigned long long x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// dist: 0 normal(0,1), 1 uniform(-1,1), 2 positive (0.5..1.5). Integers: 1..100. Never exactly 0
// for uniform/positive (the +0.5 offset keeps u away from 0.5 and 0).
__device__ __forceinline__ float dsx_value(unsigned long long seed, long long i, int dist) {
  unsigned long long h = dsx_mix64(seed ^ dsx_mix64((unsigned long long)i * 0xD1B54A32D192ED03ull));
  float u1 = ((float)(h >> 40) + 0.5f) * (1.0f / 16777216.0f);
  float u2 = ((float)((h >> 16) & 0xFFFFFFull) + 0.5f) * (1.0f / 16777216.0f);
  if (dist == 0) return __fsqrt_rn(-2.0f * __logf(u1)) * cospif(2.0f * u2);
  if (dist == 1) return 2.0f * u1 - 1.0f;
  return 0.5f + u1;
}
__device__ __forceinline__ long long dsx_ivalue(unsigned long long seed, long long i) {
  return 1 + (long long)(dsx_mix64(seed ^ dsx_mix64((unsigned long long)i * 0xD1B54A32D192ED03ull)) % 100ull);
}

template <typename T> struct Conv;
template <> struct Conv<float> {
  static __device__ float make(unsigned long long s, long long i, int d) { return dsx_value(s, i, d); }
  static __device__ double to_d(float v) { return (double)v; }
  static __device__ unsigned long long bits(float v) { return __float_as_uint(v); }
};
template <> struct Conv<double> {
  static __device__ double make(unsigned long long s, long long i, int d) { return (double)dsx_value(s, i, d); }
  static __device__ double to_d(double v) { return v; }
  static __device__ unsigned long long bits(double v) { return (unsigned long long)__double_as_longlong(v); }
};
template <> struct Conv<__nv_bfloat16> {
  static __device__ __nv_bfloat16 make(unsigned long long s, long long i, int d) { return __float2bfloat16(dsx_value(s, i, d)); }
  static __device__ double to_d(__nv_bfloat16 v) { return (double)__bfloat162float(v); }
  static __device__ unsigned long long bits(__nv_bfloat16 v) { return __bfloat16_as_ushort(v); }
};
template <> struct Conv<__half> {
  static __device__ __half make(unsigned long long s, long long i, int d) { return __float2half(dsx_value(s, i, d)); }
  static __device__ double to_d(__half v) { return (double)__half2float(v); }
  static __device__ unsigned long long bits(__half v) { return __half_as_ushort(v); }
};
template <> struct Conv<int> {
  static __device__ int make(unsigned long long s, long long i, int) { return (int)dsx_ivalue(s, i); }
  static __device__ double to_d(int v) { return (double)v; }
  static __device__ unsigned long long bits(int v) { return (unsigned int)v; }
};
template <> struct Conv<long long> {
  static __device__ long long make(unsigned long long s, long long i, int) { return dsx_ivalue(s, i); }
  static __device__ double to_d(long long v) { return (double)v; }
  static __device__ unsigned long long bits(long long v) { return (unsigned long long)v; }
};

template <typename T>
__global__ void dsx_fill(T* p, long long n, unsigned long long seed, int dist) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    p[i] = Conv<T>::make(seed, i, dist);
}

template <typename T>
__global__ void dsx_check(const T* p, long long n, unsigned long long seed, int dist, unsigned long long* bad) {
  unsigned long long mine = 0;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    mine += Conv<T>::bits(p[i]) != Conv<T>::bits(Conv<T>::make(seed, i, dist));
  if (mine) atomicAdd(bad, mine);
}

__device__ __forceinline__ double dsx_warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

template <typename T>
__global__ void dsx_compare(const T* out, const T* ref, long long n, double* acc) {
  double e2 = 0, r2 = 0, bad_o = 0, bad_r = 0;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    double o = Conv<T>::to_d(out[i]), r = Conv<T>::to_d(ref[i]);
    bool fo = isfinite(o), fr = isfinite(r);
    if (!fr) { bad_r += 1; continue; }
    if (!fo) { bad_o += 1; continue; }
    double d = o - r;
    e2 += d * d;
    r2 += r * r;
  }
  __shared__ double s[4][32];
  e2 = dsx_warp_sum(e2); r2 = dsx_warp_sum(r2); bad_o = dsx_warp_sum(bad_o); bad_r = dsx_warp_sum(bad_r);
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) { s[0][warp] = e2; s[1][warp] = r2; s[2][warp] = bad_o; s[3][warp] = bad_r; }
  __syncthreads();
  if (warp == 0) {
    int nw = (blockDim.x + 31) >> 5;
    for (int k = 0; k < 4; ++k) {
      double v = lane < nw ? s[k][lane] : 0.0;
      v = dsx_warp_sum(v);
      if (lane == 0 && v != 0.0) atomicAdd(&acc[k], v);
    }
  }
}

extern "C" __global__ void dsx_copy16(uint4* __restrict__ dst, const uint4* __restrict__ src, long long n16) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n16; i += (long long)gridDim.x * blockDim.x)
    dst[i] = src[i];
}

// C[m,n] = A[m,k] B[k,n], row-major f32; 64x64 tiles, 256 threads, 4x4 outputs per thread.
extern "C" __global__ void __launch_bounds__(256) dsx_sgemm_tiled(const float* A, const float* B, float* C, int M, int N, int K) {
  __shared__ float As[16][64 + 4];
  __shared__ float Bs[16][64];
  int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  int row0 = blockIdx.y * 64, col0 = blockIdx.x * 64;
  float acc[4][4] = {};
  for (int k0 = 0; k0 < K; k0 += 16) {
    for (int l = threadIdx.x; l < 64 * 16; l += 256) {
      int r = l / 16, c = l % 16;
      int gr = row0 + r, gc = k0 + c;
      As[c][r] = (gr < M && gc < K) ? A[(long long)gr * K + gc] : 0.f;
      int br = k0 + l / 64, bc = col0 + l % 64;
      Bs[l / 64][l % 64] = (br < K && bc < N) ? B[(long long)br * N + bc] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < 16; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) { a[i] = As[kk][ty * 4 + i]; b[i] = Bs[kk][tx * 4 + i]; }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      int r = row0 + ty * 4 + i, c = col0 + tx * 4 + j;
      if (r < M && c < N) C[(long long)r * N + c] = acc[i][j];
    }
}
)CUDA";
}

namespace {
const char* kTypes[6] = {"float", "double", "__nv_bfloat16", "__half", "int", "long long"};  // DType order
}

CompileOptions HarnessCompileOptions(const std::string& arch, const std::string& cache_dir) {
  CompileOptions o;
  o.arch = arch;
  o.cache_dir = cache_dir;
  // No FMA contraction: dsx_fill and dsx_check must derive bit-identical values from a seed.
  o.extra = {"--fmad=false"};
  for (const char* t : kTypes) {
    o.name_exprs.push_back(std::string("dsx_fill<") + t + ">");
    o.name_exprs.push_back(std::string("dsx_check<") + t + ">");
    o.name_exprs.push_back(std::string("dsx_compare<") + t + ">");
  }
  return o;
}

}  // namespace dsx::kernel::bench

#if defined(DSX_HAVE_CUDA_H)

namespace dsx::kernel::bench {

Result<std::unique_ptr<HarnessKernels>> HarnessKernels::Create(const std::string& arch, const std::string& cache_dir) {
  CompileOptions o = HarnessCompileOptions(arch, cache_dir);
  auto m = CompileSource(HarnessKernelSource(), "dsx_harness.cu", o);
  if (!m.ok()) return m.status().Wrap("cannot compile the harness kernels");
  if (!m->success) {
    std::string first = m->diagnostics.empty() ? m->log : m->diagnostics[0].ToString();
    return Status::Failed("cannot compile the harness kernels: " + first);
  }
  std::unique_ptr<HarnessKernels> h(new HarnessKernels());
  h->compiled_ = std::move(*m);
  h->module_ = std::make_unique<cuda::Module>(h->compiled_.image);
  for (int i = 0; i < 6; ++i) {
    h->fill_[i] = h->module_->Function(h->compiled_.Symbol(std::string("dsx_fill<") + kTypes[i] + ">"));
    h->check_[i] = h->module_->Function(h->compiled_.Symbol(std::string("dsx_check<") + kTypes[i] + ">"));
    h->compare_[i] = h->module_->Function(h->compiled_.Symbol(std::string("dsx_compare<") + kTypes[i] + ">"));
  }
  h->copy16_ = h->module_->Function("dsx_copy16");
  h->sgemm_ = h->module_->Function("dsx_sgemm_tiled");
  return h;
}

namespace {
unsigned GridFor(int64_t n, unsigned block) {
  int64_t g = (n + block - 1) / block;
  return static_cast<unsigned>(std::clamp<int64_t>(g, 1, 65536));  // grid-stride beyond that
}
void Launch(CUfunction f, CUstream s, unsigned grid, unsigned block, void** args) {
  DSX_CU(cuda::Api().cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, s, args, nullptr));
}
}  // namespace

void HarnessKernels::Fill(CUstream s, DType t, CUdeviceptr p, int64_t n, uint64_t seed, int dist) const {
  long long nn = n;
  unsigned long long sd = seed;
  void* args[] = {&p, &nn, &sd, &dist};
  Launch(fill_[DTypeIndex(t)], s, GridFor(n, 256), 256, args);
}

void HarnessKernels::Check(CUstream s, DType t, CUdeviceptr p, int64_t n, uint64_t seed, int dist,
                           CUdeviceptr bad) const {
  long long nn = n;
  unsigned long long sd = seed;
  void* args[] = {&p, &nn, &sd, &dist, &bad};
  Launch(check_[DTypeIndex(t)], s, GridFor(n, 256), 256, args);
}

void HarnessKernels::Compare(CUstream s, DType t, CUdeviceptr out, CUdeviceptr ref, int64_t n, CUdeviceptr acc) const {
  long long nn = n;
  void* args[] = {&out, &ref, &nn, &acc};
  Launch(compare_[DTypeIndex(t)], s, std::min<unsigned>(GridFor(n, 256), 4096), 256, args);
}

void HarnessKernels::Copy16(CUstream s, CUdeviceptr dst, CUdeviceptr src, int64_t bytes) const {
  long long n16 = bytes / 16;
  void* args[] = {&dst, &src, &n16};
  Launch(copy16_, s, GridFor(n16, 256), 256, args);
}

void HarnessKernels::Sgemm(CUstream s, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c, int m, int n, int k) const {
  void* args[] = {&a, &b, &c, &m, &n, &k};
  DSX_CU(cuda::Api().cuLaunchKernel(sgemm_, (n + 63) / 64, (m + 63) / 64, 1, 256, 1, 1, 0, s, args, nullptr));
}

}  // namespace dsx::kernel::bench

#endif
