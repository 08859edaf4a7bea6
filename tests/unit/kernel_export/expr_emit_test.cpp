// expr_emit: task expressions as C++ (dsx_export::V) and Python source.
#include <doctest/doctest.h>

#include "kernel/export/expr_emit.hpp"

namespace ke = dsx::kernel::exp;
using dsx::kernel::DType;

TEST_CASE("C++: every operator, function and sizeof, parenthesised, names mapped") {
  ke::EmitEnv env;
  env.vars = {{"N", "s.N"}, {"COLS", "s.COLS"}};
  env.t = DType::kBF16;
  auto c = ke::EmitCpp("ceil_div(N, 256 * (16 / sizeof(T)))", env);
  REQUIRE(c.ok());
  CHECK(*c == "dsx_ceil_div(V::I(s.N), (V::I(256LL) * (V::I(16LL) / V::I(2LL))))");
  auto m = ke::EmitCpp("max(128, min(1024, COLS % 7 - -1))", env);
  REQUIRE(m.ok());
  CHECK(*m == "dsx_max({V::I(128LL), dsx_min({V::I(1024LL), ((V::I(s.COLS) % V::I(7LL)) - (-V::I(1LL)))})})");
  auto f = ke::EmitCpp("1e-6", env);
  REQUIRE(f.ok());
  CHECK(*f == "V::F(1e-6)");
  auto q = ke::EmitCpp("sqrt(sizeof(f64))", env);
  REQUIRE(q.ok());
  CHECK(*q == "dsx_sqrt(V::I(8LL))");
}

TEST_CASE("Python: division and modulo go through the helpers with dsx's semantics") {
  ke::EmitEnv env;
  env.vars = {{"N", "_s_N"}};
  auto p = ke::EmitPython("N / 4 + N % 3 + ceil_div(N, 2) + min(N, 5)", env);
  REQUIRE(p.ok());
  CHECK(*p == "(((_div(_s_N, 4) + _mod(_s_N, 3)) + _ceil_div(_s_N, 2)) + _min(_s_N, 5))");
  auto f = ke::EmitPython("0.5", env);
  REQUIRE(f.ok());
  CHECK(*f == "float(0.5)");
}

TEST_CASE("errors name the expression and the column") {
  ke::EmitEnv env;
  env.vars = {{"N", "s.N"}};
  auto unknown = ke::EmitCpp("N + M", env);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == dsx::Code::kUsage);
  CHECK(unknown.status().message() == "unknown name 'M' at column 5 in 'N + M'");
  CHECK_FALSE(ke::EmitCpp("ceil_div(N)", env).ok());
  CHECK_FALSE(ke::EmitCpp("pow(N, 2)", env).ok());
  CHECK_FALSE(ke::EmitCpp("(N", env).ok());
  CHECK_FALSE(ke::EmitCpp("N N", env).ok());
  CHECK_FALSE(ke::EmitCpp("sizeof(q7)", env).ok());
  CHECK_FALSE(ke::EmitCpp("99999999999999999999999", env).ok());
  CHECK_FALSE(ke::EmitCpp("", env).ok());
  CHECK_FALSE(ke::EmitPython("N; import os", env).ok());
}

TEST_CASE("NamesIn and IsBareName") {
  CHECK(ke::NamesIn("ceil_div(ROWS, 8) * sizeof(T) + COLS") == std::set<std::string>{"ROWS", "COLS"});
  CHECK(ke::NamesIn("1e-6").empty());
  CHECK(ke::NamesIn("(((").empty());
  std::string n;
  CHECK(ke::IsBareName("  ROWS ", &n));
  CHECK(n == "ROWS");
  CHECK_FALSE(ke::IsBareName("ROWS * 2"));
  CHECK_FALSE(ke::IsBareName("1024"));
  CHECK_FALSE(ke::IsBareName("sizeof"));
}
