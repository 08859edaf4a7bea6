// Compaction (file_store_compact.cpp): live batches move out of mostly dead segments, which
// are then unlinked; offsets, contents and recovery stay the same.
#include <doctest/doctest.h>

#include "store_test_util.hpp"

namespace dsx::session::filestore {
using namespace testing;

namespace {

std::uint64_t DirBytes(const fsys::path& dir) {
  std::uint64_t n = 0;
  for (auto& p : Segments(dir)) n += fsys::file_size(p);
  return n;
}

}  // namespace

TEST_CASE("MostlyDeadSegmentsAreCompactedAndFreed") {
  TempDir dir;
  Tuning t;
  t.segment_target_size = 8192;
  std::string expect;
  {
    auto store = Open(dir.path, t);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/keep"), {}, false}).ok());
    REQUIRE(CreateSync(*store, {Meta(2, "/v1/stream/junk"), {}, false}).ok());
    // Interleaved: every segment holds a little of "keep" and a lot of "junk".
    for (int i = 0; i < 60; ++i) {
      std::string k = "k" + std::to_string(i) + ";";
      expect += k;
      REQUIRE(AppendText(*store, 1, k).ok());
      REQUIRE(AppendText(*store, 2, std::string(900, 'j')).ok());
    }
    auto before = DirBytes(dir.path);
    REQUIRE(DropSync(*store, 2).ok());
    // Rolls happen on writes: keep appending a little until compaction has run.
    for (int i = 0; i < 40; ++i) {
      std::string k = "m" + std::to_string(i) + ";";
      expect += k;
      REQUIRE(AppendText(*store, 1, std::string(200, 'x') + k).ok());
      expect.insert(expect.size() - k.size(), std::string(200, 'x'));
    }
    auto after = DirBytes(dir.path);
    CHECK(after * 3 < before);
    CHECK(ReadAll(*store, 1, 0, expect.size(), 64) == expect);
    // Crash now (copy), and also reopen cleanly: both recover the relocated batches.
    TempDir crashed;
    fsys::copy(dir.path, crashed.path, fsys::copy_options::recursive);
    fsys::remove(crashed.path / "LOCK");
    auto c = Open(crashed.path, t);
    auto loaded = c->Load();
    REQUIRE(loaded.ok());
    CHECK(Find(*loaded, 1)->tail == expect.size());
    CHECK(ReadAll(*c, 1, 0, expect.size(), 64) == expect);
  }
  auto store = Open(dir.path, t);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  REQUIRE(Find(*loaded, 1));
  CHECK(Find(*loaded, 1)->tail == expect.size());
  CHECK(Find(*loaded, 1)->message_count == 100);
  CHECK(ReadAll(*store, 1, 0, expect.size(), 64) == expect);
}

TEST_CASE("RelocatedBatchKeepsItsMessageBoundaries") {
  TempDir dir;
  Tuning t;
  t.segment_target_size = 4096;
  auto store = Open(dir.path, t);
  REQUIRE(store->Load().ok());
  REQUIRE(
      CreateSync(*store, {Meta(1, "/v1/stream/json", "application/json"), {MakeBatch({"[1]", "[2]", "[3]"})}, false})
          .ok());
  REQUIRE(CreateSync(*store, {Meta(2, "/v1/stream/junk"), {}, false}).ok());
  for (int i = 0; i < 10; ++i) REQUIRE(AppendText(*store, 2, std::string(1000, 'j')).ok());
  REQUIRE(DropSync(*store, 2).ok());
  for (int i = 0; i < 10; ++i) REQUIRE(AppendText(*store, 1, std::string(600, 'z')).ok());
  auto chunk = store->Read(1, 0, 9, 1 << 20);
  REQUIRE(chunk.ok());
  CHECK(chunk->data == "[1][2][3]");
  REQUIRE(chunk->messages.size() == 3);
  CHECK(chunk->messages[0].first);
  CHECK_FALSE(chunk->messages[1].first);
  CHECK_FALSE(chunk->messages[2].first);
  CHECK(chunk->messages[2].end == 9);
  CHECK(Segments(dir.path).front().filename().string() != "0000000000000001.log");  // moved out of segment 1
}

}  // namespace dsx::session::filestore
