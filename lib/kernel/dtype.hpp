// Element types of kernel parameters: names as written in task.toml, sizes, C++ spellings.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dsx::kernel {

enum class DType { kF32, kF64, kBF16, kF16, kI32, kI64 };

// "f32" -> kF32 ...; nullopt for unknown names.
std::optional<DType> ParseDType(std::string_view name);
const char* DTypeName(DType t);     // "f32"
const char* DTypeCppName(DType t);  // "float", "__nv_bfloat16", "long long" ...
size_t DTypeSize(DType t);          // bytes per element
bool DTypeIsFloat(DType t);         // f32 f64 bf16 f16
// Index used by the harness kernels (dsx_fill<...> etc. are instantiated per index).
int DTypeIndex(DType t);

}  // namespace dsx::kernel
