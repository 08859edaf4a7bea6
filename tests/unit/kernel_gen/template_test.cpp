// Kernel template expansion: counts, placeholders, requirements, and the shipped templates.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "kernel/gen/template_expand.hpp"

namespace stdfs = std::filesystem;
using namespace dsx::kernel::gen;

namespace {

stdfs::path RepoRoot() { return stdfs::path(__FILE__).parent_path().parent_path().parent_path().parent_path(); }

struct TempDir {
  stdfs::path path;
  TempDir() {
    static int n = 0;
    path = stdfs::temp_directory_path() / ("dsx-tmpl-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    stdfs::create_directories(path / "templates");
  }
  ~TempDir() { stdfs::remove_all(path); }
  void Write(const std::string& rel, const std::string& text) const { std::ofstream(path / rel) << text; }
};

bool NoPlaceholdersLeft(const std::string& s) { return s.find("{{") == std::string::npos; }

}  // namespace

TEST_CASE("grid expansion: every combination, last key fastest, all placeholders replaced") {
  TempDir t;
  t.Write("templates/k.cu.tmpl",
          "// {{NAME}} B={{BLOCK}} V={{VEC}} U={{UNROLL}}\n__global__ void k() { int a[{{UNROLL}}]; }\n");
  t.Write("templates/task1.toml",
          "template = \"k.cu.tmpl\"\n[fixed]\nNAME = \"fixed-name\"\n[grid]\nBLOCK = [128, 256]\nVEC = [8, 16]\nUNROLL "
          "= [1, 2, 4]\n");
  auto k = LoadTemplate(t.path, "task1");
  REQUIRE_MESSAGE(k.ok(), k.status().message());
  auto v = ExpandTemplate(*k);
  REQUIRE(v.ok());
  REQUIRE(v->size() == 12);
  CHECK((*v)[0].id == "BLOCK=128,VEC=8,UNROLL=1");
  CHECK((*v)[1].id == "BLOCK=128,VEC=8,UNROLL=2");
  CHECK((*v)[11].id == "BLOCK=256,VEC=16,UNROLL=4");
  CHECK((*v)[11].source == "// fixed-name B=256 V=16 U=4\n__global__ void k() { int a[4]; }\n");
  std::set<std::string> sources;
  for (const auto& x : *v) {
    CHECK(NoPlaceholdersLeft(x.source));
    sources.insert(x.source);
  }
  CHECK(sources.size() == 12);
}

TEST_CASE("requirements filter variants") {
  TempDir t;
  t.Write("templates/r.cu.tmpl", "{{BLOCK}} {{ROWS_PER_BLOCK}}");
  t.Write("templates/r.toml",
          "template = \"r.cu.tmpl\"\n[grid]\nBLOCK = [64, 128, 256]\nROWS_PER_BLOCK = [1, 2, 4, 8]\n"
          "[[require]]\nexpr = \"BLOCK / ROWS_PER_BLOCK\"\nop = \">=\"\nvalue = 32\n"
          "[[require]]\nexpr = \"(BLOCK % (ROWS_PER_BLOCK * 32))\"\nop = \"==\"\nvalue = 0\n");
  auto v = ExpandTemplate(*LoadTemplate(t.path, "r"));
  REQUIRE(v.ok());
  // 64: rpb 1,2; 128: 1,2,4; 256: 1,2,4,8
  CHECK(v->size() == 9);
}

TEST_CASE("errors: unknown or unused placeholders, missing template, caps, bad expressions") {
  TempDir t;
  t.Write("templates/a.cu.tmpl", "{{BLOCK}} {{MISSING}}");
  t.Write("templates/a.toml", "template = \"a.cu.tmpl\"\n[grid]\nBLOCK = [1]\n");
  auto a = LoadTemplate(t.path, "a");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().message().find("{{MISSING}}") != std::string::npos);

  t.Write("templates/b.cu.tmpl", "{{BLOCK}}");
  t.Write("templates/b.toml", "template = \"b.cu.tmpl\"\n[grid]\nBLOCK = [1]\nEXTRA = [2]\n");
  auto b = LoadTemplate(t.path, "b");
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().message().find("'EXTRA' is given but the template never uses") != std::string::npos);

  auto none = LoadTemplate(t.path, "nothing");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == dsx::Code::kNotFound);
  CHECK(none.status().message().find("templates exist for:") != std::string::npos);

  t.Write("templates/c.toml", "template = \"b.cu.tmpl\"\nmax_variants = 2\n[grid]\nBLOCK = [1, 2, 3]\n");
  auto c = ExpandTemplate(*LoadTemplate(t.path, "c"));
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message().find("max_variants") != std::string::npos);

  t.Write("templates/d.toml", "template = \"b.cu.tmpl\"\n[grid]\nBLOCK = []\n");
  CHECK_FALSE(LoadTemplate(t.path, "d").ok());
  t.Write("templates/e.toml",
          "template = \"b.cu.tmpl\"\n[grid]\nBLOCK = [1]\n[[require]]\nexpr = \"NOPE * 2\"\nop = \"==\"\nvalue = 2\n");
  auto e = ExpandTemplate(*LoadTemplate(t.path, "e"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message().find("unknown name 'NOPE'") != std::string::npos);
}

TEST_CASE("integer expressions") {
  std::map<std::string, std::string> v = {{"A", "12"}, {"B", "5"}, {"S", "x"}};
  CHECK(*EvalIntExpr("A / B", v) == 2);
  CHECK(*EvalIntExpr("A % B + 1", v) == 3);
  CHECK(*EvalIntExpr("-(A - 2) * 3", v) == -30);
  CHECK_FALSE(EvalIntExpr("A / 0", v).ok());
  CHECK_FALSE(EvalIntExpr("S + 1", v).ok());
  CHECK_FALSE(EvalIntExpr("A +", v).ok());
  CHECK_FALSE(EvalIntExpr("A B", v).ok());
}

TEST_CASE("the shipped templates expand fully with a launch line") {
  const stdfs::path skill = RepoRoot() / "skills" / "cuda-kernels";
  const std::pair<const char*, size_t> expected[] = {{"vector_add", 18}, {"silu_mul", 18}, {"rmsnorm", 12}, {"matmul", 28}};
  for (const auto& [task, count] : expected) {
    auto k = LoadTemplate(skill, task);
    REQUIRE_MESSAGE(k.ok(), k.status().message());
    auto v = ExpandTemplate(*k);
    REQUIRE_MESSAGE(v.ok(), v.status().message());
    CHECK(v->size() == count);
    for (const auto& x : *v) {
      CHECK(NoPlaceholdersLeft(x.source));
      CHECK(x.source.find("// dsx-launch: entry = \"dsx_") != std::string::npos);
      CHECK(x.source.find("__global__") != std::string::npos);
    }
  }
}
