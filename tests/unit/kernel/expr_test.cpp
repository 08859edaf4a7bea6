#include <doctest/doctest.h>

#include "kernel/expr.hpp"

using namespace dsx::kernel;

namespace {
std::map<std::string, int64_t> kVars = {{"N", 1000}, {"ROWS", 64}, {"COLS", 4096}};
int64_t I(const char* e, DType t = DType::kF32) {
  auto v = EvalInt(e, ExprEnv{&kVars, t});
  REQUIRE_MESSAGE(v.ok(), v.status().message());
  return *v;
}
std::string Err(const char* e) {
  auto v = EvalExpr(e, ExprEnv{&kVars, DType::kF32});
  REQUIRE(!v.ok());
  return v.status().message();
}
}  // namespace

TEST_CASE("integer arithmetic, precedence, parentheses") {
  CHECK(I("1 + 2 * 3") == 7);
  CHECK(I("(1 + 2) * 3") == 9);
  CHECK(I("7 / 2") == 3);
  CHECK(I("-7 / 2") == -3);
  CHECK(I("7 % 4") == 3);
  CHECK(I("-(3 - 5)") == 2);
  CHECK(I("2*ROWS*COLS + COLS") == 2 * 64 * 4096 + 4096);
}

TEST_CASE("functions and sizeof") {
  CHECK(I("ceil_div(N, 256)") == 4);
  CHECK(I("ceil_div(1024, 256)") == 4);
  CHECK(I("ceil_div(1025, 256)") == 5);
  CHECK(I("min(ROWS, 8, 100)") == 8);
  CHECK(I("max(1, N)") == 1000);
  CHECK(I("sizeof(T)") == 4);
  CHECK(I("sizeof(T)", DType::kBF16) == 2);
  CHECK(I("sizeof(f64) + sizeof(i32)") == 12);
  CHECK(I("ceil_div(N, 256 * (16 / sizeof(T)))", DType::kBF16) == 1);
}

TEST_CASE("floats") {
  auto v = EvalExpr("1e-6", ExprEnv{&kVars, DType::kF32});
  REQUIRE(v.ok());
  CHECK(!v->is_int);
  CHECK(v->f == doctest::Approx(1e-6));
  auto w = EvalExpr("N * 0.5", ExprEnv{&kVars, DType::kF32});
  REQUIRE(w.ok());
  CHECK(w->AsDouble() == doctest::Approx(500.0));
  CHECK(I("N * 0.5") == 500);  // integral floats pass as integers
  CHECK(!EvalInt("ROWS * 0.3", ExprEnv{&kVars, DType::kF32}).ok());
}

TEST_CASE("errors name the problem and the column") {
  CHECK(Err("M + 1").find("unknown name 'M'") != std::string::npos);
  CHECK(Err("ceil_div(N, 2").find("expected ')'") != std::string::npos);
  CHECK(Err("N / 0").find("division by zero") != std::string::npos);
  CHECK(Err("ceil_div(N, 0)").find("division by zero") != std::string::npos);
  CHECK(Err("N N").find("unexpected 'N'") != std::string::npos);
  CHECK(Err("foo(1)").find("unknown function 'foo'") != std::string::npos);
  CHECK(Err("sizeof(float)").find("unknown type 'float'") != std::string::npos);
  CHECK(Err("").find("unexpected end") != std::string::npos);
  CHECK(Err("9223372036854775807 * 2").find("overflow") != std::string::npos);
  CHECK(Err("1 +").find("column") != std::string::npos);
}
