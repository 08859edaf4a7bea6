// Recovery at open (file_store_recovery.cpp). A crash is simulated by copying the data
// directory while the store is open: after a SIGKILL the kernel keeps exactly what was
// written, which is what the copy sees. Each case then damages the copy one way.
#include <doctest/doctest.h>

#include "store_test_util.hpp"

namespace dsx::session::filestore {
using namespace testing;

namespace {

// A store with stream 1 holding "one", "two", "three" (tail 11), copied while open.
struct Crashed {
  TempDir live, copy;
  Crashed(Tuning t = {}) {
    auto store = Open(live.path, t);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
    for (const char* m : {"one", "two", "three"}) REQUIRE(AppendText(*store, 1, m).ok());
    fsys::copy(live.path, copy.path, fsys::copy_options::recursive);
    fsys::remove(copy.path / "LOCK");
  }
  fsys::path last_segment() const { return Segments(copy.path).back(); }
  // The last segment without the prefilled zeros behind its records; returns its size.
  std::uintmax_t trim_last_segment() const {
    Spit(last_segment(), WithoutPrefill(Slurp(last_segment())));
    return fsys::file_size(last_segment());
  }
};

}  // namespace

TEST_CASE("CrashWithoutCloseKeepsEverythingAcknowledged") {
  Crashed c;
  auto store = Open(c.copy.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  REQUIRE(Find(*loaded, 1));
  CHECK(Find(*loaded, 1)->tail == 11);
  CHECK(ReadAll(*store, 1, 0, 11) == "onetwothree");
  // Appends continue at the recovered tail, in a new segment.
  auto r = AppendText(*store, 1, "four");
  REQUIRE(r.ok());
  CHECK(r->tail == 15);
}

TEST_CASE("TruncatedTail") {
  Crashed c;
  auto seg = c.last_segment();
  auto size = c.trim_last_segment();
  fsys::resize_file(seg, size - 3);  // the last record ("three") is torn
  auto store = Open(c.copy.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  CHECK(Find(*loaded, 1)->tail == 6);
  CHECK(ReadAll(*store, 1, 0, 6) == "onetwo");
  CHECK(fsys::file_size(seg) < size - 3);  // cut back to the end of "two"
  REQUIRE(AppendText(*store, 1, "again").ok());
  CHECK(ReadAll(*store, 1, 0, 11) == "onetwoagain");
}

TEST_CASE("ChecksumMismatchInTail") {
  Crashed c;
  auto seg = c.last_segment();
  std::string bytes = WithoutPrefill(Slurp(seg));
  bytes[bytes.size() - 2] ^= 0x20;  // inside "three"
  Spit(seg, bytes);
  auto store = Open(c.copy.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  CHECK(Find(*loaded, 1)->tail == 6);
  CHECK(ReadAll(*store, 1, 0, 6) == "onetwo");
}

TEST_CASE("PrefilledZerosAreTheEndOfTheLogAndGoAtTheSeal") {
  Crashed c;
  auto seg = c.last_segment();
  const std::string image = Slurp(seg);
  const std::string records = WithoutPrefill(image);
  REQUIRE(image.size() > records.size());  // the writer zeroed ahead of its records
  auto store = Open(c.copy.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  CHECK(Find(*loaded, 1)->tail == 11);
  CHECK(ReadAll(*store, 1, 0, 11) == "onetwothree");
  CHECK(fsys::file_size(seg) == records.size());  // sealed at its records' end
  REQUIRE(AppendText(*store, 1, "four").ok());    // into a new, prefilled segment
  REQUIRE(store->Close().ok());
  // A clean close seals that one at its records' end too; the segment it starts stays empty.
  for (const auto& p : Segments(c.copy.path)) {
    std::string bytes = Slurp(p);
    CHECK((bytes.size() == kSegmentHeaderSize || bytes.back() != '\0'));  // every message ends in a letter
  }
}

TEST_CASE("TornRecordInsidePrefilledZeros") {
  // The crash hit while "three" was being written over the zeros: its first bytes landed,
  // the rest of the region still reads as zeros. That is a torn record, not the clean end.
  Crashed c;
  auto seg = c.last_segment();
  std::string image = Slurp(seg);
  const std::size_t records = WithoutPrefill(image).size();
  std::fill(image.begin() + static_cast<std::ptrdiff_t>(records) - 4,
            image.begin() + static_cast<std::ptrdiff_t>(records), '\0');
  Spit(seg, image);
  auto store = Open(c.copy.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  CHECK(Find(*loaded, 1)->tail == 6);
  CHECK(ReadAll(*store, 1, 0, 6) == "onetwo");
  REQUIRE(AppendText(*store, 1, "again").ok());
  CHECK(ReadAll(*store, 1, 0, 11) == "onetwoagain");
}

TEST_CASE("ZeroFilledTail") {
  Crashed c;
  auto seg = c.last_segment();
  Spit(seg, Slurp(seg) + std::string(4096, '\0'));  // file grew, data never landed
  auto store = Open(c.copy.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  CHECK(Find(*loaded, 1)->tail == 11);
  CHECK(ReadAll(*store, 1, 0, 11) == "onetwothree");
}

TEST_CASE("TornSegmentHeader") {
  Crashed c;
  auto seg = c.last_segment();
  auto name = seg.filename().string();
  auto next = seg.parent_path() / (std::string(15, '0') + "9.log");
  Spit(next, "DSXS");  // created by a roll, header half written
  auto store = Open(c.copy.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  CHECK(Find(*loaded, 1)->tail == 11);
  CHECK_FALSE(fsys::exists(next));
}

TEST_CASE("CorruptRecordFollowedByLaterSegmentsIsCorruptionNotATail") {
  // Checkpoint from early on, then several segments: all of them are replayed at open. A bad
  // record with valid records after it (here: in later segments) is corruption: nothing after
  // it is cut, and its stream is unavailable rather than served with a hole (issue 11).
  TempDir live, copy;
  Tuning t;
  t.segment_target_size = 256;
  auto store = Open(live.path, t);
  REQUIRE(store->Load().ok());
  // Initial data keeps segment 1 alive (a segment without live data is removed at the roll).
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {MakeBatch({std::string(100, 'b')})}, false}).ok());
  std::string early_checkpoint = Slurp(live.path / "CHECKPOINT");
  std::string body(100, 'b');
  for (int i = 0; i < 12; ++i) REQUIRE(AppendText(*store, 1, body).ok());
  fsys::copy(live.path, copy.path, fsys::copy_options::recursive);
  fsys::remove(copy.path / "LOCK");
  Spit(copy.path / "CHECKPOINT", early_checkpoint);
  auto segs = Segments(copy.path);
  REQUIRE(segs.size() >= 6);
  std::string bytes = Slurp(segs[2]);
  bytes[kSegmentHeaderSize + 20] ^= 1;
  Spit(segs[2], bytes);
  auto again = Open(copy.path, t);
  auto loaded = again->Load();
  REQUIRE(loaded.ok());
  REQUIRE(Find(*loaded, 1));
  CHECK(Find(*loaded, 1)->tail == 1300);  // nothing acknowledged is cut; no offset handed out twice
  REQUIRE(Find(*loaded, 1)->unavailable);
  CHECK_FALSE(again->Read(1, 0, 1300, 1 << 20).ok());
  CHECK(fsys::exists(segs.back()));
  // The damaged segment held nothing else: it goes like any segment without live data.
}

TEST_CASE("SealedSegmentIsNotRescannedAtOpenAndACorruptRecordIsNeverServed") {
  TempDir dir;
  Tuning t;
  t.segment_target_size = 512;
  {
    auto store = Open(dir.path, t);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
    for (int i = 0; i < 10; ++i) REQUIRE(AppendText(*store, 1, std::string(100, 'a' + i)).ok());
    REQUIRE(store->Close().ok());
  }
  // Flip a data byte of the first append, in a sealed segment below the checkpoint.
  auto first = Segments(dir.path).front();
  std::string bytes = Slurp(first);
  auto at = bytes.find(std::string(100, 'a'));
  REQUIRE(at != std::string::npos);
  bytes[at + 50] = 'Z';
  Spit(first, bytes);
  auto store = Open(dir.path, t);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());  // open read indexes only: it did not notice
  CHECK(Find(*loaded, 1)->tail == 1000);
  auto bad = store->Read(1, 0, 1000, 10);  // the reader does
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("checksum mismatch") != std::string::npos);
  auto good = store->Read(1, 100, 1000, 1 << 20);
  REQUIRE(good.ok());
  CHECK(good->data.size() == 900);
}

TEST_CASE("MissingIndexIsRebuiltFromTheSegment") {
  TempDir dir;
  Tuning t;
  t.segment_target_size = 512;
  {
    auto store = Open(dir.path, t);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
    for (int i = 0; i < 10; ++i) REQUIRE(AppendText(*store, 1, std::string(100, 'a' + i)).ok());
    REQUIRE(store->Close().ok());
  }
  auto first = Segments(dir.path).front();
  auto idx = first;
  idx.replace_extension(".idx");
  REQUIRE(fsys::remove(idx));
  auto store = Open(dir.path, t);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  CHECK(fsys::exists(idx));
  std::string expect;
  for (int i = 0; i < 10; ++i) expect += std::string(100, 'a' + i);
  CHECK(ReadAll(*store, 1, 0, 1000) == expect);
}

TEST_CASE("CorruptIndexIsRebuiltFromTheSegment") {
  TempDir dir;
  Tuning t;
  t.segment_target_size = 512;
  {
    auto store = Open(dir.path, t);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {MakeBatch({"x"})}, false}).ok());
    for (int i = 0; i < 6; ++i) REQUIRE(AppendText(*store, 1, std::string(100, 'y')).ok());
    REQUIRE(store->Close().ok());
  }
  auto idx = Segments(dir.path).front();
  idx.replace_extension(".idx");
  std::string bytes = Slurp(idx);
  bytes[bytes.size() - 10] ^= 0xff;
  Spit(idx, bytes);
  auto store = Open(dir.path, t);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  CHECK(ReadAll(*store, 1, 0, 601) == "x" + std::string(600, 'y'));
}

TEST_CASE("CorruptCheckpointIsReportedAndTheLogReplayed") {
  TempDir dir;
  {
    auto store = Open(dir.path);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {MakeBatch({"abc"})}, false}).ok());
    REQUIRE(store->Close().ok());
  }
  std::string bytes = Slurp(dir.path / "CHECKPOINT");
  bytes[10] ^= 1;
  Spit(dir.path / "CHECKPOINT", bytes);
  auto store = Open(dir.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  CHECK(static_cast<FileStore&>(*store).recovery_report().checkpoint == "corrupt");
  REQUIRE(Find(*loaded, 1));
  CHECK(ReadAll(*store, 1, 0, 3) == "abc");
}

TEST_CASE("DropIsReplayedAfterACrash") {
  Crashed c;
  {
    auto store = Open(c.copy.path);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(2, "/v1/stream/b"), {MakeBatch({"bee"})}, false}).ok());
    REQUIRE(DropSync(*store, 1).ok());
    TempDir again;
    fsys::copy(c.copy.path, again.path, fsys::copy_options::recursive);
    fsys::remove(again.path / "LOCK");
    auto reopened = Open(again.path);
    auto loaded = reopened->Load();
    INFO(loaded.status().message());
    REQUIRE(loaded.ok());
    CHECK_FALSE(Find(*loaded, 1));
    REQUIRE(Find(*loaded, 2));
    CHECK(ReadAll(*reopened, 2, 0, 3) == "bee");
  }
}

}  // namespace dsx::session::filestore
