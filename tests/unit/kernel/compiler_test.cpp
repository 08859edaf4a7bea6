#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "core/fs.hpp"
#include "kernel/bench/harness_kernels.hpp"
#include "kernel/compile/compiler.hpp"
#include "test_paths.hpp"

using namespace dsx::kernel;
namespace fs = std::filesystem;

TEST_CASE("NVRTC logs become file:line: severity: message") {
  auto d = ParseNvrtcLog(
      "k.cu(12): error: identifier \"x\" is undefined\n"
      "      y = x;\n"
      "          ^\n"
      "dir/k.cu(3): warning #177-D: variable \"z\" was declared but never referenced\n"
      "k.cu(1): catastrophic error: cannot open source file \"nope.h\"\n"
      "2 errors detected in the compilation of \"k.cu\".\n");
  REQUIRE(d.size() == 3);
  CHECK(d[0].ToString() == "k.cu:12: error: identifier \"x\" is undefined");
  CHECK(d[1].ToString() == "dir/k.cu:3: warning: variable \"z\" was declared but never referenced");
  CHECK(d[2].severity == "catastrophic error");
}

namespace {
struct Tmp {
  fs::path p = fs::temp_directory_path() / ("dsx-kcomp-" + std::to_string(::getpid()));
  Tmp() { fs::create_directories(p); }
  ~Tmp() { fs::remove_all(p); }
};
bool HaveNvrtc(const std::string& cache) {
  CompileOptions o;
  o.cache_dir = cache;
  auto m = CompileSource("__global__ void k(){}", "probe.cu", o);
  if (!m.ok()) MESSAGE("NVRTC unavailable, compile tests skipped: " << m.status().message());
  return m.ok();
}
}  // namespace

TEST_CASE("compile, cache hit, diagnostics, PTX for virtual archs (needs NVRTC)") {
  Tmp t;
  const std::string cache = (t.p / "cache").string();
  if (!HaveNvrtc(cache)) return;
  const std::string src = "#include <cuda_bf16.h>\ntemplate <typename T> __global__ void k(T* p) { p[0] = T(1.0f); }\n";
  CompileOptions o;
  o.cache_dir = cache;
  o.name_exprs = {"k<float>", "k<__nv_bfloat16>"};
  auto a = CompileSource(src, (t.p / "k.cu").string(), o);
  REQUIRE(a.ok());
  REQUIRE(a->success);
  CHECK(a->is_cubin);
  CHECK(!a->cache_hit);
  CHECK(a->lowered.at("k<float>").find("_Z") == 0);
  auto b = CompileSource(src, (t.p / "k.cu").string(), o);
  REQUIRE(b.ok());
  CHECK(b->cache_hit);
  CHECK(b->image == a->image);
  CHECK(b->lowered == a->lowered);
  // a different arch or option is a different entry
  o.arch = "compute_90";
  auto p = CompileSource(src, (t.p / "k.cu").string(), o);
  REQUIRE(p.ok());
  CHECK(!p->cache_hit);
  CHECK(!p->is_cubin);
  CHECK(p->image.find(".target sm_90") != std::string::npos);
  // errors come back as diagnostics, not as a failed call
  o.arch = "sm_80";
  auto e = CompileSource("__global__ void k(){ undefined_thing(); }\n", "bad.cu", o);
  REQUIRE(e.ok());
  CHECK(!e->success);
  REQUIRE(!e->diagnostics.empty());
  CHECK(e->diagnostics[0].file == "bad.cu");
  CHECK(e->diagnostics[0].line == 1);
  CHECK(e->diagnostics[0].severity == "error");
  // a bad arch is a usage error
  o.arch = "sm90";
  CHECK(CompileSource(src, "k.cu", o).status().code() == dsx::Code::kUsage);
}

TEST_CASE("a header change misses the cache (needs NVRTC)") {
  Tmp t;
  const std::string cache = (t.p / "cache").string();
  if (!HaveNvrtc(cache)) return;
  REQUIRE(dsx::fs::AtomicWriteFile(t.p / "h.cuh", "#define V 1\n", false).ok());
  const std::string src = "#include \"h.cuh\"\nextern \"C\" __global__ void k(int* p){ p[0] = V; }\n";
  CompileOptions o;
  o.cache_dir = cache;
  auto a = CompileSource(src, (t.p / "k.cu").string(), o);
  REQUIRE(a.ok());
  REQUIRE(a->success);
  REQUIRE(dsx::fs::AtomicWriteFile(t.p / "h.cuh", "#define V 2\n", false).ok());
  auto b = CompileSource(src, (t.p / "k.cu").string(), o);
  REQUIRE(b.ok());
  CHECK(!b->cache_hit);
  CHECK(b->key != a->key);

  // An #include below the first line (as every real kernel has one): the regex once matched
  // only at the very start of the file, so editing tc_layout.cuh hit the old CUBIN.
  const std::string src2 = "// a kernel\n#include <cuda_bf16.h>\n  #include \"h.cuh\"\n"
                           "extern \"C\" __global__ void k(int* p){ p[0] = V; }\n";
  auto c = CompileSource(src2, (t.p / "k.cu").string(), o);
  REQUIRE(c.ok());
  REQUIRE(c->success);
  REQUIRE(dsx::fs::AtomicWriteFile(t.p / "h.cuh", "#define V 3\n", false).ok());
  auto d = CompileSource(src2, (t.p / "k.cu").string(), o);
  REQUIRE(d.ok());
  CHECK(!d->cache_hit);
  CHECK(d->key != c->key);
}

TEST_CASE("the harness kernels compile for sm_80 and sm_90 (needs NVRTC)") {
  Tmp t;
  const std::string cache = (t.p / "cache").string();
  if (!HaveNvrtc(cache)) return;
  for (const char* arch : {"sm_80", "sm_90"}) {
    auto m = CompileSource(bench::HarnessKernelSource(), "dsx_harness.cu", bench::HarnessCompileOptions(arch, cache));
    REQUIRE(m.ok());
    CHECK_MESSAGE(m->success, m->log);
    CHECK(m->lowered.size() == 18);
  }
}

TEST_CASE("a warm cache hit is fast (needs NVRTC)") {
  Tmp t;
  const std::string cache = (t.p / "cache").string();
  if (!HaveNvrtc(cache)) return;
  const fs::path f = fs::path(DSX_SOURCE_DIR) / "kernels/vector_add/optimized.cu";
  CompileOptions o;
  o.cache_dir = cache;
  o.name_exprs = {"vector_add<float>", "vector_add<__nv_bfloat16>"};
  REQUIRE(CompileFile(f.string(), o).ok());
  double best = 1e9;
  for (int i = 0; i < 20; ++i) {
    auto m = CompileFile(f.string(), o);
    REQUIRE(m.ok());
    REQUIRE(m->cache_hit);
    best = std::min(best, m->ms);
  }
  MESSAGE("warm hit (in process): " << best << " ms");
  CHECK(best < 10.0);
}
