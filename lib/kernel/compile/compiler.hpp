// NVRTC front end: source -> CUBIN (real arch sm_XX) or PTX (virtual arch compute_XX), with
// name expressions for templates, include paths, `file:line: error: ...` diagnostics and the disk
// cache (cache.hpp). Works with no GPU and no driver.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::kernel {

struct CompileOptions {
  std::string arch = "sm_90";             // sm_XX[a] -> CUBIN, compute_XX[a] -> PTX
  std::vector<std::string> include_dirs;  // -I (the source's folder is always added)
  std::vector<std::string> name_exprs;    // "rmsnorm<float>": instantiated and lowered
  std::vector<std::string> extra;         // more NVRTC options (task `options`)
  bool use_cache = true;
  std::string cache_dir;  // "" = DefaultCacheDir()
};

struct Diagnostic {
  std::string file;
  int line = 0;
  std::string severity;  // error | warning | catastrophic error
  std::string message;
  std::string ToString() const { return file + ":" + std::to_string(line) + ": " + severity + ": " + message; }
};

struct CompiledModule {
  bool success = false;  // false: see diagnostics / log
  std::string image;     // CUBIN or PTX (PTX is NUL-terminated text)
  bool is_cubin = false;
  std::map<std::string, std::string> lowered;  // name expression -> mangled symbol
  std::string log;                             // raw NVRTC log
  std::vector<Diagnostic> diagnostics;
  std::vector<std::string> options;  // exactly what NVRTC got
  std::string arch;
  std::string nvrtc_version;
  std::string source_sha256;  // of the exact source text
  std::string key;            // cache key
  bool cache_hit = false;
  double ms = 0;  // wall time of this call

  // The symbol to look up in the loaded module for `entry` (lowered if it was a name expression).
  std::string Symbol(const std::string& entry) const;
};

// Compiles `source` (named `file_name` in diagnostics; its folder is an include dir).
// Errors: Unavailable when NVRTC is missing, Usage for a bad arch; a source that does not compile
// is a *successful* call returning success=false with diagnostics.
Result<CompiledModule> CompileSource(std::string_view source, const std::string& file_name, const CompileOptions& opts);
Result<CompiledModule> CompileFile(const std::string& path, const CompileOptions& opts);

// Parses an NVRTC log ("x.cu(12): error: ...") into diagnostics.
std::vector<Diagnostic> ParseNvrtcLog(std::string_view log);

// Where NVRTC finds <cuda_bf16.h> etc.: $DSX_CUDA_INCLUDE, <exe>/../include/cuda (bundle),
// the build machine's toolkit, /usr/local/cuda/include. "" when none has cuda_fp16.h.
std::string CudaIncludeDir();

nlohmann::json CompiledToJson(const CompiledModule& m);

}  // namespace dsx::kernel
