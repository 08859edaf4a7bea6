// Readers, appenders, rolls and drops at the same time: reads only ever see whole, in-order
// data up to the tail an append callback reported (run under -fsanitize=thread too).
#include <doctest/doctest.h>

#include <thread>

#include "store_test_util.hpp"

namespace dsx::session::filestore {
using namespace testing;

TEST_CASE("ReadersSeeWholeInOrderDataWhileAppendsRollAndDropsRun") {
  TempDir dir;
  Tuning t;
  t.segment_target_size = 8192;  // many rolls, checkpoints and segment removals
  auto store = Open(dir.path, t);
  REQUIRE(store->Load().ok());
  constexpr int kStreams = 4, kAppends = 300;
  for (int s = 1; s <= kStreams; ++s) REQUIRE(CreateSync(*store, {Meta(s, "/s/" + std::to_string(s)), {}, false}).ok());
  std::vector<std::atomic<std::uint64_t>> durable(kStreams + 1);
  std::atomic<bool> writers_done{false};
  std::atomic<int> errors{0};

  std::vector<std::thread> threads;
  for (int s = 1; s <= kStreams; ++s) {
    threads.emplace_back([&, s] {
      for (int i = 0; i < kAppends; ++i) {
        // Message i is 10 bytes: "s<stream>:<i padded>" so a reader can check every byte.
        char msg[16];
        std::snprintf(msg, sizeof msg, "%d:%07d\n", s, i);
        auto r = AppendText(*store, s, std::string(msg, 10));
        if (!r.ok() || r->tail != std::uint64_t(i + 1) * 10) errors++;
        durable[s] = r.ok() ? r->tail : durable[s].load();
      }
    });
  }
  // Churn: streams created and dropped alongside, so segments die and get removed.
  threads.emplace_back([&] {
    for (int i = 0; i < 60; ++i) {
      StreamId id = 100 + i;
      if (!CreateSync(*store, {Meta(id, "/tmp/" + std::to_string(i)), {MakeBatch({std::string(500, 'z')})}, false})
               .ok())
        errors++;
      if (!DropSync(*store, id).ok()) errors++;
    }
  });
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      while (!writers_done) {
        for (int s = 1; s <= kStreams; ++s) {
          std::uint64_t tail = durable[s];
          std::string data = ReadAll(*store, s, 0, tail, 256);
          if (data.size() != tail) {
            errors++;
            continue;
          }
          for (std::uint64_t i = 0; i < tail / 10; ++i) {
            char msg[16];
            std::snprintf(msg, sizeof msg, "%d:%07d\n", s, static_cast<int>(i));
            if (data.compare(i * 10, 10, msg, 10) != 0) {
              errors++;
              break;
            }
          }
        }
      }
    });
  }
  for (int i = 0; i < kStreams + 1; ++i) threads[i].join();
  writers_done = true;
  for (std::size_t i = kStreams + 1; i < threads.size(); ++i) threads[i].join();
  CHECK(errors == 0);
  REQUIRE(store->Close().ok());
  auto again = Open(dir.path, t);
  auto loaded = again->Load();
  REQUIRE(loaded.ok());
  CHECK(loaded->size() == kStreams);
  for (int s = 1; s <= kStreams; ++s) CHECK(Find(*loaded, s)->tail == kAppends * 10);
}

}  // namespace dsx::session::filestore
