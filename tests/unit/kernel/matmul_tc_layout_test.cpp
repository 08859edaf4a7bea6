// The tensor-core matmul's index math (kernels/matmul/tc_layout.cuh, used by optimized.cu for bf16
// and f16) run on the host: tiles are loaded through the kernel's own loaders into a simulated
// shared memory, fragments come from the kernel's own LoadFragments with ldmatrix simulated per the
// PTX ISA ("Warp-level matrix load instruction: ldmatrix"), mma.m16n8k16 is simulated per the ISA's
// fragment tables for .bf16/.f16 (A row-major 16x16, B column 16x8, f32 C/D), and the result is
// stored through AccRow/AccCol. The product must equal a plain triple loop exactly (small integer
// inputs), for shapes with edge tiles on every side and for both the cp.async and the scalar path.
// No GPU runs here: this is what shows the layout is right before a device ever sees it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "../../../kernels/matmul/tc_layout.cuh"

using namespace dsx_tc;

namespace {

using u16 = uint16_t;

int16_t Val(u16 bits) { return static_cast<int16_t>(bits); }

// Shared memory of one block: kStages stages of (A tile, B tile), 16-bit elements. `writes` counts
// stores per element for the current k-tile, to prove every element is written exactly once.
struct Smem {
  std::vector<u16> data = std::vector<u16>(kStages * kStageElems, 0xBEEF);
  std::vector<int> writes = std::vector<int>(kStages * kStageElems, 0);
};

struct HostCopy {
  Smem* sm;
  const u16* lo;  // the operand's base, for the alignment check
  void chunk16(int dst, const u16* src, int bytes) {
    REQUIRE(dst % kChunk == 0);  // cp.async 16: both addresses 16-byte aligned
    REQUIRE((src - lo) % kChunk == 0);
    REQUIRE((bytes == 16 || bytes == 0));
    for (int e = 0; e < kChunk; ++e) {
      sm->data[dst + e] = bytes ? src[e] : 0;
      sm->writes[dst + e]++;
    }
  }
  void scalar(int dst, u16 v) {
    sm->data[dst] = v;
    sm->writes[dst]++;
  }
};

// ldmatrix.x4: matrix i's row j (8 contiguous 16-bit elements) comes from the address lane 8i+j
// gives. Without .trans lane t receives row t/4, elements 2(t%4), 2(t%4)+1 of each matrix (register
// i: matrix i, first element in the low half); with .trans it receives the transposed matrix's row
// t/4: elements (2(t%4), t/4) and (2(t%4)+1, t/4).
struct HostLd {
  const Smem* sm;
  template <class Addr>
  void x4(unsigned (&r)[4], int base, int lane, const Addr& addr) const {
    for (int i = 0; i < 4; ++i) {
      const int off = base + addr(8 * i + lane / 4);
      REQUIRE(off % kChunk == 0);  // ldmatrix rows are 16-byte aligned
      r[i] = sm->data[off + 2 * (lane % 4)] | (unsigned{sm->data[off + 2 * (lane % 4) + 1]} << 16);
    }
  }
  template <class Addr>
  void x4_trans(unsigned (&r)[4], int base, int lane, const Addr& addr) const {
    for (int i = 0; i < 4; ++i) {
      const int j = 2 * (lane % 4);
      const int off0 = base + addr(8 * i + j), off1 = base + addr(8 * i + j + 1);
      REQUIRE(off0 % kChunk == 0);
      REQUIRE(off1 % kChunk == 0);
      r[i] = sm->data[off0 + lane / 4] | (unsigned{sm->data[off1 + lane / 4]} << 16);
    }
  }
};

u16 Lo(unsigned r) { return static_cast<u16>(r & 0xffff); }
u16 Hi(unsigned r) { return static_cast<u16>(r >> 16); }

// mma.sync.m16n8k16.row.col, per lane l (group g = l/4, t = l%4):
//   A: a0,a1 = A[g][2t..2t+1]  a2,a3 = A[g+8][2t..]  a4,a5 = A[g][2t+8..]  a6,a7 = A[g+8][2t+8..]
//      (registers 0..3 hold the pairs (a0,a1), (a2,a3), (a4,a5), (a6,a7))
//   B: b0,b1 = B[2t..2t+1][g]  b2,b3 = B[2t+8..2t+9][g]
//   C/D: c0,c1 = D[g][2t..2t+1]  c2,c3 = D[g+8][2t..2t+1]
void SimMma(long long (&d)[32][4], const unsigned (&a)[32][4], const unsigned (&b)[32][2]) {
  int A[16][16], B[16][8];
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, t = l % 4;
    const int rows[4] = {g, g + 8, g, g + 8}, cols[4] = {2 * t, 2 * t, 2 * t + 8, 2 * t + 8};
    for (int r = 0; r < 4; ++r) {
      A[rows[r]][cols[r]] = Val(Lo(a[l][r]));
      A[rows[r]][cols[r] + 1] = Val(Hi(a[l][r]));
    }
    for (int r = 0; r < 2; ++r) {
      B[2 * t + 8 * r][g] = Val(Lo(b[l][r]));
      B[2 * t + 8 * r + 1][g] = Val(Hi(b[l][r]));
    }
  }
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, t = l % 4;
    for (int e = 0; e < 4; ++e) {
      const int row = g + (e >> 1) * 8, col = 2 * t + (e & 1);
      long long s = 0;
      for (int k = 0; k < 16; ++k) s += static_cast<long long>(A[row][k]) * B[k][col];
      d[l][e] += s;
    }
  }
}

// Runs the kernel's tile loop for every block and returns C (as integers); `written` counts stores.
std::vector<long long> SimulateKernel(const std::vector<u16>& A, const std::vector<u16>& B, int M, int N, int K,
                                      bool vec, std::vector<int>& written) {
  std::vector<long long> C(static_cast<size_t>(M) * N, 0);
  written.assign(C.size(), 0);
  const int ktiles = (K + kBK - 1) / kBK;
  for (int m0 = 0; m0 < M; m0 += kBM) {
    for (int n0 = 0; n0 < N; n0 += kBN) {
      static long long acc[4][32][kMI][kNI][4];
      for (auto& w : acc)
        for (auto& l : w)
          for (auto& m : l)
            for (auto& n : m)
              for (auto& e : n) e = 0;
      Smem sm;
      for (int kt = 0; kt < ktiles; ++kt) {
        const int base = (kt % kStages) * kStageElems;
        std::fill(sm.writes.begin(), sm.writes.end(), 0);
        HostCopy ca{&sm, A.data()}, cb{&sm, B.data()};
        for (int tid = 0; tid < kThreads; ++tid) {
          LoadTileA(ca, base, A.data(), M, K, m0, kt * kBK, tid, vec);
          LoadTileB(cb, base + kAElems, B.data(), K, N, kt * kBK, n0, tid, vec);
        }
        for (int i = 0; i < kStageElems; ++i) REQUIRE(sm.writes[base + i] == 1);  // a bijection onto the stage
        const HostLd ld{&sm};
        for (int warp = 0; warp < kThreads / 32; ++warp) {
          for (int kk = 0; kk < kBK; kk += 16) {
            unsigned a[32][kMI][4], b[32][kNI][2];
            for (int lane = 0; lane < 32; ++lane)
              LoadFragments(ld, base, base + kAElems, WarpM(warp), WarpN(warp), lane, kk, a[lane], b[lane]);
            for (int mi = 0; mi < kMI; ++mi) {
              for (int ni = 0; ni < kNI; ++ni) {
                unsigned fa[32][4], fb[32][2];
                long long d[32][4];
                for (int l = 0; l < 32; ++l) {
                  for (int r = 0; r < 4; ++r) fa[l][r] = a[l][mi][r], d[l][r] = acc[warp][l][mi][ni][r];
                  for (int r = 0; r < 2; ++r) fb[l][r] = b[l][ni][r];
                }
                SimMma(d, fa, fb);
                for (int l = 0; l < 32; ++l)
                  for (int r = 0; r < 4; ++r) acc[warp][l][mi][ni][r] = d[l][r];
              }
            }
          }
        }
      }
      for (int warp = 0; warp < kThreads / 32; ++warp)
        for (int lane = 0; lane < 32; ++lane)
          for (int mi = 0; mi < kMI; ++mi)
            for (int ni = 0; ni < kNI; ++ni)
              for (int e = 0; e < 4; ++e) {
                const int row = m0 + AccRow(WarpM(warp), mi, lane, e), col = n0 + AccCol(WarpN(warp), ni, lane, e);
                if (row >= M || col >= N) continue;
                C[static_cast<size_t>(row) * N + col] = acc[warp][lane][mi][ni][e];
                written[static_cast<size_t>(row) * N + col]++;
              }
    }
  }
  return C;
}

void CheckShape(int M, int N, int K) {
  CAPTURE(M);
  CAPTURE(N);
  CAPTURE(K);
  std::vector<u16> A(static_cast<size_t>(M) * K), B(static_cast<size_t>(K) * N);
  unsigned s = 12345u + static_cast<unsigned>(M * 31 + N * 7 + K);
  auto next = [&] {
    s = s * 1664525u + 1013904223u;
    return static_cast<u16>(static_cast<int16_t>(static_cast<int>((s >> 24) % 9) - 4));  // -4..4
  };
  for (auto& v : A) v = next();
  for (auto& v : B) v = next();
  std::vector<long long> want(static_cast<size_t>(M) * N, 0);
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k)
      for (int n = 0; n < N; ++n)
        want[static_cast<size_t>(m) * N + n] += static_cast<long long>(Val(A[static_cast<size_t>(m) * K + k])) *
                                                Val(B[static_cast<size_t>(k) * N + n]);
  const bool vec_ok = K % 8 == 0 && N % 8 == 0;  // the kernel's condition (host buffers are aligned)
  for (bool vec : {false, true}) {
    if (vec && !vec_ok) continue;
    CAPTURE(vec);
    std::vector<int> written;
    auto got = SimulateKernel(A, B, M, N, K, vec, written);
    size_t bad = 0, unwritten = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      bad += got[i] != want[i];
      unwritten += written[i] != 1;
    }
    CHECK(bad == 0);
    CHECK(unwritten == 0);
  }
}

// 16-byte bank group (of the 8 in a 128-byte line) an element offset falls in.
int BankGroup(int elem) { return (elem * 2 / 16) % 8; }

}  // namespace

TEST_CASE("matmul tc layout: one exact tile, both load paths") { CheckShape(128, 128, 32); }

TEST_CASE("matmul tc layout: the small preset's shape (scalar path, edges everywhere)") { CheckShape(257, 129, 77); }

TEST_CASE("matmul tc layout: cp.async path with edge tiles in M, N and K") {
  CheckShape(200, 136, 72);  // K = 72: a partial last k-tile of 8; N = 136: a 8-column edge tile
  CheckShape(130, 264, 40);
}

TEST_CASE("matmul tc layout: degenerate shapes") {
  CheckShape(1, 8, 8);
  CheckShape(5, 3, 1);
  CheckShape(3, 5, 0);  // K = 0: C is all zeros, still every element written
  CheckShape(17, 9, 200);  // more k-tiles than pipeline stages
}

TEST_CASE("matmul tc layout: ldmatrix phases are bank-conflict-free") {
  // Each ldmatrix.x4 is served in four phases of 8 row addresses (lanes 8i..8i+7); 8 distinct
  // 16-byte bank groups mean one wavefront per phase. Stage bases are multiples of 128 bytes.
  static_assert(kStageElems * 2 % 128 == 0 && kAElems * 2 % 128 == 0, "stage bases 128-byte aligned");
  for (int w = 0; w < 2; ++w)
    for (int kk = 0; kk < kBK; kk += 16) {
      for (int mi = 0; mi < kMI; ++mi)
        for (int i = 0; i < 4; ++i) {
          std::set<int> groups;
          for (int l = 8 * i; l < 8 * i + 8; ++l) groups.insert(BankGroup(AddrA{w, mi, kk}(l)));
          CHECK(groups.size() == 8);
        }
      for (int nj = 0; nj < kNI / 2; ++nj)
        for (int i = 0; i < 4; ++i) {
          std::set<int> groups;
          for (int l = 8 * i; l < 8 * i + 8; ++l) groups.insert(BankGroup(AddrB{w, nj, kk}(l)));
          CHECK(groups.size() == 8);
        }
    }
}

TEST_CASE("matmul tc layout: cp.async stores are bank-conflict-free") {
  // 16-byte stores of a warp go in phases of 8 threads.
  for (int it = 0; it < kLoadIters; ++it)
    for (int t0 = 0; t0 < kThreads; t0 += 8) {
      std::set<int> ga, gb;
      for (int t = t0; t < t0 + 8; ++t) {
        const RowChunk a = LoadSlotA(t + it * kThreads), b = LoadSlotB(t + it * kThreads);
        ga.insert(BankGroup(SwizzleA(a.row, a.chunk)));
        gb.insert(BankGroup(SwizzleB(b.row, b.chunk)));
      }
      CHECK(ga.size() == 8);
      CHECK(gb.size() == 8);
    }
}

TEST_CASE("matmul tc layout: the budget the kernel and task.toml assume") {
  CHECK(kSharedBytes == 65536);  // task.toml: shared = "(4 - sizeof(T)) * 32768" for 16-bit T
  CHECK(kThreads == 128);        // task.toml: block = ["64 * sizeof(T)"]
  CHECK(kBM == 128);             // task.toml: grid = ceil_div(N, 128), ceil_div(M, 128)
  CHECK(kBN == 128);
}
