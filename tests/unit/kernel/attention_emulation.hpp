// A CPU emulation of the CUDA subset that kernels/attention/*.cu use, so their index math, masking
// and online softmax can be tested without a GPU (attention_emulation_test.cpp). A block runs as
// one fiber (ucontext) per CUDA thread on the calling thread, switched only at barriers, so a run is
// deterministic: __syncthreads waits for the block, warp collectives (shuffles, ldmatrix, mma.sync)
// exchange operands through a per-warp slot table between two warp barriers. The fragment layouts
// are written from the PTX ISA (ldmatrix, mma.m16n8k16 .bf16), not from the kernel. cp.async copies
// are deferred until the thread's cp.async.wait_group, so a missing wait reads the 0xFF (NaN) fill
// of shared memory. Not emulated: timing, bank conflicts, and races only real hardware exposes.
// Checked once against hardware: the bf16 matmul kernel as verified on an H100 (ba755f9) gives the
// exact product through this emulator (relative error 1.7e-3, bf16 output rounding), and swapping
// two A fragment registers here breaks it (1.0).
#pragma once

#include <math.h>
#include <ucontext.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

struct __nv_bfloat16 {
  unsigned short x;
};
struct uint4 {
  unsigned x, y, z, w;
};

namespace emu {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

struct Copy {  // one deferred cp.async
  void* dst;
  const void* src;
  int bytes;
};

struct Barrier;

struct Fiber {
  ucontext_t ctx{};
  const Barrier* waiting_on = nullptr;  // not runnable until its generation moves past wait_gen
  unsigned wait_gen = 0;
  std::unique_ptr<char[]> stack;
  Dim3 tid;
  bool done = false;
  std::vector<Copy> open_group;                 // cp.async since the last commit
  std::vector<std::vector<Copy>> committed;     // committed groups, oldest first
};

struct Barrier {
  unsigned count = 0, arrived = 0, generation = 0;
};

struct Warp {
  Barrier bar;
  // Two tables used alternately: a lane can be at most one exchange ahead of another (the next
  // barrier needs everyone), so the table a slow lane still reads is never the one being written.
  std::array<std::array<std::array<uint64_t, 8>, 32>, 2> slot{};
  std::array<unsigned, 32> phase{};
};

inline Dim3 thread_idx, block_idx, block_dim;  // of the running fiber
inline unsigned dyn_smem_bytes = 0;
inline Fiber* current = nullptr;
inline ucontext_t scheduler_ctx;
inline Barrier block_bar;
inline std::vector<Warp> warps;
inline const std::function<void()>* kernel_fn = nullptr;

inline void Yield() { swapcontext(&current->ctx, &scheduler_ctx); }

inline void Wait(Barrier& b) {
  const unsigned gen = b.generation;
  if (++b.arrived == b.count) {
    b.arrived = 0;
    ++b.generation;
    return;
  }
  current->waiting_on = &b;  // the scheduler skips this fiber until the barrier opens
  current->wait_gen = gen;
  Yield();
  current->waiting_on = nullptr;
}

inline int Lane() { return static_cast<int>(thread_idx.x % 32); }
inline Warp& MyWarp() { return warps[thread_idx.x / 32]; }

// Publishes `n` words of this lane, waits for the warp, runs `use` on everyone's words.
template <class F>
void Exchange(const uint64_t* mine, int n, F&& use) {
  Warp& w = MyWarp();
  auto& table = w.slot[w.phase[Lane()]++ & 1];
  for (int i = 0; i < n; ++i) table[Lane()][i] = mine[i];
  Wait(w.bar);
  use(table);
}

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline unsigned short Bf16Round(float f) {  // round to nearest even, as cvt.rn.bf16.f32
  uint32_t u = FloatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<unsigned short>(u >> 16);
}
inline float Bf16ToFloat(unsigned short b) { return BitsFloat(static_cast<uint32_t>(b) << 16); }

inline void Perform(const std::vector<Copy>& g) {
  for (const Copy& c : g) {
    std::memset(c.dst, 0, 16);
    if (c.bytes > 0) std::memcpy(c.dst, c.src, static_cast<size_t>(c.bytes));
  }
}

[[noreturn]] inline void Trap(const char* why) {
  std::fprintf(stderr, "emulated __trap(): %s (thread %u, block %u)\n", why, thread_idx.x, block_idx.x);
  std::abort();
}

inline void FiberMain() {
  (*kernel_fn)();
  current->done = true;
  // returning resumes uc_link: the scheduler
}

// Runs kernel() for every thread of every block of a 1-D launch; shared memory is filled with
// 0xFF bytes (bf16 NaN) before each block, so reading something never written shows up.
inline void Launch(unsigned grid, unsigned block, unsigned dyn_smem, unsigned char* smem, size_t smem_capacity,
                   const std::function<void()>& kernel) {
  if (dyn_smem > smem_capacity) Trap("dynamic shared memory larger than the emulator's buffer");
  constexpr size_t kStack = 256 * 1024;
  std::vector<Fiber> fibers(block);
  for (auto& f : fibers) f.stack.reset(new char[kStack]);
  block_dim = Dim3{block, 1, 1};
  dyn_smem_bytes = dyn_smem;
  kernel_fn = &kernel;
  for (unsigned b = 0; b < grid; ++b) {
    std::memset(smem, 0xFF, smem_capacity);
    block_bar = Barrier{block, 0, 0};
    warps.assign((block + 31) / 32, Warp{});
    for (auto& w : warps) w.bar.count = 32;
    block_idx = Dim3{b, 1, 1};
    for (unsigned t = 0; t < block; ++t) {
      Fiber& f = fibers[t];
      f.tid = Dim3{t, 1, 1};
      f.done = false;
      f.open_group.clear();
      f.committed.clear();
      getcontext(&f.ctx);
      f.ctx.uc_stack.ss_sp = f.stack.get();
      f.ctx.uc_stack.ss_size = kStack;
      f.ctx.uc_link = &scheduler_ctx;
      makecontext(&f.ctx, FiberMain, 0);
    }
    for (bool left = true; left;) {  // round robin until every thread of the block has returned
      left = false;
      for (auto& f : fibers) {
        if (f.done) continue;
        left = true;
        if (f.waiting_on && f.waiting_on->generation == f.wait_gen) continue;
        current = &f;
        thread_idx = f.tid;
        swapcontext(&scheduler_ctx, &f.ctx);
      }
    }
  }
  current = nullptr;
}

}  // namespace emu

// ---- the CUDA names the kernels use ----
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__
#define __align__(n)
#define __launch_bounds__(...)
#define threadIdx emu::thread_idx
#define blockIdx emu::block_idx
#define blockDim emu::block_dim

inline void __syncthreads() { emu::Wait(emu::block_bar); }
inline void __syncwarp() { emu::Wait(emu::MyWarp().bar); }
inline void __trap() { emu::Trap("__trap"); }
inline int min(int a, int b) { return a < b ? a : b; }
inline float __int_as_float(unsigned u) { return emu::BitsFloat(u); }
inline float __bfloat162float(__nv_bfloat16 v) { return emu::Bf16ToFloat(v.x); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16{emu::Bf16Round(f)}; }

inline float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
  if (mask != 0xffffffffu) emu::Trap("partial shuffle mask");
  uint64_t mine = emu::FloatBits(v);
  float out = 0;
  emu::Exchange(&mine, 1, [&](const auto& slot) {
    out = emu::BitsFloat(static_cast<uint32_t>(slot[emu::Lane() ^ lane_mask][0]));
  });
  return out;
}

// ---- the PTX primitives of optimized.cu (its #ifndef DSX_HOST_EMULATION block) ----
namespace {

inline void CpAsync16(void* smem, const void* gmem, int src_bytes) {
  if ((reinterpret_cast<uintptr_t>(smem) | reinterpret_cast<uintptr_t>(gmem)) & 15) emu::Trap("misaligned cp.async");
  emu::current->open_group.push_back({smem, gmem, src_bytes});
}
inline void CpAsyncCommit() {
  emu::current->committed.push_back(std::move(emu::current->open_group));
  emu::current->open_group.clear();
}
inline void CpAsyncWaitOne() {  // cp.async.wait_group 1: all but the newest committed group
  auto& groups = emu::current->committed;
  while (groups.size() > 1) {
    emu::Perform(groups.front());
    groups.erase(groups.begin());
  }
}
inline void CpAsyncWaitAll() {  // cp.async.wait_all: commits the open group and waits for all
  CpAsyncCommit();
  for (const auto& g : emu::current->committed) emu::Perform(g);
  emu::current->committed.clear();
}

// ldmatrix.m8n8.x4.b16: lanes 8i..8i+7 give the row addresses of matrix i; lane t receives, from
// each matrix, row t/4 elements 2(t%4), 2(t%4)+1 (.trans: rows 2(t%4), 2(t%4)+1 of column t/4).
inline void LdmatrixX4(unsigned (&r)[4], const void* p, bool trans) {
  uint64_t mine = reinterpret_cast<uintptr_t>(p);
  if (mine & 15) emu::Trap("misaligned ldmatrix row");
  emu::Exchange(&mine, 1, [&](const auto& slot) {
    const int t = emu::Lane();
    for (int i = 0; i < 4; ++i) {
      unsigned short lo, hi;
      if (!trans) {
        const auto* row = reinterpret_cast<const unsigned short*>(slot[8 * i + t / 4][0]);
        lo = row[2 * (t % 4)];
        hi = row[2 * (t % 4) + 1];
      } else {
        lo = reinterpret_cast<const unsigned short*>(slot[8 * i + 2 * (t % 4)][0])[t / 4];
        hi = reinterpret_cast<const unsigned short*>(slot[8 * i + 2 * (t % 4) + 1][0])[t / 4];
      }
      r[i] = static_cast<unsigned>(lo) | (static_cast<unsigned>(hi) << 16);
    }
  });
}
inline void Ldmatrix4(unsigned (&r)[4], const void* p) { LdmatrixX4(r, p, false); }
inline void Ldmatrix4Trans(unsigned (&r)[4], const void* p) { LdmatrixX4(r, p, true); }

// mma.sync.m16n8k16.row.col.f32.bf16.bf16.f32 with groupID g = lane/4, t = lane%4:
// A a0 (g, 2t..2t+1), a1 (g+8, 2t..), a2 (g, 2t+8..), a3 (g+8, 2t+8..); B b0 (k 2t..2t+1, n g),
// b1 (k 2t+8.., n g); C/D c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1).
inline void MmaBf16(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
  uint64_t mine[6] = {a[0], a[1], a[2], a[3], b0, b1};
  float A[16][16], B[16][8];
  emu::Exchange(mine, 6, [&](const auto& slot) {
    for (int lane = 0; lane < 32; ++lane) {
      const int g = lane / 4, t = lane % 4;
      auto half = [&](int reg, int h) {
        return emu::Bf16ToFloat(static_cast<unsigned short>(static_cast<uint32_t>(slot[lane][reg]) >> (16 * h)));
      };
      for (int h = 0; h < 2; ++h) {
        A[g][2 * t + h] = half(0, h);
        A[g + 8][2 * t + h] = half(1, h);
        A[g][2 * t + 8 + h] = half(2, h);
        A[g + 8][2 * t + 8 + h] = half(3, h);
        B[2 * t + h][g] = half(4, h);
        B[2 * t + 8 + h][g] = half(5, h);
      }
    }
  });
  const int g = emu::Lane() / 4, t = emu::Lane() % 4;
  const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
  for (int e = 0; e < 4; ++e) {
    float acc = d[e];
    for (int k = 0; k < 16; ++k) acc = fmaf(A[rows[e]][k], B[k][cols[e]], acc);
    d[e] = acc;
  }
}
inline unsigned Bf16x2Bits(float lo, float hi) {
  return static_cast<unsigned>(emu::Bf16Round(lo)) | (static_cast<unsigned>(emu::Bf16Round(hi)) << 16);
}
inline unsigned DynamicSmemBytes() { return emu::dyn_smem_bytes; }

}  // namespace
