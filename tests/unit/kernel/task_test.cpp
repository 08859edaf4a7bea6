#include <doctest/doctest.h>

#include <filesystem>

#include "kernel/task.hpp"
#include "test_paths.hpp"

using namespace dsx::kernel;

namespace {
const char* kGood = R"TOML(
name = "t"
description = "demo"
dtypes = ["f32", "bf16"]
[sizes.small]
N = 1000
[sizes.medium]
N = 100000
[sizes.large]
N = 10000000
[[params]]
name = "x"
kind = "ptr"
dtype = "T"
shape = ["N"]
io = "in"
init = "positive"
[[params]]
name = "ws"
kind = "ptr"
dtype = "i32"
shape = [1]
io = "scratch"
[[params]]
name = "y"
kind = "ptr"
dtype = "T"
shape = ["N"]
io = "out"
[[params]]
name = "n"
kind = "scalar"
dtype = "i64"
value = "N"
[cost]
bytes = "2 * N * sizeof(T)"
flops = "N"
[tolerance]
f32 = 1e-6
bf16 = 1e-2
[impl.reference]
file = "reference.cu"
entry = "ref<T>"
grid = ["ceil_div(N, 256)"]
block = [256]
[impl.optimized]
file = "optimized.cu"
entry = "opt_{dtype}"
grid = ["ceil_div(N, 1024)", 1]
block = [256]
shared = "1024 * sizeof(T)"
options = ["-use_fast_math"]
)TOML";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  REQUIRE(p != std::string::npos);
  return s.replace(p, from.size(), to);
}
std::string ParseErr(const std::string& text) {
  auto t = ParseTask(text, "/tmp/t");
  REQUIRE(!t.ok());
  return t.status().message();
}
}  // namespace

TEST_CASE("a good task parses and resolves") {
  auto t = ParseTask(kGood, "/tmp/t");
  REQUIRE_MESSAGE(t.ok(), t.status().message());
  CHECK(t->presets == std::vector<std::string>{"small", "medium", "large"});
  CHECK(t->params.size() == 4);
  CHECK(t->params[0].init == InitDist::kPositive);
  CHECK(t->params[1].io == ParamIo::kScratch);
  CHECK(t->optimized.options == std::vector<std::string>{"-use_fast_math"});
  auto inst = Instantiate(*t, DType::kBF16, "medium");
  REQUIRE(inst.ok());
  CHECK(inst->bytes == 2 * 100000 * 2);
  CHECK(inst->tolerance == doctest::Approx(1e-2));
  CHECK(inst->params[0].numel == 100000);
  CHECK(inst->params[0].dtype == DType::kBF16);
  CHECK(inst->params[1].dtype == DType::kI32);
  CHECK(inst->params[3].scalar == 100000);
  auto l = ResolveLaunch(t->optimized, *inst);
  REQUIRE(l.ok());
  CHECK(l->entry == "opt_bf16");
  CHECK(l->grid[0] == 98);
  CHECK(l->grid[1] == 1);
  CHECK(l->shared == 2048);
  auto r = ResolveLaunch(t->reference, *inst);
  REQUIRE(r.ok());
  CHECK(r->entry == "ref<__nv_bfloat16>");
}

TEST_CASE("entry substitution touches only the template argument T") {
  CHECK(SubstituteEntry("rmsnorm<T>", DType::kF32) == "rmsnorm<float>");
  CHECK(SubstituteEntry("TT<T, 4>", DType::kF16) == "TT<__half, 4>");
  CHECK(SubstituteEntry("k<T, Tile>", DType::kF32) == "k<float, Tile>");
  CHECK(SubstituteEntry("add_{dtype}", DType::kI64) == "add_i64");
  CHECK(SubstituteEntry("plain", DType::kF32) == "plain");
}

TEST_CASE("bad tasks are usage errors that name the field") {
  CHECK(ParseErr(Replace(kGood, "[sizes.large]\nN = 10000000\n", "")).find("missing [sizes.large]") !=
        std::string::npos);
  CHECK(ParseErr(Replace(kGood, "bf16 = 1e-2\n", "")).find("tolerance: missing a value for dtype 'bf16'") !=
        std::string::npos);
  CHECK(ParseErr(Replace(kGood, "io = \"out\"", "io = \"inout\"")).find("io must be") != std::string::npos);
  CHECK(ParseErr(Replace(kGood, "dtypes = [\"f32\", \"bf16\"]", "dtypes = [\"f8\"]")).find("unknown dtype 'f8'") !=
        std::string::npos);
  CHECK(ParseErr(Replace(kGood, "shape = [\"N\"]\nio = \"out\"", "shape = [\"M\"]\nio = \"out\""))
            .find("unknown name 'M'") != std::string::npos);
  CHECK(ParseErr(Replace(kGood, "block = [256]\n[impl.optimized]", "block = [2048]\n[impl.optimized]")).find("block") !=
        std::string::npos);
  CHECK(ParseErr(Replace(kGood, "name = \"n\"", "name = \"x\"")).find("duplicate name 'x'") != std::string::npos);
  CHECK(ParseErr("name = \"t\"\ndtypes = [").find("task.toml:") != std::string::npos);
  CHECK(ParseErr(Replace(kGood, "dtype = \"i64\"\nvalue", "dtype = \"T\"\nvalue")).find("concrete dtype") !=
        std::string::npos);
}

TEST_CASE("the dsx-launch line overrides the optimized launch") {
  auto t = ParseTask(kGood, "/tmp/t");
  REQUIRE(t.ok());
  auto l =
      ApplyLaunchLine(t->optimized, "x\n// dsx-launch: entry = \"v2<T>\", grid = [\"N / 4\"], block = [128]\nkernel");
  REQUIRE_MESSAGE(l.ok(), l.status().message());
  CHECK(l->entry == "v2<T>");
  CHECK(l->grid == std::vector<std::string>{"N / 4"});
  CHECK(l->block == std::vector<std::string>{"128"});
  CHECK(l->shared == "1024 * sizeof(T)");  // kept
  auto none = ApplyLaunchLine(t->optimized, "no line here");
  REQUIRE(none.ok());
  CHECK(none->entry == "opt_{dtype}");
  auto bad = ApplyLaunchLine(t->optimized, "\n\n// dsx-launch: grid = [\n");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("line 3") != std::string::npos);
}

TEST_CASE("every shipped task parses and resolves for every dtype and preset") {
  std::filesystem::path root = std::filesystem::path(DSX_SOURCE_DIR) / "kernels";
  auto names = ListTaskNames(root);
  CHECK(names.size() >= 8);
  for (const auto& n : names) {
    auto t = LoadTask(root / n);
    CHECK_MESSAGE(t.ok(), std::string(n + ": " + t.status().message()));
  }
}
