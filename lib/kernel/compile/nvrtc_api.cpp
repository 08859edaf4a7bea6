#include "kernel/compile/nvrtc_api.hpp"

#include <dlfcn.h>
#include <link.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"

namespace dsx::kernel {

#if defined(DSX_HAVE_NVRTC)
namespace {

Result<NvrtcApi> Open() {
  std::vector<std::string> names;
  if (const char* env = std::getenv("DSX_NVRTC_LIBRARY"); env && *env) names.push_back(env);
  names.insert(names.end(), {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"});
  void* h = nullptr;
  for (const auto& n : names) {
    h = ::dlopen(n.c_str(), RTLD_LAZY | RTLD_LOCAL);
    if (h) break;
    (void)::dlerror();
  }
  if (!h)
    return Status::Unavailable(
        "NVRTC unavailable: cannot load libnvrtc.so.13 (install the CUDA toolkit or set DSX_NVRTC_LIBRARY)");
  NvrtcApi api;
  bool missing = false;
  std::string missing_name;
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(h, name));
    if (!fn && !missing) {
      missing = true;
      missing_name = name;
    }
  };
  sym(api.Version, "nvrtcVersion");
  sym(api.GetErrorString, "nvrtcGetErrorString");
  sym(api.CreateProgram, "nvrtcCreateProgram");
  sym(api.DestroyProgram, "nvrtcDestroyProgram");
  sym(api.AddNameExpression, "nvrtcAddNameExpression");
  sym(api.CompileProgram, "nvrtcCompileProgram");
  sym(api.GetProgramLogSize, "nvrtcGetProgramLogSize");
  sym(api.GetProgramLog, "nvrtcGetProgramLog");
  sym(api.GetPTXSize, "nvrtcGetPTXSize");
  sym(api.GetPTX, "nvrtcGetPTX");
  sym(api.GetCUBINSize, "nvrtcGetCUBINSize");
  sym(api.GetCUBIN, "nvrtcGetCUBIN");
  sym(api.GetLoweredName, "nvrtcGetLoweredName");
  if (missing) return Status::Unavailable(std::string("NVRTC unavailable: symbol '") + missing_name + "' missing");
  int major = 0, minor = 0;
  api.Version(&major, &minor);
  api.version = std::to_string(major) + "." + std::to_string(minor);
  link_map* lm = nullptr;
  if (::dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) {
    std::error_code ec;
    api.library_path = std::filesystem::canonical(lm->l_name, ec).string();
    if (ec) api.library_path = lm->l_name;
  }
  return api;  // the handle stays open for the life of the process
}

}  // namespace

Result<const NvrtcApi*> LoadNvrtc() {
  static std::once_flag once;
  static Result<NvrtcApi>* loaded = nullptr;
  std::call_once(once, [] { loaded = new Result<NvrtcApi>(Open()); });  // lives until exit
  if (!loaded->ok()) return loaded->status();
  return &loaded->value();
}
#endif

Result<std::string> NvrtcVersionFast(const std::string& cache_dir) {
#if !defined(DSX_HAVE_NVRTC)
  (void)cache_dir;
  return Status::Unavailable("NVRTC unavailable: dsx was built without the CUDA toolkit headers");
#else
  const std::string memo = cache_dir + "/nvrtc-id.json";
  auto env = [](const char* n) {
    const char* v = std::getenv(n);
    return std::string(v ? v : "");
  };
  const std::string steer = env("LD_LIBRARY_PATH") + "|" + env("DSX_NVRTC_LIBRARY");
  auto stat_id = [](const std::string& path) -> std::string {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return "";
    return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
  };
  if (auto text = dsx::fs::ReadFile(memo); text.ok()) {
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_object() && j.value("steer", "") == steer) {
      std::string path = j.value("path", "");
      std::string id = stat_id(path);
      if (!id.empty() && id == j.value("id", "")) return j.value("version", "");
    }
  }
  auto api = LoadNvrtc();
  if (!api.ok()) {
    // A bundle carries a pre-warmed cache; without a loadable NVRTC it can still serve hits.
    if (const char* v = std::getenv("DSX_NVRTC_VERSION"); v && *v) return std::string(v);
    return api.status();
  }
  nlohmann::json j{{"steer", steer},
                   {"path", (*api)->library_path},
                   {"id", stat_id((*api)->library_path)},
                   {"version", (*api)->version}};
  if (dsx::fs::EnsureDir(cache_dir).ok()) (void)dsx::fs::AtomicWriteFile(memo, j.dump(), false);
  return (*api)->version;
#endif
}

}  // namespace dsx::kernel
