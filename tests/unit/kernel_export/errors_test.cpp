// dsx kernel export refuses what it cannot export faithfully, with the documented codes:
// usage (2), not found (3), conflict/refused (4). And what --results changes in the README.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/hash.hpp"
#include "export_test_util.hpp"
#include "kernel/export/export.hpp"
#include "kernel/export/validate.hpp"

namespace ke = dsx::kernel::exp;
namespace stdfs = std::filesystem;
using dsx::Code;
using nlohmann::json;

namespace {

struct Fixture {
  stdfs::path tmp = kexp_test::TempDir("err");
  Fixture() { stdfs::create_directories(tmp); }
  ~Fixture() { stdfs::remove_all(tmp); }
  ke::ExportOptions Opts(const std::string& task = "vector_add") {
    ke::ExportOptions o;
    o.task = (kexp_test::KernelsDir() / task).string();
    o.out = (tmp / "out").string();
    o.dsx_version = "dsx test";
    return o;
  }
  stdfs::path Write(const std::string& name, const std::string& text) {
    std::ofstream(tmp / name) << text;
    return tmp / name;
  }
};

Code CodeOf(const ke::ExportOptions& o, std::string* msg = nullptr) {
  auto r = ke::ExportKernel(o);
  if (msg) *msg = r.ok() ? "" : r.status().message();
  return r.ok() ? Code::kOk : r.status().code();
}

json BenchDoc(const std::string& sha) {
  json row = {{"dtype", "f32"},
              {"preset", "large"},
              {"status", "ok"},
              {"sizes", {{"N", 134217728}}},
              {"verification", {{"trials", 5}, {"passed", 5}, {"max_rel_err", 0.0}, {"tolerance", 1e-6}}},
              {"median_ms", 0.9876},
              {"gbps", 3260.5},
              {"pct_peak_bw", 97.3},
              {"speedup", 1.41}};
  return {{"task", "vector_add"},
          {"impl_sha256", sha},
          {"status", "ok"},
          {"nvrtc_version", "13.0"},
          {"device", {{"name", "NVIDIA H100 80GB HBM3"}, {"arch", "sm_90"}}},
          {"results", json::array({row})}};
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "missing task, missing impl, missing results: not found") {
  auto o = Opts();
  o.task = "no_such_task_here";
  CHECK(CodeOf(o) == Code::kNotFound);
  o = Opts();
  o.impl = (tmp / "nope.cu").string();
  std::string msg;
  CHECK(CodeOf(o, &msg) == Code::kNotFound);
  CHECK(msg.find("--impl") != std::string::npos);
  o = Opts();
  o.results = (tmp / "nope.json").string();
  CHECK(CodeOf(o) == Code::kNotFound);
}

TEST_CASE_FIXTURE(Fixture, "usage: no --out, bad name, bad capabilities, entry missing, escaping include") {
  auto o = Opts();
  o.out = "";
  CHECK(CodeOf(o) == Code::kUsage);
  o = Opts();
  o.name = "Bad_Name";
  std::string msg;
  CHECK(CodeOf(o, &msg) == Code::kUsage);
  CHECK(msg.find("not valid for kernel-builder") != std::string::npos);
  o = Opts();
  o.cuda_capabilities = {"sm_80"};
  CHECK(CodeOf(o) == Code::kUsage);
  o = Opts();
  o.repo_id = "no-slash";
  CHECK(CodeOf(o) == Code::kUsage);
  o = Opts();
  o.license = "MIT\"\n[evil]";
  CHECK(CodeOf(o) == Code::kUsage);
  // The launch names vector_add<T>, the file defines something else.
  o = Opts();
  o.impl = Write("other.cu", "template <typename T> __global__ void not_it(const T* a, const T* b, T* c, long long n) {}\n"
                             "// vector_add<T>( is only in a comment\n").string();
  CHECK(CodeOf(o, &msg) == Code::kUsage);
  CHECK(msg.find("entry 'vector_add' is not a __global__ function") != std::string::npos);
  o = Opts();
  o.impl = Write("inc.cu", "#include \"../secret.cuh\"\n"
                           "template <typename T> __global__ void vector_add(const T* a, const T* b, T* c, long long n) {}\n")
               .string();
  CHECK(CodeOf(o, &msg) == Code::kUsage);
  CHECK(msg.find("only headers in the kernel's folder") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "refused: non-empty out without --force, a kernel the static scan rejects") {
  stdfs::create_directories(tmp / "out");
  std::ofstream(tmp / "out" / "keep.txt") << "x";
  auto o = Opts();
  std::string msg;
  CHECK(CodeOf(o, &msg) == Code::kConflict);
  CHECK(msg.find("--force") != std::string::npos);
  o.force = true;
  CHECK(CodeOf(o) == Code::kOk);
  CHECK(stdfs::exists(tmp / "out" / "keep.txt"));
  o = Opts();
  o.out = Write("file", "x").string();
  CHECK(CodeOf(o) == Code::kConflict);
  o = Opts();
  o.out = (tmp / "out2").string();
  o.impl = Write("cheat.cu",
                 "template <typename T> __global__ void vector_add(const T* a, const T* b, T* c, long long n) {\n"
                 "  if (clock64() == 0) c[0] = a[0];\n}\n")
               .string();
  CHECK(CodeOf(o, &msg) == Code::kConflict);
  CHECK(msg.find("static scan") != std::string::npos);
  // The same trick in a header beside the kernel (exported with it): refused too.
  Write("state.cuh", "__device__ int calls;\n");
  o.impl = Write("hides.cu",
                 "#include \"state.cuh\"\n"
                 "template <typename T> __global__ void vector_add(const T* a, const T* b, T* c, long long n) {\n"
                 "  c[0] = a[0] + calls++;\n}\n")
               .string();
  CHECK(CodeOf(o, &msg) == Code::kConflict);
  CHECK(msg.find("in state.cuh") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "--results: must be this task, this file, verified; then the README carries it") {
  const std::string src = kexp_test::Slurp(kexp_test::KernelsDir() / "vector_add" / "optimized.cu");
  const std::string sha = dsx::hash::Sha256Hex(src);
  auto o = Opts();
  std::string msg;

  json d = BenchDoc(sha);
  d["task"] = "softmax";
  o.results = Write("a.json", d.dump()).string();
  CHECK(CodeOf(o, &msg) == Code::kConflict);
  CHECK(msg.find("is for task 'softmax'") != std::string::npos);

  d = BenchDoc(std::string(64, 'b'));
  o.results = Write("b.json", d.dump()).string();
  CHECK(CodeOf(o, &msg) == Code::kConflict);
  CHECK(msg.find("measured another kernel source") != std::string::npos);

  d = BenchDoc(sha);
  d["status"] = "wrong";
  d["results"][0]["status"] = "wrong";
  o.results = Write("c.json", d.dump()).string();
  CHECK(CodeOf(o, &msg) == Code::kConflict);
  CHECK(msg.find("only a kernel that verified") != std::string::npos);

  d = BenchDoc(sha);
  d["results"][0]["dtype"] = "f64";
  o.results = Write("d.json", d.dump()).string();
  CHECK(CodeOf(o) == Code::kUsage);

  o.results = Write("e.json", "{\"task\": 1}").string();
  CHECK(CodeOf(o, &msg) == Code::kUsage);
  CHECK(msg.find("field 'task'") != std::string::npos);

  o.results = Write("ok.json", BenchDoc(sha).dump()).string();
  auto rep = ke::ExportKernel(o);
  REQUIRE_MESSAGE(rep.ok(), rep.status().message());
  CHECK(rep->measured);
  const std::string readme = kexp_test::Slurp(tmp / "out" / "README.md");
  CHECK(readme.find("NVIDIA H100 80GB HBM3") != std::string::npos);
  CHECK(readme.find("0.9876") != std::string::npos);
  CHECK(readme.find("5/5") != std::string::npos);
  CHECK(readme.find("dsx test") != std::string::npos);
  CHECK(readme.find("Not measured") == std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "without --results the README says plainly that nothing was measured") {
  auto rep = ke::ExportKernel(Opts());
  REQUIRE(rep.ok());
  const std::string readme = kexp_test::Slurp(tmp / "out" / "README.md");
  CHECK(readme.find("**Not measured.**") != std::string::npos);
  CHECK(readme.find("GB/s") == std::string::npos);
  CHECK(readme.find("dsx test") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "the layout check finds what kernel-builder would reject") {
  REQUIRE(ke::ExportKernel(Opts()).ok());
  const stdfs::path out = tmp / "out";
  const std::string good = kexp_test::Slurp(out / "build.toml");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    auto pos = t.find(from);
    REQUIRE(pos != std::string::npos);
    t.replace(pos, from.size(), to);
    std::ofstream(out / "build.toml") << t;
    auto r = ke::ValidateProject(out);
    REQUIRE_FALSE(r.ok());
    return r.status().message();
  };
  CHECK(with("edition = 5", "edition = 4").find("edition must be the integer 5") != std::string::npos);
  CHECK(with("version = 1", "version = \"1\"").find("version must be") != std::string::npos);
  CHECK(with("version = 1", "version = 1\ncolor = \"red\"").find("unknown key 'color' in [general]") !=
        std::string::npos);
  CHECK(with("name = \"vector-add\"", "name = \"vector_add\"").find("[general] name") != std::string::npos);
  CHECK(with("backend = \"cuda\"", "backend = \"rocm\"").find("not in [general] backends") != std::string::npos);
  CHECK(with("\"vector_add_cuda/launch.cu\"", "\"vector_add_cuda/gone.cu\"").find("does not exist") !=
        std::string::npos);
  CHECK(with("\"vector_add_cuda/launch.cu\"", "\"../../etc/passwd\"").find("not a path inside") != std::string::npos);
  CHECK(with("[torch]", "[torch]\nsrc2 = 1").find("unknown key 'src2' in [torch]") != std::string::npos);
  CHECK(with("depends = [\"torch\"]", "depends = \"torch\"").find("depends must be an array") != std::string::npos);
  CHECK(with("[general]", "[general").find("build.toml") != std::string::npos);
  std::ofstream(out / "build.toml") << good;
  REQUIRE(ke::ValidateProject(out).ok());
  // The wrapper calls an op the binding does not define.
  std::string init = kexp_test::Slurp(out / "torch-ext" / "vector_add" / "__init__.py");
  std::ofstream(out / "torch-ext" / "vector_add" / "__init__.py") << init << "\nops.other(1)\n";
  auto r = ke::ValidateProject(out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("calls ops.other but torch_binding.cpp does not ops.def it") != std::string::npos);
}
