#include "kernel/dtype.hpp"

namespace dsx::kernel {

namespace {
struct Info {
  DType t;
  const char* name;
  const char* cpp;
  size_t size;
  bool is_float;
};
constexpr Info kInfo[] = {
    {DType::kF32, "f32", "float", 4, true},
    {DType::kF64, "f64", "double", 8, true},
    {DType::kBF16, "bf16", "__nv_bfloat16", 2, true},
    {DType::kF16, "f16", "__half", 2, true},
    {DType::kI32, "i32", "int", 4, false},
    {DType::kI64, "i64", "long long", 8, false},
};
const Info& Get(DType t) { return kInfo[static_cast<int>(t)]; }
}  // namespace

std::optional<DType> ParseDType(std::string_view name) {
  for (const auto& i : kInfo)
    if (name == i.name) return i.t;
  return std::nullopt;
}
const char* DTypeName(DType t) { return Get(t).name; }
const char* DTypeCppName(DType t) { return Get(t).cpp; }
size_t DTypeSize(DType t) { return Get(t).size; }
bool DTypeIsFloat(DType t) { return Get(t).is_float; }
int DTypeIndex(DType t) { return static_cast<int>(t); }

}  // namespace dsx::kernel
