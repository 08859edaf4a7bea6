#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>

#include "core/fs.hpp"
#include "core/status.hpp"

namespace fsys = std::filesystem;

TEST_CASE("atomic write replaces the file and leaves no temp files") {
  auto dir = fsys::temp_directory_path() / ("dsx-fs-test-" + std::to_string(::getpid()));
  REQUIRE(dsx::fs::EnsureDir(dir).ok());
  auto file = dir / "a.txt";
  REQUIRE(dsx::fs::AtomicWriteFile(file, "one").ok());
  REQUIRE(dsx::fs::AtomicWriteFile(file, "two").ok());
  auto r = dsx::fs::ReadFile(file);
  REQUIRE(r.ok());
  CHECK(*r == "two");
  int entries = 0;
  for (auto& e : fsys::directory_iterator(dir)) (void)e, ++entries;
  CHECK(entries == 1);
  fsys::remove_all(dir);
}

TEST_CASE("reading a missing file is NotFound with the path quoted") {
  auto r = dsx::fs::ReadFile("/nonexistent/dsx/file");
  REQUIRE(!r.ok());
  CHECK(r.status().code() == dsx::Code::kNotFound);
  CHECK(r.status().message().find("'/nonexistent/dsx/file'") != std::string::npos);
}

TEST_CASE("status wrap keeps the code") {
  auto s = dsx::Status::Conflict("stream is closed").Wrap("cannot append to 'chat/1'");
  CHECK(s.code() == dsx::Code::kConflict);
  CHECK(s.exit_code() == 4);
  CHECK(s.message() == "cannot append to 'chat/1': stream is closed");
}

TEST_CASE("a bounded read stops past its bound: /dev/zero and big files are refused, not read forever") {
  auto r = dsx::fs::ReadFile("/dev/zero", 1 << 20);
  REQUIRE(!r.ok());
  CHECK(r.status().code() == dsx::Code::kFailed);
  CHECK(r.status().message().find("larger than 1048576 bytes") != std::string::npos);

  auto path = std::filesystem::temp_directory_path() / ("dsx_fs_bounded_" + std::to_string(::getpid()));
  REQUIRE(dsx::fs::AtomicWriteFile(path, std::string(100, 'x'), false).ok());
  CHECK(dsx::fs::ReadFile(path, 100).ok());  // exactly the bound is fine
  CHECK(!dsx::fs::ReadFile(path, 99).ok());
  std::filesystem::remove(path);
}
