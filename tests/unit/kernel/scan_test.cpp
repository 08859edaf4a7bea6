#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>

#include "core/fs.hpp"
#include "kernel/scan.hpp"
#include "test_paths.hpp"

using namespace dsx::kernel;

namespace {
std::vector<std::string> Rules(const std::string& src) {
  std::vector<std::string> r;
  for (const auto& f : ScanSource(src))
    if (f.severity == "reject") r.push_back(f.rule);
  return r;
}
}  // namespace

TEST_CASE("each rule fires on its trick") {
  CHECK(Rules("__global__ void k(){ long long t = clock64(); }") == std::vector<std::string>{"clock"});
  CHECK(Rules("__global__ void k(){ asm volatile(\"mov.u64 %0, %%globaltimer;\" : \"=l\"(t)); }") ==
        std::vector<std::string>{"clock"});
  CHECK(Rules("__global__ void k(){ child<<<1,1>>>(); }") == std::vector<std::string>{"side-work"});
  CHECK(Rules("__global__ void k(){ cudaStream_t s; }") == std::vector<std::string>{"side-work"});
  CHECK(Rules("__device__ float cache[1024];\n__global__ void k(){}") == std::vector<std::string>{"device-global"});
  CHECK(Rules("__device__ unsigned int calls = 0;") == std::vector<std::string>{"device-global"});
  CHECK(Rules("__managed__ int x;") == std::vector<std::string>{"device-global"});
  CHECK(Rules("__global__ void k(){ static float memo[16]; }") == std::vector<std::string>{"static-local"});
}

TEST_CASE("honest constructs are not flagged") {
  CHECK(Rules("__device__ __forceinline__ float f(float x) { return x; }").empty());
  CHECK(Rules("__constant__ float w[16];").empty());
  CHECK(Rules("__device__ __constant__ float w[16];").empty());
  CHECK(Rules("struct V { static constexpr int kN = 4; static __device__ void Load(const float* p); };").empty());
  CHECK(Rules("__global__ void k(float* y){ __shared__ float s[32]; int i = static_cast<int>(y[0]); }").empty());
  CHECK(Rules("// clock64() in a comment\n/* cudaStreamCreate */ __global__ void k(){}").empty());
  CHECK(Rules("__global__ void k(){ const char* s = \"clock64()\"; }").empty());
}

TEST_CASE("findings carry line numbers") {
  auto f = ScanSource("\n\n__device__ int n;\n");
  REQUIRE(f.size() == 1);
  CHECK(f[0].line == 3);
  CHECK(f[0].message.find("'n'") != std::string::npos);
}

TEST_CASE("cheats with a visible trick are rejected; shipped kernels are clean") {
  namespace fs = std::filesystem;
  const fs::path src = DSX_SOURCE_DIR;
  int cheats = 0;
  for (const auto& e : fs::directory_iterator(src / "tests/kernels/cheats")) {
    if (e.path().extension() != ".cu") continue;
    auto text = dsx::fs::ReadFile(e.path());
    REQUIRE(text.ok());
    const bool static_trick = text->find("// expect: static scan") != std::string::npos ||
                              text->find("// expect: side-work") != std::string::npos ||
                              text->find("// expect: clock") != std::string::npos;
    CHECK_MESSAGE(HasReject(ScanSource(*text)) == static_trick, e.path().string());
    ++cheats;
  }
  CHECK(cheats >= 8);
  for (const auto& task : fs::directory_iterator(src / "kernels"))
    for (const auto& e : fs::directory_iterator(task.path()))
      if (e.path().extension() == ".cu") {
        auto text = dsx::fs::ReadFile(e.path());
        REQUIRE(text.ok());
        auto f = ScanSource(*text);
        const std::string what = e.path().string() + ": " + (f.empty() ? std::string() : f[0].message);
        CHECK_MESSAGE(!HasReject(f), what);
      }
}

TEST_CASE("a local header's tricks are found too (state kept in a header beside the kernel)") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("dsx-scan-headers-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "sub");
  REQUIRE(dsx::fs::AtomicWriteFile(dir / "state.cuh", "#pragma once\n#include \"sub/more.cuh\"\n__device__ int calls;\n",
                                   false)
              .ok());
  REQUIRE(dsx::fs::AtomicWriteFile(dir / "sub" / "more.cuh", "__device__ long t() { return clock64(); }\n", false).ok());
  const std::string src =
      "// a candidate\n#include <cuda_bf16.h>\n#include \"state.cuh\"\n#include \"missing.cuh\"\n"
      "extern \"C\" __global__ void k(float* y) { y[0] = calls++; }\n";
  CHECK_FALSE(HasReject(ScanSource(src)));  // the kernel itself looks clean
  auto f = ScanSourceAndHeaders(src, dir);
  REQUIRE(HasReject(f));
  bool global = false, clock = false;
  for (const auto& x : f) {
    if (x.rule == "device-global" && x.message.find("in state.cuh: ") == 0) global = true;
    if (x.rule == "clock" && x.message.find("in sub/more.cuh: ") == 0) clock = true;
  }
  CHECK(global);
  CHECK(clock);
  // A header that includes itself (or a cycle) is scanned once.
  REQUIRE(dsx::fs::AtomicWriteFile(dir / "loop.cuh", "#include \"loop.cuh\"\n", false).ok());
  CHECK(ScanSourceAndHeaders("#include \"loop.cuh\"\n", dir).empty());
  std::filesystem::remove_all(dir);
}
