// LoadHfToken: huggingface_hub's lookup order (HF_TOKEN, HF_TOKEN_PATH, HF_HOME, XDG cache,
// ~/.cache), trimming, and a missing token as a usage error that never holds a token.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "hf_test_util.hpp"
#include "jobs/hf/hf_token.hpp"

using namespace dsx;
using namespace dsx::jobs::hf;
using dsx::jobs::hf::testing::FakeEnv;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("dsx-hf-token-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string Write(const std::string& rel, const std::string& content) {
    auto p = path / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }
};

}  // namespace

TEST_CASE("HF_TOKEN wins and is trimmed") {
  TempDir dir;
  FakeEnv env;
  env.vars["HF_TOKEN"] = "  hf_fromenv\n";
  env.vars["HF_TOKEN_PATH"] = dir.Write("t", "hf_fromfile");
  auto t = LoadHfToken(env.fn());
  REQUIRE(t.ok());
  CHECK(*t == "hf_fromenv");
}

TEST_CASE("an empty HF_TOKEN falls through to the token file") {
  TempDir dir;
  FakeEnv env;
  env.vars["HF_TOKEN"] = "";
  env.vars["HF_TOKEN_PATH"] = dir.Write("t", "hf_fromfile\n");
  auto t = LoadHfToken(env.fn());
  REQUIRE(t.ok());
  CHECK(*t == "hf_fromfile");
}

TEST_CASE("HF_HOME, then XDG_CACHE_HOME, then HOME/.cache locate the token file") {
  TempDir dir;
  dir.Write("home/token", "hf_home\n");
  dir.Write("xdg/huggingface/token", "hf_xdg\n");
  dir.Write("user/.cache/huggingface/token", "hf_user\n");
  FakeEnv env;
  env.vars["HOME"] = (dir.path / "user").string();
  CHECK(*LoadHfToken(env.fn()) == "hf_user");
  env.vars["XDG_CACHE_HOME"] = (dir.path / "xdg").string();
  CHECK(*LoadHfToken(env.fn()) == "hf_xdg");
  env.vars["HF_HOME"] = (dir.path / "home").string();
  CHECK(*LoadHfToken(env.fn()) == "hf_home");
  CHECK(HfTokenPath(env.fn()) == (dir.path / "home" / "token").string());
}

TEST_CASE("no token anywhere is kUsage with the way out") {
  FakeEnv env;
  env.vars["HOME"] = "/nonexistent-dsx-home";
  auto t = LoadHfToken(env.fn());
  REQUIRE(!t.ok());
  CHECK(t.status().code() == Code::kUsage);
  CHECK(t.status().message() == "no Hugging Face token: set HF_TOKEN or run `hf auth login`");
}

TEST_CASE("a token file holding only whitespace counts as no token") {
  TempDir dir;
  FakeEnv env;
  env.vars["HF_TOKEN_PATH"] = dir.Write("t", " \n\t\n");
  CHECK(LoadHfToken(env.fn()).status().code() == Code::kUsage);
}
