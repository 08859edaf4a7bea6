// FileStore behaviour through the StreamStore interface: durability across reopen, reads,
// deletes and retention, group commit, fsync modes.
#include <doctest/doctest.h>

#include <thread>

#include "store_test_util.hpp"

namespace dsx::session::filestore {
using namespace testing;

TEST_CASE("CreateAppendReadRoundTrip") {
  TempDir dir;
  auto store = Open(dir.path);
  REQUIRE(store);
  REQUIRE(store->Load().ok());
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {MakeBatch({"init"})}, false}).ok());
  auto r = AppendText(*store, 1, "hello");
  REQUIRE(r.ok());
  CHECK(r->tail == 9);
  auto chunk = store->Read(1, 0, 9, 1 << 20);
  REQUIRE(chunk.ok());
  CHECK(chunk->begin == 0);
  CHECK(chunk->data == "inithello");
  REQUIRE(chunk->messages.size() == 2);
  CHECK(chunk->messages[0].end == 4);
  CHECK(chunk->messages[0].first);
  CHECK(chunk->messages[1].end == 9);
}

TEST_CASE("ReopenKeepsDataOffsetsAndProducerState") {
  TempDir dir;
  {
    auto store = Open(dir.path);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(3, "/v1/stream/p", "application/json"), {}, false}).ok());
    AppendOp op;
    op.id = 3;
    op.batch = MakeBatch({"{\"a\":1}", "{\"b\":2}"});
    op.producer = ProducerTuple{"writer-1", 4, 0};
    op.stream_seq = "0001";
    REQUIRE(AppendSync(*store, op).ok());
    op.batch = MakeBatch({"[3]"});
    op.producer = ProducerTuple{"writer-1", 4, 1};
    op.stream_seq = "0002";
    op.close = true;
    REQUIRE(AppendSync(*store, op).ok());
    REQUIRE(store->Close().ok());
  }
  auto store = Open(dir.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  const StreamState* s = Find(*loaded, 3);
  REQUIRE(s);
  CHECK(s->meta.content_type == "application/json");
  CHECK(s->tail == 17);
  CHECK(s->closed);
  CHECK(s->stream_seq == std::optional<std::string>("0002"));
  CHECK(s->producers.at("writer-1") == ProducerState{4, 1});
  CHECK(s->closed_by == std::optional<ProducerTuple>(ProducerTuple{"writer-1", 4, 1}));
  CHECK(s->message_count == 3);
  auto chunk = store->Read(3, 0, 17, 1 << 20);
  REQUIRE(chunk.ok());
  CHECK(chunk->data == "{\"a\":1}{\"b\":2}[3]");
  REQUIRE(chunk->messages.size() == 3);
  CHECK(chunk->messages[0].first);
  CHECK_FALSE(chunk->messages[1].first);
  CHECK(chunk->messages[2].first);
}

TEST_CASE("ReadRespectsFromEndLimitAndMaxBytes") {
  TempDir dir;
  auto store = Open(dir.path);
  REQUIRE(store->Load().ok());
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
  for (const char* m : {"aaaa", "bbbb", "cccc", "dddd"}) REQUIRE(AppendText(*store, 1, m).ok());
  auto mid = store->Read(1, 6, 16, 1 << 20);  // from inside "bbbb": starts with that message
  REQUIRE(mid.ok());
  CHECK(mid->begin == 4);
  CHECK(mid->data == "bbbbccccdddd");
  auto limited = store->Read(1, 4, 12, 1 << 20);  // end_limit is a message boundary
  REQUIRE(limited.ok());
  CHECK(limited->data == "bbbbcccc");
  auto small = store->Read(1, 0, 16, 5);  // stops once >= 5 bytes, at a message boundary
  REQUIRE(small.ok());
  CHECK(small->data == "aaaabbbb");
  auto one = store->Read(1, 0, 16, 1);  // always at least one message
  REQUIRE(one.ok());
  CHECK(one->data == "aaaa");
  auto empty = store->Read(1, 16, 16, 100);
  REQUIRE(empty.ok());
  CHECK(empty->messages.empty());
  CHECK(empty->begin == 16);
}

TEST_CASE("ForkStartsAtItsBaseOffset") {
  TempDir dir;
  {
    auto store = Open(dir.path);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/src"), {MakeBatch({"0123456789"})}, false}).ok());
    StreamMeta fork = Meta(2, "/v1/stream/fork");
    fork.fork_source = 1;
    fork.base_offset = 10;
    fork.fork_offset_given = true;
    REQUIRE(CreateSync(*store, {fork, {MakeBatch({"xy"})}, false}).ok());
    auto r = AppendText(*store, 2, "z");
    REQUIRE(r.ok());
    CHECK(r->tail == 13);
  }
  auto store = Open(dir.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  const StreamState* f = Find(*loaded, 2);
  REQUIRE(f);
  CHECK(f->meta.fork_source == std::optional<StreamId>(1));
  CHECK(f->meta.base_offset == 10);
  CHECK(f->meta.fork_offset_given);
  CHECK(f->tail == 13);
  CHECK(ReadAll(*store, 2, 10, 13) == "xyz");
}

TEST_CASE("UnknownStreamIsNotFoundAndDuplicateCreateIsConflict") {
  TempDir dir;
  auto store = Open(dir.path);
  REQUIRE(store->Load().ok());
  CHECK(AppendText(*store, 9, "x").status().code() == Code::kNotFound);
  CHECK(store->Read(9, 0, 0, 10).status().code() == Code::kNotFound);
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
  CHECK(CreateSync(*store, {Meta(1, "/v1/stream/b"), {}, false}).code() == Code::kConflict);
  CHECK(DropSync(*store, 9).code() == Code::kNotFound);
}

TEST_CASE("SecondStoreOnTheSameDirectoryIsRefused") {
  TempDir dir;
  auto first = Open(dir.path);
  REQUIRE(first);
  FileStoreOptions o;
  o.dir = dir.path;
  auto second = OpenFileStore(o);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Code::kConflict);
}

TEST_CASE("MutationsAfterCloseFail") {
  TempDir dir;
  auto store = Open(dir.path);
  REQUIRE(store->Load().ok());
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
  REQUIRE(store->Close().ok());
  CHECK(AppendText(*store, 1, "x").status().code() == Code::kUnavailable);
}

TEST_CASE("SoftDeleteKeepsDataAndDropRemovesStream") {
  TempDir dir;
  {
    auto store = Open(dir.path);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/src"), {MakeBatch({"data"})}, false}).ok());
    REQUIRE(CreateSync(*store, {Meta(2, "/v1/stream/gone"), {MakeBatch({"bye"})}, false}).ok());
    REQUIRE(SoftDeleteSync(*store, 1).ok());
    REQUIRE(DropSync(*store, 2).ok());
    CHECK(store->Read(2, 0, 3, 10).status().code() == Code::kNotFound);
  }
  auto store = Open(dir.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  REQUIRE(Find(*loaded, 1));
  CHECK(Find(*loaded, 1)->meta.soft_deleted);
  CHECK(ReadAll(*store, 1, 0, 4) == "data");
  CHECK_FALSE(Find(*loaded, 2));
}

TEST_CASE("DroppedStreamsFreeTheirSegments") {
  TempDir dir;
  Tuning t;
  t.segment_target_size = 4096;
  auto store = Open(dir.path, t);
  REQUIRE(store->Load().ok());
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/big"), {}, false}).ok());
  std::string body(1000, 'x');
  for (int i = 0; i < 40; ++i) REQUIRE(AppendText(*store, 1, body).ok());
  REQUIRE(CreateSync(*store, {Meta(2, "/v1/stream/keep"), {MakeBatch({"k"})}, false}).ok());
  for (int i = 0; i < 8; ++i) REQUIRE(AppendText(*store, 2, body).ok());  // rolls past the big one's segments
  auto before = Segments(dir.path).size();
  CHECK(before >= 10);
  REQUIRE(DropSync(*store, 1).ok());
  auto after = Segments(dir.path).size();
  CHECK(after + 8 <= before);
  CHECK(ReadAll(*store, 2, 0, 8001).size() == 8001);
  REQUIRE(store->Close().ok());
  auto again = Open(dir.path, t);
  auto loaded = again->Load();
  REQUIRE(loaded.ok());
  CHECK(Find(*loaded, 2)->tail == 8001);
  CHECK(ReadAll(*again, 2, 0, 8001) == "k" + std::string(8000, 'x'));
}

TEST_CASE("GroupCommitSharesOneSyncAmongConcurrentAppends") {
  TempDir dir;
  auto store = Open(dir.path);
  REQUIRE(store->Load().ok());
  std::atomic<std::size_t> syncs{0}, covered{0};
  store->SetSyncObserver([&](std::chrono::nanoseconds, std::size_t n) {
    syncs++;
    covered += n;
  });
  constexpr int kThreads = 8, kPer = 200;
  for (int t = 0; t < kThreads; ++t)
    REQUIRE(CreateSync(*store, {Meta(t + 1, "/v1/stream/" + std::to_string(t)), {}, false}).ok());
  syncs = 0;
  covered = 0;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Several appends in flight per thread, like many connections.
      std::vector<std::future<Result<AppendResult>>> inflight;
      for (int i = 0; i < kPer; ++i) {
        auto p = std::make_shared<std::promise<Result<AppendResult>>>();
        inflight.push_back(p->get_future());
        AppendOp op;
        op.id = t + 1;
        op.batch = MakeBatch({std::string(256, 'a' + t)});
        store->Append(std::move(op), [p](Result<AppendResult> r) { p->set_value(std::move(r)); });
      }
      std::uint64_t last = 0;
      for (auto& f : inflight) {
        auto r = f.get();
        if (!r.ok() || r->tail != last + 256) failures++;  // completes in order, tails grow by 256
        last = r.ok() ? r->tail : last;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(covered == kThreads * kPer);
  CHECK(syncs < kThreads * kPer / 4);
  MESSAGE("group commit: " << kThreads * kPer << " appends in " << syncs.load() << " syncs");
}

TEST_CASE("BatchModeSyncsWithinTheInterval") {
  TempDir dir;
  auto store = Open(dir.path, {}, FileStoreOptions::FsyncMode::kBatch, 20);
  REQUIRE(store->Load().ok());
  std::atomic<int> syncs{0};
  store->SetSyncObserver([&](std::chrono::nanoseconds, std::size_t) { syncs++; });
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
  REQUIRE(AppendText(*store, 1, "x").ok());
  for (int i = 0; i < 100 && syncs == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(syncs > 0);
}

TEST_CASE("NeverModeDoesNotSyncAppends") {
  TempDir dir;
  auto store = Open(dir.path, {}, FileStoreOptions::FsyncMode::kNever);
  REQUIRE(store->Load().ok());
  std::atomic<int> syncs{0};
  store->SetSyncObserver([&](std::chrono::nanoseconds, std::size_t) { syncs++; });
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
  for (int i = 0; i < 10; ++i) REQUIRE(AppendText(*store, 1, "x").ok());
  CHECK(syncs == 0);
}

TEST_CASE("BadOptionsAreUsageErrors") {
  FileStoreOptions o;
  CHECK(OpenFileStore(o).status().code() == Code::kUsage);
  TempDir dir;
  o.dir = dir.path;
  o.fsync = FileStoreOptions::FsyncMode::kBatch;
  o.batch_interval_ms = 0;
  CHECK(OpenFileStore(o).status().code() == Code::kUsage);
}

}  // namespace dsx::session::filestore
