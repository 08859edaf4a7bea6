// Code extraction from messy model replies.
#include <doctest/doctest.h>

#include <string>

#include "kernel/gen/extract.hpp"

using dsx::kernel::gen::DefinesGlobal;
using dsx::kernel::gen::ExtractCode;
using dsx::kernel::gen::LaunchLineEntry;

namespace {
const std::string kKernel =
    "#include <cuda_bf16.h>\n"
    "template <typename T>\n"
    "__global__ void __launch_bounds__(256) rmsnorm(const T* x, const T* w, T* y, int rows, int cols, float eps) {\n"
    "  // body\n"
    "}\n";
}

TEST_CASE("1: one ```cuda block with prose around it") {
  auto r = ExtractCode("Here is my plan.\n\n```cuda\n" + kKernel + "```\n\nThis should be fast.", "rmsnorm");
  REQUIRE(r.ok());
  CHECK(r->code == kKernel);
  CHECK(r->defines_entry);
  CHECK(r->blocks == 1);
}

TEST_CASE("2: ```cpp and bare ``` fences are code too") {
  for (const char* fence : {"```cpp", "```c++", "```", "~~~cuda", "```CUDA"}) {
    std::string close = std::string(fence).starts_with("~") ? "~~~" : "```";
    auto r = ExtractCode(std::string("text\n") + fence + "\n" + kKernel + close + "\n", "rmsnorm");
    REQUIRE_MESSAGE(r.ok(), fence);
    CHECK(r->code == kKernel);
  }
}

TEST_CASE("3: several blocks: the last one defining the entry wins over earlier drafts and helpers") {
  std::string reply =
      "First attempt:\n```cuda\n__global__ void rmsnorm(const float* x) { /* draft */ }\n```\n"
      "A helper you might like:\n```cuda\n__device__ float helper(float v) { return v; }\n```\n"
      "Final version:\n```cuda\n" +
      kKernel +
      "```\n"
      "And usage from Python:\n```python\nprint('rmsnorm')\n```\n";
  auto r = ExtractCode(reply, "rmsnorm");
  REQUIRE(r.ok());
  CHECK(r->code == kKernel);
  CHECK(r->blocks == 3);  // the python block is not counted as code
  CHECK(r->how.find("block 3 of 3") != std::string::npos);
}

TEST_CASE("4: an unterminated fence (the model ran out of tokens) runs to the end") {
  auto r = ExtractCode("```cuda\n" + kKernel + "// trailing comment", "rmsnorm");
  REQUIRE(r.ok());
  CHECK(r->code == kKernel + "// trailing comment\n");
  CHECK(r->defines_entry);
}

TEST_CASE("5: no fences: code is cut from the first code line to the last brace") {
  auto r = ExtractCode("Sure! The kernel follows.\n" + kKernel + "Hope this helps!\n", "rmsnorm");
  REQUIRE(r.ok());
  CHECK(r->code == kKernel);
  CHECK(r->how == "unfenced code");
}

TEST_CASE("6: <think> sections are dropped before anything else") {
  std::string reply =
      "<think>maybe ```cuda\n__global__ void rmsnorm(int bad) {}\n``` no</think>\n```cuda\n" + kKernel + "```";
  auto r = ExtractCode(reply, "rmsnorm");
  REQUIRE(r.ok());
  CHECK(r->code == kKernel);
  CHECK(r->blocks == 1);
}

TEST_CASE("7: a launch line naming another entry makes that block's entry count") {
  std::string code =
      "// dsx-launch: entry = \"rms_v2<T>\", grid = [\"ROWS / 2\"], block = [128]\n"
      "template <typename T> __global__ void rms_v2(const T* x) {}\n";
  CHECK(LaunchLineEntry(code) == "rms_v2");
  auto r = ExtractCode("```cuda\n__global__ void other() {}\n```\n```cuda\n" + code + "```", "rmsnorm");
  REQUIRE(r.ok());
  CHECK(r->code == code);
  CHECK(r->defines_entry);
}

TEST_CASE("8: no code at all is an error that says so") {
  auto r = ExtractCode("I cannot help with that.", "rmsnorm");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("no CUDA code") != std::string::npos);
  auto only_python = ExtractCode("```python\nx = 1\n```", "rmsnorm");
  REQUIRE_FALSE(only_python.ok());
}

TEST_CASE("9: blocks without the entry: the last block with a __global__ is taken, flagged") {
  auto r =
      ExtractCode("```cuda\n__device__ int f();\n```\n```cuda\n__global__ void wrong_name(int) {}\n```", "rmsnorm");
  REQUIRE(r.ok());
  CHECK_FALSE(r->defines_entry);
  CHECK(r->code.find("wrong_name") != std::string::npos);
  CHECK(r->how.find("entry not found") != std::string::npos);
}

TEST_CASE("10: CRLF replies and indented fences") {
  std::string reply = "Plan:\r\n  ```cuda\r\n__global__ void rmsnorm(float* y) {\r\n}\r\n  ```\r\n";
  auto r = ExtractCode(reply, "rmsnorm");
  REQUIRE(r.ok());
  CHECK(r->code == "__global__ void rmsnorm(float* y) {\n}\n");
}

TEST_CASE("DefinesGlobal matches definitions, not calls or other names") {
  CHECK(DefinesGlobal("extern \"C\" __global__ void add_f32(float* a) {}", "add_f32"));
  CHECK(DefinesGlobal("template <typename T>\n__global__ void\n__launch_bounds__(256, 1)\nsoftmax (const T* x)",
                      "softmax"));
  CHECK_FALSE(DefinesGlobal("__global__ void softmax_ref(const float* x) {}", "softmax"));
  CHECK_FALSE(DefinesGlobal("__device__ void softmax(const float* x) {}", "softmax"));
  CHECK_FALSE(DefinesGlobal("__global__ void k() { softmax(x); }", "softmax"));
}
