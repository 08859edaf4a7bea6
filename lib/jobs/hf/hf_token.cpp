// Token lookup in huggingface_hub's order; see hf_token.hpp.
#include "jobs/hf/hf_token.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace dsx::jobs::hf {
namespace {

std::string Env(const GetEnv& getenv, const char* name) {
  const char* v = getenv ? getenv(name) : std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string Trim(std::string s) {
  const char* ws = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string HfTokenPath(const GetEnv& getenv) {
  std::string path = Env(getenv, "HF_TOKEN_PATH");
  if (!path.empty()) return path;
  std::string home = Env(getenv, "HF_HOME");
  if (home.empty()) {
    std::string cache = Env(getenv, "XDG_CACHE_HOME");
    if (cache.empty()) {
      std::string user_home = Env(getenv, "HOME");
      if (user_home.empty()) return "";
      cache = user_home + "/.cache";
    }
    home = cache + "/huggingface";
  }
  return home + "/token";
}

Result<std::string> LoadHfToken(const GetEnv& getenv) {
  std::string token = Trim(Env(getenv, "HF_TOKEN"));
  if (token.empty()) {
    std::string path = HfTokenPath(getenv);
    if (!path.empty()) {
      std::ifstream in(path, std::ios::binary);
      if (in) {
        std::ostringstream content;
        content << in.rdbuf();
        token = Trim(content.str());
      }
    }
  }
  // The message names where to put a token, never what was found.
  if (token.empty()) return Status::Usage("no Hugging Face token: set HF_TOKEN or run `hf auth login`");
  return token;
}

}  // namespace dsx::jobs::hf
