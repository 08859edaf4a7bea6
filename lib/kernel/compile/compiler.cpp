#include "kernel/compile/compiler.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>

#include "core/fs.hpp"
#include "core/hash.hpp"
#include "kernel/compile/cache.hpp"
#include "kernel/compile/nvrtc_api.hpp"

namespace dsx::kernel {

namespace stdfs = std::filesystem;

std::string CompiledModule::Symbol(const std::string& entry) const {
  auto it = lowered.find(entry);
  return it == lowered.end() ? entry : it->second;
}

std::string CudaIncludeDir() {
  std::vector<std::string> dirs;
  if (const char* e = std::getenv("DSX_CUDA_INCLUDE"); e && *e) dirs.push_back(e);
  std::error_code ec;
  stdfs::path exe = stdfs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path() / ".." / "include" / "cuda").string());
#if defined(DSX_CUDA_INCLUDE_DIR)
  dirs.push_back(DSX_CUDA_INCLUDE_DIR);
#endif
  dirs.push_back("/usr/local/cuda/include");
  for (const auto& d : dirs)
    if (stdfs::exists(stdfs::path(d) / "cuda_fp16.h", ec)) return stdfs::weakly_canonical(d, ec).string();
  return "";
}

std::vector<Diagnostic> ParseNvrtcLog(std::string_view log) {
  static const std::regex kLine(R"(^(.*)\((\d+)\): (catastrophic error|error|warning)(?: #[0-9A-Za-z-]+)?: (.*)$)");
  std::vector<Diagnostic> out;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string_view::npos) end = log.size();
    std::string line(log.substr(start, end - start));
    std::smatch m;
    if (std::regex_match(line, m, kLine)) {
      out.push_back({m[1].str(), std::stoi(m[2].str()), m[3].str(), m[4].str()});
    }
    start = end + 1;
  }
  return out;
}

namespace {

[[maybe_unused]] bool IsVirtual(const std::string& arch) { return arch.rfind("compute_", 0) == 0; }

Status CheckArch(const std::string& arch) {
  static const std::regex kArch(R"(^(sm|compute)_[0-9]{2,3}[af]?$)");
  if (!std::regex_match(arch, kArch))
    return Status::Usage("bad arch '" + arch + "' (want sm_XX for CUBIN or compute_XX for PTX, e.g. sm_90)");
  return Status::Ok();
}

// Hashes every file reachable through #include "..." / <...> in the user's folders (not the CUDA
// headers, which the NVRTC version covers), so editing a header misses the cache.
void HashIncludes(std::string_view text, const stdfs::path& from_dir, const std::vector<std::string>& dirs,
                  std::set<std::string>& seen, hash::Sha256& h, int depth) {
  // multiline: ^ at every line's start (without it an #include below line 1 was never hashed).
  static const std::regex kInc(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])", std::regex::ECMAScript | std::regex::multiline);
  if (depth > 16) return;
  std::string s(text);
  auto begin = std::sregex_iterator(s.begin(), s.end(), kInc, std::regex_constants::match_not_null);
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1].str();
    std::vector<stdfs::path> tries = {from_dir / name};
    for (const auto& d : dirs) tries.push_back(stdfs::path(d) / name);
    for (const auto& p : tries) {
      std::error_code ec;
      if (!stdfs::is_regular_file(p, ec)) continue;
      std::string canon = stdfs::weakly_canonical(p, ec).string();
      if (!seen.insert(canon).second) break;
      auto body = dsx::fs::ReadFile(p);
      if (!body.ok()) break;
      h.Update("\ninclude:" + name + "\n");
      h.Update(*body);
      HashIncludes(*body, p.parent_path(), dirs, seen, h, depth + 1);
      break;
    }
  }
}

}  // namespace

Result<CompiledModule> CompileSource(std::string_view source, const std::string& file_name,
                                     const CompileOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  DSX_RETURN_IF_ERROR(CheckArch(opts.arch));
  const std::string cache_dir = opts.cache_dir.empty() ? DefaultCacheDir() : opts.cache_dir;
  auto version = NvrtcVersionFast(cache_dir);
  if (!version.ok()) return version.status();

  CompiledModule m;
  m.arch = opts.arch;
  m.nvrtc_version = *version;
  m.source_sha256 = hash::Sha256Hex(source);
  stdfs::path src_dir = stdfs::path(file_name).parent_path();
  if (src_dir.empty()) src_dir = ".";

  // Options that define the output; the include folders themselves are hashed by content.
  std::vector<std::string> semantic = {"--gpu-architecture=" + opts.arch, "-default-device", "-std=c++17"};
  for (const auto& e : opts.extra) semantic.push_back(e);
  m.options = semantic;

  hash::Sha256 h;
  h.Update("dsx-kernel-cache-v1\nnvrtc:" + m.nvrtc_version + "\narch:" + opts.arch + "\n");
  for (const auto& o : semantic) h.Update("opt:" + o + "\n");
  for (const auto& n : opts.name_exprs) h.Update("name:" + n + "\n");
  h.Update("source:\n");
  h.Update(source);
  std::set<std::string> seen;
  HashIncludes(source, src_dir, opts.include_dirs, seen, h, 0);
  m.key = h.FinalHex();

  KernelCache cache(cache_dir);
  if (opts.use_cache) {
    if (auto hit = cache.Get(m.key)) {
      m.success = true;
      m.cache_hit = true;
      m.image = std::move(hit->image);
      m.is_cubin = hit->meta.value("is_cubin", false);
      m.log = hit->meta.value("log", "");
      m.diagnostics = ParseNvrtcLog(m.log);
      if (hit->meta.contains("lowered") && hit->meta["lowered"].is_object())
        for (const auto& [k, v] : hit->meta["lowered"].items()) m.lowered[k] = v.get<std::string>();
      m.ms = elapsed();
      return m;
    }
  }

#if !defined(DSX_HAVE_NVRTC)
  return Status::Unavailable("NVRTC unavailable: dsx was built without the CUDA toolkit headers");
#else
  auto api_r = LoadNvrtc();
  if (!api_r.ok()) return api_r.status();
  const NvrtcApi& api = **api_r;

  std::vector<std::string> all = semantic;
  const std::string cuda_inc = CudaIncludeDir();
  all.push_back("-I" + src_dir.string());
  for (const auto& d : opts.include_dirs) all.push_back("-I" + d);
  if (!cuda_inc.empty()) all.push_back("-I" + cuda_inc);
  std::vector<const char*> argv;
  for (const auto& o : all) argv.push_back(o.c_str());

  const std::string src(source);
  nvrtcProgram prog = nullptr;
  nvrtcResult rc = api.CreateProgram(&prog, src.c_str(), file_name.c_str(), 0, nullptr, nullptr);
  if (rc != NVRTC_SUCCESS) return Status::Failed(std::string("nvrtcCreateProgram failed: ") + api.GetErrorString(rc));
  struct Destroy {
    const NvrtcApi& api;
    nvrtcProgram* p;
    ~Destroy() { api.DestroyProgram(p); }
  } destroy{api, &prog};
  for (const auto& n : opts.name_exprs) {
    rc = api.AddNameExpression(prog, n.c_str());
    if (rc != NVRTC_SUCCESS) return Status::Usage("bad name expression '" + n + "': " + api.GetErrorString(rc));
  }
  rc = api.CompileProgram(prog, static_cast<int>(argv.size()), argv.data());
  size_t log_size = 0;
  api.GetProgramLogSize(prog, &log_size);
  std::string log(log_size, '\0');
  if (log_size) api.GetProgramLog(prog, log.data());
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  m.log = log;
  m.diagnostics = ParseNvrtcLog(log);
  if (cuda_inc.empty() && rc != NVRTC_SUCCESS)
    m.log += "\n(note: no CUDA include folder found for <cuda_fp16.h>; set DSX_CUDA_INCLUDE)";
  if (rc != NVRTC_SUCCESS) {
    if (m.diagnostics.empty()) m.diagnostics.push_back({file_name, 0, "error", std::string(api.GetErrorString(rc))});
    m.ms = elapsed();
    return m;  // success = false
  }
  for (const auto& n : opts.name_exprs) {
    const char* lowered = nullptr;
    if (api.GetLoweredName(prog, n.c_str(), &lowered) == NVRTC_SUCCESS && lowered) m.lowered[n] = lowered;
  }
  size_t size = 0;
  m.is_cubin = !IsVirtual(opts.arch);
  if (m.is_cubin) {
    api.GetCUBINSize(prog, &size);
    m.image.resize(size);
    if (size) api.GetCUBIN(prog, m.image.data());
  } else {
    api.GetPTXSize(prog, &size);
    m.image.resize(size);
    if (size) api.GetPTX(prog, m.image.data());
  }
  if (m.image.empty()) return Status::Failed("NVRTC produced an empty image for '" + file_name + "'");
  m.success = true;
  if (opts.use_cache) {
    nlohmann::json meta{{"is_cubin", m.is_cubin}, {"lowered", m.lowered},
                        {"log", m.log},           {"options", m.options},
                        {"arch", m.arch},         {"nvrtc_version", m.nvrtc_version},
                        {"file", file_name},      {"source_sha256", m.source_sha256}};
    Status st = cache.Put(m.key, m.image, meta);
    if (!st.ok()) m.log += "\n(cache write failed: " + st.message() + ")";
  }
  m.ms = elapsed();
  return m;
#endif
}

Result<CompiledModule> CompileFile(const std::string& path, const CompileOptions& opts) {
  auto text = dsx::fs::ReadFile(path);
  if (!text.ok()) return text.status();
  return CompileSource(*text, path, opts);
}

nlohmann::json CompiledToJson(const CompiledModule& m) {
  nlohmann::json d = nlohmann::json::array();
  for (const auto& x : m.diagnostics)
    d.push_back({{"file", x.file}, {"line", x.line}, {"severity", x.severity}, {"message", x.message}});
  return {{"ok", m.success},
          {"arch", m.arch},
          {"format", m.is_cubin ? "cubin" : "ptx"},
          {"bytes", m.image.size()},
          {"lowered", m.lowered},
          {"options", m.options},
          {"nvrtc_version", m.nvrtc_version},
          {"source_sha256", m.source_sha256},
          {"cache_key", m.key},
          {"cache_hit", m.cache_hit},
          {"ms", m.ms},
          {"diagnostics", d},
          {"log", m.log}};
}

}  // namespace dsx::kernel
