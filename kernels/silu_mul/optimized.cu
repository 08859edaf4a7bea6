// silu_mul optimized: out = silu(a) * b (the SwiGLU gate), elementwise over n elements.
//
// Memory-bound: 3 * n * sizeof(T) bytes move, ~5 flops per element, so the only goal is to keep
// HBM busy. Each thread issues kUnroll 16-byte loads of a and of b (float4 or 8 x bf16) before it
// computes anything, so 4 * 16 B per thread are in flight; the grid is sized so every thread does
// one such step (grid = ceil_div(n, 256 * kUnroll * 16 / sizeof(T))), and the grid-stride loop keeps
// the kernel correct for any grid. Elements past the last whole vector (n % V) and buffers that are
// not 16-byte aligned take a scalar path, so any n is handled.
#include <cuda_bf16.h>

namespace {

// 16 bytes of T unpacked to floats and packed back (round-to-nearest-even for bf16).
template <typename T> struct Vec16;
template <> struct Vec16<float> {
  static constexpr int kN = 4;
  static __device__ __forceinline__ void Load(const float* p, float (&f)[4]) {
    float4 v = *reinterpret_cast<const float4*>(p);
    f[0] = v.x; f[1] = v.y; f[2] = v.z; f[3] = v.w;
  }
  static __device__ __forceinline__ void Store(float* p, const float (&f)[4]) {
    *reinterpret_cast<float4*>(p) = make_float4(f[0], f[1], f[2], f[3]);
  }
  static __device__ __forceinline__ float LoadOne(const float* p) { return *p; }
  static __device__ __forceinline__ void StoreOne(float* p, float v) { *p = v; }
};
template <> struct Vec16<__nv_bfloat16> {
  static constexpr int kN = 8;
  static __device__ __forceinline__ void Load(const __nv_bfloat16* p, float (&f)[8]) {
    uint4 v = *reinterpret_cast<const uint4*>(p);
    const unsigned w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // element 2i is the low half (little-endian)
      f[2 * i] = __uint_as_float(w[i] << 16);
      f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
  }
  // Two floats to a bf16 pair, round-to-nearest-even; `lo` lands in the low half (sm_80+).
  static __device__ __forceinline__ unsigned Pack(float lo, float hi) {
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
  }
  static __device__ __forceinline__ void Store(__nv_bfloat16* p, const float (&f)[8]) {
    uint4 v;
    v.x = Pack(f[0], f[1]); v.y = Pack(f[2], f[3]); v.z = Pack(f[4], f[5]); v.w = Pack(f[6], f[7]);
    *reinterpret_cast<uint4*>(p) = v;
  }
  // Scalar access through the raw bits (the header's conversions go through the stack on sm_80).
  static __device__ __forceinline__ float LoadOne(const __nv_bfloat16* p) {
    return __uint_as_float(static_cast<unsigned>(*reinterpret_cast<const unsigned short*>(p)) << 16);
  }
  static __device__ __forceinline__ void StoreOne(__nv_bfloat16* p, float v) {
    unsigned short r;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(v));
    *reinterpret_cast<unsigned short*>(p) = r;
  }
};

// __fdividef (2 ulp) instead of IEEE division: its slow-path call made ptxas spill on sm_80. For
// x < -87 the denominator overflows to inf and the result is 0, which is silu(x) to float precision.
__device__ __forceinline__ float SiluMul(float x, float g) { return __fdividef(x, 1.0f + __expf(-x)) * g; }

}  // namespace

template <typename T>
__global__ void __launch_bounds__(256) silu_mul(const T* __restrict__ a, const T* __restrict__ b,
                                                T* __restrict__ out, long long n) {
  using V = Vec16<T>;
  constexpr int kUnroll = 2;  // 16-byte vectors of each input per thread per step
  const long long tid = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  const bool aligned = ((reinterpret_cast<unsigned long long>(a) | reinterpret_cast<unsigned long long>(b) |
                         reinterpret_cast<unsigned long long>(out)) & 15) == 0;
  const long long nvec = aligned ? n / V::kN : 0;  // whole 16-byte vectors

  for (long long base = tid; base < nvec; base += kUnroll * stride) {
    float fa[kUnroll][V::kN], fb[kUnroll][V::kN];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {  // all loads first: 2 * kUnroll requests in flight
      const long long v = base + u * stride;
      if (v < nvec) {
        V::Load(a + v * V::kN, fa[u]);
        V::Load(b + v * V::kN, fb[u]);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const long long v = base + u * stride;
      if (v < nvec) {
#pragma unroll
        for (int i = 0; i < V::kN; ++i) fa[u][i] = SiluMul(fa[u][i], fb[u][i]);
        V::Store(out + v * V::kN, fa[u]);
      }
    }
  }
  // Tail (n % V elements), or everything when a buffer is not 16-byte aligned.
  for (long long i = nvec * V::kN + tid; i < n; i += stride) {
    V::StoreOne(out + i, SiluMul(V::LoadOne(a + i), V::LoadOne(b + i)));
  }
}
