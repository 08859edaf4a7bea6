// The CPU reference registry: lookups, error paths, and that every shipped task's
// `cpu_reference` (kernels/*/task.toml) names a registered reference.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "kernel/cpu_ref/cpu_reference.hpp"

namespace {

using dsx::kernel::CpuRefArgs;
using dsx::kernel::HostTensor;

dsx::Status Call(const std::string& name, const std::map<std::string, HostTensor>& inputs,
                 const std::map<std::string, double>& scalars, const std::string& out,
                 const std::vector<int64_t>& indices, std::vector<double>& values) {
  const dsx::kernel::CpuRefFn* fn = dsx::kernel::FindCpuReference(name);
  REQUIRE(fn != nullptr);
  dsx::kernel::SizeMap sizes;
  CpuRefArgs args{sizes, scalars, inputs};
  return (*fn)(args, out, indices, values);
}

}  // namespace

TEST_CASE("unknown references are nullptr and the names are sorted") {
  CHECK(dsx::kernel::FindCpuReference("no_such_task") == nullptr);
  CHECK(dsx::kernel::FindCpuReference("") == nullptr);
  const auto names = dsx::kernel::CpuReferenceNames();
  CHECK(std::is_sorted(names.begin(), names.end()));
  for (const auto& n : names) CHECK(dsx::kernel::FindCpuReference(n) != nullptr);
}

TEST_CASE("a missing input, a bad shape or an unknown output fails with the culprit named") {
  std::vector<double> v(1);
  std::map<std::string, HostTensor> in;
  dsx::Status st = Call("softmax", in, {}, "y", {0}, v);
  CHECK(st.code() == dsx::Code::kFailed);
  CHECK(st.message() == "cpu reference 'softmax': no input 'x'");

  in["x"] = HostTensor{{1, 2, 3}, {3}};  // rank 1, softmax wants [ROWS, COLS]
  st = Call("softmax", in, {}, "y", {0}, v);
  CHECK(st.message().find("has 1 dimensions, expected 2") != std::string::npos);

  in["x"] = HostTensor{{1, 2, 3}, {2, 2}};  // 3 values for 4 elements
  st = Call("softmax", in, {}, "y", {0}, v);
  CHECK(st.message().find("holds 3 values, its shape needs 4") != std::string::npos);

  in["x"] = HostTensor{{1, 2, 3, 4}, {2, 2}};
  st = Call("softmax", in, {}, "z", {0}, v);
  CHECK(st.message() == "cpu reference 'softmax': unknown output 'z' (expected 'y')");

  st = Call("rmsnorm", {{"x", HostTensor{{1, 2}, {1, 2}}}, {"w", HostTensor{{1, 1}, {2}}}}, {}, "y", {0}, v);
  CHECK(st.message() == "cpu reference 'rmsnorm': no scalar 'eps'");

  st = Call("rmsnorm", {{"x", HostTensor{{1, 2}, {1, 2}}}, {"w", HostTensor{{1, 1, 1}, {3}}}}, {{"eps", 0.0}}, "y", {0},
            v);
  CHECK(st.message() == "cpu reference 'rmsnorm': length of 'w' is 3, expected 2");
}

TEST_CASE("indices out of range or a short value buffer fail and write nothing") {
  std::map<std::string, HostTensor> in{{"a", HostTensor{{1, 2}, {2}}}, {"b", HostTensor{{3, 4}, {2}}}};
  std::vector<double> v(1, -7.0);
  dsx::Status st = Call("vector_add", in, {}, "c", {2}, v);
  CHECK(st.message() == "cpu reference 'vector_add': index 2 of output 'c' is out of range [0, 2)");
  st = Call("vector_add", in, {}, "c", {-1}, v);
  CHECK(!st.ok());
  CHECK(v[0] == -7.0);
  st = Call("vector_add", in, {}, "c", {0, 1}, v);
  CHECK(st.message() == "cpu reference 'vector_add': 2 indices but room for 1 values");
}

TEST_CASE("every task in kernels/ names a registered CPU reference") {
  // tests/unit/kernel/<this file> -> repository root
  const auto root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
  const auto kernels = root / "kernels";
  REQUIRE(std::filesystem::is_directory(kernels));
  const std::regex line(R"re(^\s*cpu_reference\s*=\s*"([^"]*)")re");
  int tasks = 0;
  for (const auto& dir : std::filesystem::directory_iterator(kernels)) {
    const auto toml = dir.path() / "task.toml";
    if (!std::filesystem::exists(toml)) continue;
    std::ifstream f(toml);
    std::string text;
    bool found = false;
    while (std::getline(f, text)) {
      std::smatch m;
      if (std::regex_search(text, m, line)) {
        INFO("task " << dir.path().filename().string() << " names '" << m[1].str() << "'");
        CHECK(dsx::kernel::FindCpuReference(m[1].str()) != nullptr);
        found = true;
      }
    }
    CHECK_MESSAGE(found, "task " << dir.path().filename().string() << " has no cpu_reference");
    ++tasks;
  }
  CHECK(tasks >= 8);
}
