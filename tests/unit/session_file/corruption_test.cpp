// Corruption is not a torn tail (issue 11, item 3): damaged bytes with valid records after them
// must never cost an acknowledged record or hand out an offset twice; only the streams whose
// records are affected become unavailable (503 with the reason); fsck reports it and repair
// salvages every valid record. Each case damages a copy of a store the way a crash and a bad
// disk would, then reopens it (file_store_recovery.cpp, segment_scan.cpp, fsck.cpp, repair.cpp).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>

#include <map>

#include "session/model/stream_service.hpp"
#include "session/store/file/fsck.hpp"
#include "session/store/file/repair.hpp"
#include "store_test_util.hpp"

namespace dsx::session::filestore {
using namespace testing;

namespace {

// Message i of stream `name`: unique, so a test can find its record in a segment.
std::string Msg(char name, int i) {
  std::string m = std::string(1, name) + "-" + std::to_string(1000 + i) + ":";
  return m + std::string(40, static_cast<char>('a' + i % 26));
}

// Streams a, b, c (ids 1..3) with `n` appends each, round robin, acknowledged; the directory is
// copied while the store is open (what SIGKILL leaves). `acked` is what each stream was told.
struct Workload {
  TempDir live, copy;
  std::map<StreamId, std::string> data;     // every acknowledged byte, per stream
  std::map<StreamId, std::uint64_t> acked;  // the last tail each stream was given
  explicit Workload(int n, Tuning t = {}, bool close = false) {
    auto store = Open(live.path, t);
    REQUIRE(store->Load().ok());
    for (StreamId id = 1; id <= 3; ++id)
      REQUIRE(CreateSync(*store, {Meta(id, std::string("/v1/stream/") + char('a' + id - 1)), {}, false}).ok());
    for (int i = 0; i < n; ++i)
      for (StreamId id = 1; id <= 3; ++id) {
        std::string m = Msg(static_cast<char>('a' + id - 1), i);
        auto r = AppendText(*store, id, m);
        REQUIRE(r.ok());
        data[id] += m;
        acked[id] = r->tail;
      }
    if (close) REQUIRE(store->Close().ok());
    fsys::copy(live.path, copy.path, fsys::copy_options::recursive);
    fsys::remove(copy.path / "LOCK");
  }
  fsys::path last_segment() const { return Segments(copy.path).back(); }
};

// Position of the record holding message `m` in `image` (its header).
std::size_t RecordOf(const std::string& image, const std::string& m) {
  auto at = image.find(m);
  REQUIRE(at != std::string::npos);
  // An append record: 9 header bytes, lid, start, flags, count, one size, then the message.
  return at - (kRecordHeaderSize + 8 + 8 + 1 + 4 + 4);
}

void Flip(const fsys::path& p, std::size_t pos, std::size_t n) {
  std::string bytes = Slurp(p);
  REQUIRE(pos + n <= bytes.size());
  for (std::size_t i = 0; i < n; ++i) bytes[pos + i] = static_cast<char>(bytes[pos + i] ^ 0x5a);
  Spit(p, bytes);
}

std::unique_ptr<StreamStore> Reopen(const fsys::path& dir, std::vector<StreamState>* loaded, Tuning t = {}) {
  auto store = Open(dir, t);
  REQUIRE(store);
  auto l = store->Load();
  REQUIRE_MESSAGE(l.ok(), l.status().message());
  *loaded = std::move(*l);
  return store;
}

// The stream is served exactly as acknowledged, and its next append lands at its old tail.
void CheckIntact(StreamStore& s, const std::vector<StreamState>& loaded, const Workload& w, StreamId id) {
  const StreamState* st = Find(loaded, id);
  REQUIRE(st);
  CHECK_FALSE(st->unavailable);
  CHECK(st->tail == w.acked.at(id));
  CHECK(ReadAll(s, id, 0, st->tail) == w.data.at(id));
}

// The stream refuses reads and appends with the reason, and its tail is past anything it
// acknowledged (so once repaired, no offset is handed out twice).
void CheckUnavailable(StreamStore& s, const std::vector<StreamState>& loaded, const Workload& w, StreamId id) {
  const StreamState* st = Find(loaded, id);
  REQUIRE(st);
  REQUIRE(st->unavailable);
  CHECK_FALSE(st->unavailable->empty());
  CHECK(st->tail >= w.acked.at(id));
  auto r = s.Read(id, 0, st->tail, 1 << 20);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  auto a = AppendText(s, id, "more");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().code() == Code::kUnavailable);
}

}  // namespace

TEST_CASE("FlippedBytesMidSegmentLoseNothingAcknowledgedAndReuseNoOffset") {
  // The case: 8 flipped bytes in the middle of the last .log after kill -9.
  Workload w(40);
  auto seg = w.last_segment();
  const std::string before = Slurp(seg);
  const std::size_t rec = RecordOf(before, Msg('b', 20));
  Flip(seg, rec + 40, 8);  // inside b's 21st message
  std::vector<StreamState> loaded;
  auto store = Reopen(w.copy.path, &loaded);
  // Nothing was cut: every valid record after the bad one is still there.
  CHECK(fsys::file_size(seg) >= WithoutPrefill(before).size());
  CheckIntact(*store, loaded, w, 1);
  CheckIntact(*store, loaded, w, 3);
  CheckUnavailable(*store, loaded, w, 2);
  CHECK(Find(loaded, 2)->unavailable->find("lost") != std::string::npos);
  // The others go on where they were.
  auto r = AppendText(*store, 1, "next");
  REQUIRE(r.ok());
  CHECK(r->tail == w.acked[1] + 4);
}

TEST_CASE("FlippedLengthFieldIsFoundByScanningForTheNextRecord") {
  Workload w(30);
  auto seg = w.last_segment();
  const std::size_t rec = RecordOf(Slurp(seg), Msg('a', 10));
  Flip(seg, rec + 4, 4);  // the length: the record's own framing is lost
  std::vector<StreamState> loaded;
  auto store = Reopen(w.copy.path, &loaded);
  CheckUnavailable(*store, loaded, w, 1);
  CheckIntact(*store, loaded, w, 2);
  CheckIntact(*store, loaded, w, 3);
  auto& report = static_cast<FileStore&>(*store).recovery_report();
  CHECK(report.corrupt());
  REQUIRE(report.damaged.size() == 1);
  CHECK(report.damaged[0].path == "/v1/stream/a");
}

TEST_CASE("DamagedLastRecordOfAnIdleStreamMovesItsTailPastTheDamage") {
  // Stream b's last record is damaged and b has no record after it: what it acknowledged
  // there cannot be read back, so its next offset is bounded by the bad bytes' size.
  Workload w(10);
  std::uint64_t more_tail = 0;
  {
    // One more append to a, then one to b, then many to a and c: b is idle after it.
    auto store = Open(w.copy.path);
    REQUIRE(store->Load().ok());
    REQUIRE(AppendText(*store, 2, Msg('b', 99)).ok());
    w.data[2] += Msg('b', 99);
    w.acked[2] += Msg('b', 99).size();
    for (int i = 0; i < 5; ++i)
      for (StreamId id : {1, 3}) {
        auto r = AppendText(*store, id, Msg(static_cast<char>('a' + id - 1), 50 + i));
        REQUIRE(r.ok());
        w.data[id] += Msg(static_cast<char>('a' + id - 1), 50 + i);
        w.acked[id] = r->tail;
      }
    more_tail = w.acked[2];
    TempDir snap;
    fsys::copy(w.copy.path, snap.path, fsys::copy_options::recursive);
    store.reset();
    fsys::remove_all(w.copy.path);
    fsys::copy(snap.path, w.copy.path, fsys::copy_options::recursive);
    fsys::remove(w.copy.path / "LOCK");
  }
  auto seg = w.last_segment();
  Flip(seg, RecordOf(Slurp(seg), Msg('b', 99)) + 45, 3);
  std::vector<StreamState> loaded;
  auto store = Reopen(w.copy.path, &loaded);
  CheckUnavailable(*store, loaded, w, 2);
  CHECK(Find(loaded, 2)->tail > more_tail);
  CheckIntact(*store, loaded, w, 1);
  CheckIntact(*store, loaded, w, 3);
}

TEST_CASE("ZeroedRecordsInsideABadRangeMakeItsOwnersUnknown") {
  // Found by the recovery fuzzer: a's last record damaged, b's last record (right after it)
  // zeroed, c's last record intact. The range's framing names a, but the zeros after it may
  // have been records (they were: b's), so every stream not proven intact is unavailable.
  Workload w(10);
  auto seg = w.last_segment();
  std::string image = Slurp(seg);
  const std::size_t ra = RecordOf(image, Msg('a', 9)), rb = RecordOf(image, Msg('b', 9)),
                    rc = RecordOf(image, Msg('c', 9));
  REQUIRE((ra < rb && rb < rc));
  image[ra + 40] ^= 0x11;
  std::fill(image.begin() + static_cast<std::ptrdiff_t>(rb), image.begin() + static_cast<std::ptrdiff_t>(rc), '\0');
  Spit(seg, image);
  std::vector<StreamState> loaded;
  auto store = Reopen(w.copy.path, &loaded);
  CheckUnavailable(*store, loaded, w, 1);
  CheckUnavailable(*store, loaded, w, 2);
  CheckIntact(*store, loaded, w, 3);
}

TEST_CASE("TornTailWithNothingValidAfterItIsStillCut") {
  Workload w(5);
  auto seg = w.last_segment();
  std::string image = Slurp(seg);
  const std::size_t records = WithoutPrefill(image).size();
  image[records - 3] ^= 0x20;  // the last record (c's last message), followed by zeros only
  Spit(seg, image);
  std::vector<StreamState> loaded;
  auto store = Reopen(w.copy.path, &loaded);
  CHECK(Find(loaded, 3)->tail == w.acked[3] - Msg('c', 4).size());
  CHECK_FALSE(Find(loaded, 3)->unavailable);
  CHECK(fsys::file_size(seg) < records);
  auto& report = static_cast<FileStore&>(*store).recovery_report();
  CHECK_FALSE(report.corrupt());
  bool cut = false;
  for (const auto& s : report.segments) cut = cut || s.cut.has_value();
  CHECK(cut);
}

TEST_CASE("DamageSurvivesARestartUntilRepaired") {
  Workload w(20);
  auto seg = w.last_segment();
  Flip(seg, RecordOf(Slurp(seg), Msg('c', 7)) + 30, 8);
  {
    std::vector<StreamState> loaded;
    auto store = Reopen(w.copy.path, &loaded);
    CheckUnavailable(*store, loaded, w, 3);
    REQUIRE(store->Close().ok());
  }
  std::vector<StreamState> loaded;
  auto store = Reopen(w.copy.path, &loaded);  // from the checkpoint now: the segment is sealed
  CheckUnavailable(*store, loaded, w, 3);
  CheckIntact(*store, loaded, w, 1);
  CheckIntact(*store, loaded, w, 2);
}

TEST_CASE("CorruptIndexPlusBadSegmentTakesOnlyTheAffectedStreamOffline") {
  Tuning t;
  t.segment_target_size = 1024;
  Workload w(30, t, /*close=*/true);
  auto segs = Segments(w.copy.path);
  REQUIRE(segs.size() >= 4);
  // A sealed segment: its .idx corrupt, and one of its records too.
  const fsys::path seg = segs[1];
  fsys::path idx = seg;
  idx.replace_extension(".idx");
  Flip(idx, 30, 4);
  const std::string image = Slurp(seg);
  char victim = 0;
  int msg = -1;
  for (int i = 0; i < 30 && msg < 0; ++i)
    for (char c : {'a', 'b', 'c'})
      if (image.find(Msg(c, i)) != std::string::npos && msg < 0) {
        victim = c;
        msg = i;
      }
  REQUIRE(msg >= 0);
  Flip(seg, RecordOf(image, Msg(victim, msg)) + 40, 8);
  const StreamId bad = static_cast<StreamId>(victim - 'a' + 1);
  std::vector<StreamState> loaded;
  auto store = Reopen(w.copy.path, &loaded, t);
  CheckUnavailable(*store, loaded, w, bad);
  for (StreamId id = 1; id <= 3; ++id)
    if (id != bad) CheckIntact(*store, loaded, w, id);
}

TEST_CASE("CorruptCheckpointFallsBackToReplayingTheLog") {
  Workload w(10, {}, /*close=*/true);
  Flip(w.copy.path / "CHECKPOINT", 20, 2);
  std::vector<StreamState> loaded;
  auto store = Reopen(w.copy.path, &loaded);
  for (StreamId id = 1; id <= 3; ++id) CheckIntact(*store, loaded, w, id);
  CHECK(static_cast<FileStore&>(*store).recovery_report().checkpoint == "corrupt");
  auto r = AppendText(*store, 2, "x");
  REQUIRE(r.ok());
  CHECK(r->tail == w.acked[2] + 1);
}

TEST_CASE("CorruptCheckpointAfterRemovedSegmentsMarksStreamsThatCannotBeProvenComplete") {
  Tuning t;
  t.segment_target_size = 512;
  TempDir dir;
  std::string expect_b;
  {
    auto store = Open(dir.path, t);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
    REQUIRE(CreateSync(*store, {Meta(9, "/v1/stream/tmp"), {}, false}).ok());
    for (int i = 0; i < 10; ++i) REQUIRE(AppendText(*store, 9, std::string(100, 't')).ok());
    REQUIRE(DropSync(*store, 9).ok());  // its segments die and are removed
    REQUIRE(AppendText(*store, 1, "late").ok());
    // Initial data keeps the segment of b's create alive (a create alone is not live data).
    REQUIRE(CreateSync(*store, {Meta(2, "/v1/stream/b"), {MakeBatch({"b0"})}, false}).ok());
    expect_b = "b0";
    for (int i = 0; i < 6; ++i) {
      REQUIRE(AppendText(*store, 2, std::string(100, 'b')).ok());
      expect_b += std::string(100, 'b');
    }
    REQUIRE(store->Close().ok());
  }
  Flip(dir.path / "CHECKPOINT", 20, 2);
  std::vector<StreamState> loaded;
  auto store = Reopen(dir.path, &loaded, t);
  // b was created after the last removed segment: the log holds all of it.
  REQUIRE(Find(loaded, 2));
  CHECK_FALSE(Find(loaded, 2)->unavailable);
  CHECK(ReadAll(*store, 2, 0, 602) == expect_b);
  // a's create is in a segment that was removed (nothing names the stream any more: its
  // records are reported as orphans), or before one (then it may have lost a close or a
  // delete): it is never served as if complete.
  const StreamState* a = Find(loaded, 1);
  auto& report = static_cast<FileStore&>(*store).recovery_report();
  CHECK((a == nullptr ? !report.orphans.empty() : a->unavailable.has_value()));
  CHECK(report.corrupt());
}

TEST_CASE("MissingSegmentTakesOnlyTheStreamsWithDataInIt") {
  Tuning t;
  t.segment_target_size = 1024;
  TempDir dir;
  std::string expect_b;
  {
    auto store = Open(dir.path, t);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
    for (int i = 0; i < 20; ++i) REQUIRE(AppendText(*store, 1, std::string(100, 'a')).ok());
    REQUIRE(CreateSync(*store, {Meta(2, "/v1/stream/b"), {}, false}).ok());
    for (int i = 0; i < 20; ++i) {
      REQUIRE(AppendText(*store, 2, std::string(100, 'b')).ok());
      expect_b += std::string(100, 'b');
    }
    REQUIRE(store->Close().ok());
  }
  auto segs = Segments(dir.path);
  REQUIRE(segs.size() >= 4);
  REQUIRE(Slurp(segs[0]).find(std::string(100, 'a')) != std::string::npos);
  fsys::remove(segs[0]);  // a's first batches; its .idx stays
  std::vector<StreamState> loaded;
  auto store = Reopen(dir.path, &loaded, t);
  const StreamState* a = Find(loaded, 1);
  REQUIRE(a);
  REQUIRE(a->unavailable);
  CHECK(a->unavailable->find(segs[0].filename().string()) != std::string::npos);
  CHECK(a->tail == 2000);
  REQUIRE_FALSE(Find(loaded, 2)->unavailable);
  CHECK(ReadAll(*store, 2, 0, 2000) == expect_b);
  auto& report = static_cast<FileStore&>(*store).recovery_report();
  REQUIRE(report.missing_segments.size() == 1);
}

TEST_CASE("ServiceAnswers503ForTheDamagedStreamAndServesTheOthers") {
  Workload w(20);
  auto seg = w.last_segment();
  Flip(seg, RecordOf(Slurp(seg), Msg('b', 12)) + 40, 8);
  StreamService svc(Open(w.copy.path), ServiceOptions{});
  REQUIRE(svc.Open().ok());
  auto bad = svc.Read("/v1/stream/b", OffsetParam{});
  CHECK(bad.reply.status == 503);
  CHECK(bad.reply.error.find("unavailable") != std::string::npos);
  CHECK(svc.Head("/v1/stream/b").status == 503);
  std::promise<Reply> p;
  AppendArgs args;
  args.path = "/v1/stream/b";
  args.content_type = "text/plain";
  args.body = "more";
  svc.Append(std::move(args), [&](Reply r) { p.set_value(std::move(r)); });
  CHECK(p.get_future().get().status == 503);
  auto good = svc.Read("/v1/stream/a", OffsetParam{});
  CHECK(good.reply.status == 200);
  CHECK(good.body == w.data[1]);
  REQUIRE(svc.Close().ok());
}

TEST_CASE("FsckReportsBadRangesAndStreamsAndChangesNothing") {
  Workload w(20);
  auto seg = w.last_segment();
  const std::size_t rec = RecordOf(Slurp(seg), Msg('a', 5));
  Flip(seg, rec + 40, 8);
  std::map<std::string, std::string> before;
  for (auto& e : fsys::recursive_directory_iterator(w.copy.path))
    if (e.is_regular_file()) before[e.path().string()] = Slurp(e.path());
  auto r = Fsck(w.copy.path);
  REQUIRE(r.ok());
  CHECK(r->corrupt());
  bool found = false;
  for (const auto& s : r->report.segments)
    for (const auto& b : s.bad) found = found || (b.begin == rec && b.reason == "checksum mismatch");
  CHECK(found);
  REQUIRE(r->report.damaged.size() == 1);
  CHECK(r->report.damaged[0].path == "/v1/stream/a");
  auto j = FsckJson(*r);
  CHECK(j["clean"] == false);
  CHECK(j["unavailable_streams"][0]["path"] == "/v1/stream/a");
  CHECK(FsckText(*r).find("bad bytes " + std::to_string(rec) + "..") != std::string::npos);
  std::map<std::string, std::string> after;
  for (auto& e : fsys::recursive_directory_iterator(w.copy.path))
    if (e.is_regular_file()) after[e.path().string()] = Slurp(e.path());
  CHECK(before == after);  // read-only
  // A clean store is clean.
  Workload clean(3, {}, true);
  auto ok = Fsck(clean.copy.path);
  REQUIRE(ok.ok());
  CHECK_FALSE(ok->corrupt());
}

TEST_CASE("RepairSalvagesEveryValidRecordAndReusesNoOffset") {
  Workload w(30);
  auto seg = w.last_segment();
  const std::string victim = Msg('b', 14);
  Flip(seg, RecordOf(Slurp(seg), victim) + 40, 8);
  auto r = Repair(w.copy.path);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->before.corrupt());
  CHECK_FALSE(r->after.corrupt());
  // Opens clean; every stream served; b has all of its valid data at its original offsets.
  std::vector<StreamState> loaded;
  auto store = Reopen(w.copy.path, &loaded);
  CHECK(static_cast<FileStore&>(*store).recovery_report().damaged.empty());
  CheckIntact(*store, loaded, w, 1);
  CheckIntact(*store, loaded, w, 3);
  const StreamState* b = Find(loaded, 2);
  REQUIRE(b);
  CHECK_FALSE(b->unavailable);
  CHECK(b->tail == w.acked[2]);
  const std::size_t lost_at = w.data[2].find(victim);
  // Up to the lost message, then (a read from inside it) everything after it.
  auto head = store->Read(2, 0, b->tail, 1 << 20);
  REQUIRE(head.ok());
  CHECK(head->data == w.data[2].substr(0, lost_at));
  auto rest = store->Read(2, lost_at, b->tail, 1 << 20);
  REQUIRE(rest.ok());
  CHECK(rest->begin == lost_at + victim.size());
  CHECK(rest->data == w.data[2].substr(lost_at + victim.size()));
  auto a = AppendText(*store, 2, "new");
  REQUIRE(a.ok());
  CHECK(a->tail == w.acked[2] + 3);  // past everything b ever acknowledged
  REQUIRE(store->Close().ok());
  auto again = Fsck(w.copy.path);
  REQUIRE(again.ok());
  CHECK_FALSE(again->corrupt());
}

TEST_CASE("RepairRefusesWhileAServerHoldsTheDirectory") {
  Workload w(2);
  auto store = Open(w.copy.path);
  REQUIRE(store->Load().ok());
  auto r = Repair(w.copy.path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kConflict);
  CHECK(StoreDirInUse(w.copy.path));
}

TEST_CASE("CheckpointKeepsUnavailableReasonAndLostRanges") {
  Checkpoint cp;
  cp.replay_segment = 7;
  cp.next_lid = 4;
  CheckpointStream s;
  s.lid = 3;
  s.state.meta = Meta(3, "/v1/stream/x");
  s.state.tail = 500;
  s.state.unavailable = "segment 0000000000000002.log is missing";
  s.lost = {{100, 200}, {300, 350}};
  cp.streams.push_back(s);
  CheckpointStream plain;
  plain.lid = 2;
  plain.state.meta = Meta(2, "/v1/stream/y");
  cp.streams.push_back(plain);
  auto back = DecodeCheckpoint(EncodeCheckpoint(cp));
  REQUIRE(back);
  REQUIRE(back->streams.size() == 2);
  CHECK(back->streams[0].state.unavailable == s.state.unavailable);
  CHECK(back->streams[0].lost == s.lost);
  CHECK_FALSE(back->streams[1].state.unavailable);
  CHECK(back->streams[1].lost.empty());
}

}  // namespace dsx::session::filestore
