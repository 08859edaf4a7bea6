#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "core/fs.hpp"
#include "kernel/compile/cache.hpp"

using namespace dsx::kernel;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("dsx-kcache-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
};
const std::string kKey = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";
}  // namespace

TEST_CASE("miss, put, hit") {
  TempDir d;
  KernelCache c(d.p.string());
  CHECK(!c.Get(kKey));
  REQUIRE(c.Put(kKey,
                std::string("\x7f"
                            "ELF binary\0image",
                            17),
                {{"is_cubin", true}})
              .ok());
  auto hit = c.Get(kKey);
  REQUIRE(hit);
  CHECK(hit->image.size() == 17);
  CHECK(hit->meta["is_cubin"] == true);
  auto s = c.Stats();
  REQUIRE(s.ok());
  CHECK(s->entries == 1);
  CHECK(s->partial == 0);
}

TEST_CASE("a corrupted or half-written entry is a miss, never a wrong image") {
  TempDir d;
  KernelCache c(d.p.string());
  REQUIRE(c.Put(kKey, "image-bytes", {}).ok());
  const fs::path img = d.p / kKey.substr(0, 2) / (kKey + ".img");
  REQUIRE(dsx::fs::AtomicWriteFile(img, "IMAGE-bytes", false).ok());  // flipped bytes
  CHECK(!c.Get(kKey));
  REQUIRE(c.Put(kKey, "image-bytes", {}).ok());  // overwritten by the next writer
  CHECK(c.Get(kKey));
  fs::remove(d.p / kKey.substr(0, 2) / (kKey + ".json"));  // writer died before the commit record
  CHECK(!c.Get(kKey));
  auto s = c.Stats();
  REQUIRE(s.ok());
  CHECK(s->partial == 1);
}

TEST_CASE("parallel writers of the same key leave one complete entry") {
  TempDir d;
  KernelCache c(d.p.string());
  std::string image(1 << 20, 'x');
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&] {
      for (int k = 0; k < 5; ++k) CHECK(c.Put(kKey, image, {{"writer", k}}).ok());
    });
  for (auto& t : ts) t.join();
  auto hit = c.Get(kKey);
  REQUIRE(hit);
  CHECK(hit->image == image);
  // no temporary files left behind
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(d.p)) files += e.is_regular_file();
  CHECK(files == 2);
}

TEST_CASE("clear removes entries and keeps foreign files") {
  TempDir d;
  KernelCache c(d.p.string());
  REQUIRE(c.Put(kKey, "i", {}).ok());
  REQUIRE(dsx::fs::EnsureDir(d.p / "peaks").ok());
  REQUIRE(dsx::fs::AtomicWriteFile(d.p / "peaks" / "GPU-1.json", "{}", false).ok());
  REQUIRE(dsx::fs::AtomicWriteFile(d.p / "notes.txt", "mine", false).ok());
  auto n = c.Clear(false);
  REQUIRE(n.ok());
  CHECK(!c.Get(kKey));
  CHECK(fs::exists(d.p / "peaks" / "GPU-1.json"));
  CHECK(fs::exists(d.p / "notes.txt"));
  REQUIRE(c.Clear(true).ok());
  CHECK(!fs::exists(d.p / "peaks"));
  CHECK(fs::exists(d.p / "notes.txt"));
}
