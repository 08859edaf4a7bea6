// Injected I/O failures (FaultEnv): a failed write or sync is sticky, like LevelDB's bg_error_.
#include <doctest/doctest.h>

#include "store_test_util.hpp"

namespace dsx::session::filestore {
using namespace testing;

TEST_CASE("FailedSyncIsSticky") {
  TempDir dir;
  FaultEnv env;
  Tuning t;
  t.env = &env;
  {
    auto store = Open(dir.path, t);
    REQUIRE(store->Load().ok());
    REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
    REQUIRE(AppendText(*store, 1, "kept").ok());
    env.fail_sync_at = env.syncs + 1;
    auto failed = AppendText(*store, 1, "lost");
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.status().code() == Code::kUnavailable);
    auto later = AppendText(*store, 1, "later");  // would sync fine, but the store is failed
    REQUIRE_FALSE(later.ok());
    CHECK(later.status().message().find("injected sync failure") != std::string::npos);
    CHECK(CreateSync(*store, {Meta(2, "/v1/stream/b"), {}, false}).code() == Code::kUnavailable);
    CHECK_FALSE(store->Close().ok());
  }
  // A restart recovers from the log: what was acknowledged is there.
  auto store = Open(dir.path);
  auto loaded = store->Load();
  REQUIRE(loaded.ok());
  const StreamState* s = Find(*loaded, 1);
  REQUIRE(s);
  CHECK(ReadAll(*store, 1, 0, 4) == "kept");
}

TEST_CASE("FailedWriteIsSticky") {
  TempDir dir;
  FaultEnv env;
  Tuning t;
  t.env = &env;
  auto store = Open(dir.path, t);
  REQUIRE(store->Load().ok());
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
  env.fail_write_at = env.writes + 1;
  CHECK(AppendText(*store, 1, "x").status().code() == Code::kUnavailable);
  CHECK(AppendText(*store, 1, "y").status().code() == Code::kUnavailable);
  CHECK(DropSync(*store, 1).code() == Code::kUnavailable);
}

TEST_CASE("FailedSyncInBatchModeIsSticky") {
  TempDir dir;
  FaultEnv env;
  Tuning t;
  t.env = &env;
  auto store = Open(dir.path, t, FileStoreOptions::FsyncMode::kBatch, 5);
  REQUIRE(store->Load().ok());
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
  const int failing = env.syncs + 1;
  env.fail_sync_at = failing;
  (void)AppendText(*store, 1, "x");  // acknowledged after write; the timed sync fails
  // The writer's batch timer is a real-time wait on its thread (no clock can stand in): wait for
  // the sync to have happened rather than for a guessed time, then for the writer to record it.
  for (int i = 0; i < 10'000 && env.syncs < failing; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(env.syncs >= failing);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(AppendText(*store, 1, "y").status().code() == Code::kUnavailable);
}

TEST_CASE("FailedRollIsSticky") {
  TempDir dir;
  FaultEnv env;
  Tuning t;
  t.env = &env;
  t.segment_target_size = 200;
  auto store = Open(dir.path, t);
  REQUIRE(store->Load().ok());
  REQUIRE(CreateSync(*store, {Meta(1, "/v1/stream/a"), {}, false}).ok());
  REQUIRE(AppendText(*store, 1, std::string(150, 'a')).ok());
  env.fail_sync_at = env.syncs + 1;  // the seal's sync, before the next append is written
  CHECK(AppendText(*store, 1, std::string(150, 'b')).status().code() == Code::kUnavailable);
  CHECK(AppendText(*store, 1, "c").status().code() == Code::kUnavailable);
}

}  // namespace dsx::session::filestore
