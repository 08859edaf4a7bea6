#include "core/handoff_batch.hpp"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

namespace {

// A fake target: records each delivery (its size) and runs the items at once.
struct Target {
  std::vector<std::size_t> deliveries;
  static void Deliver(void* target, std::vector<dsx::HandoffBatch::Work>&& items) {
    static_cast<Target*>(target)->deliveries.push_back(items.size());
    for (auto& f : items) f();
  }
};

}  // namespace

TEST_CASE("handoff batch: without an open batch Add refuses and the caller hands off") {
  Target t;
  bool ran = false;
  CHECK_FALSE(dsx::HandoffBatch::Add(&t, &Target::Deliver, [&] { ran = true; }));
  CHECK_FALSE(ran);
  CHECK(t.deliveries.empty());
}

TEST_CASE("handoff batch: one delivery per target at close, items in order") {
  Target a, b;
  std::string order;
  {
    dsx::HandoffBatch batch;
    CHECK(dsx::HandoffBatch::Add(&a, &Target::Deliver, [&] { order += "a1 "; }));
    CHECK(dsx::HandoffBatch::Add(&b, &Target::Deliver, [&] { order += "b1 "; }));
    CHECK(dsx::HandoffBatch::Add(&a, &Target::Deliver, [&] { order += "a2 "; }));
    CHECK(order.empty());  // nothing runs while the batch is open
    CHECK(a.deliveries.empty());
  }
  CHECK(a.deliveries == std::vector<std::size_t>{2});
  CHECK(b.deliveries == std::vector<std::size_t>{1});
  CHECK(order == "a1 a2 b1 ");  // per target in order; targets in first-use order
}

TEST_CASE("handoff batch: a full group is delivered early, the rest at close") {
  Target t;
  std::vector<int> seen;
  const int n = static_cast<int>(dsx::HandoffBatch::kMaxItems) * 2 + 5;
  {
    dsx::HandoffBatch batch;
    for (int i = 0; i < n; ++i) dsx::HandoffBatch::Add(&t, &Target::Deliver, [&seen, i] { seen.push_back(i); });
    CHECK(t.deliveries.size() == 2);
  }
  CHECK(t.deliveries == std::vector<std::size_t>{dsx::HandoffBatch::kMaxItems, dsx::HandoffBatch::kMaxItems, 5});
  REQUIRE(seen.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("handoff batch: nested batches deliver once, when the outermost closes") {
  Target t;
  {
    dsx::HandoffBatch outer;
    {
      dsx::HandoffBatch inner;
      dsx::HandoffBatch::Add(&t, &Target::Deliver, [] {});
    }
    CHECK(t.deliveries.empty());
    dsx::HandoffBatch::Add(&t, &Target::Deliver, [] {});
  }
  CHECK(t.deliveries == std::vector<std::size_t>{2});
  CHECK_FALSE(dsx::HandoffBatch::Add(&t, &Target::Deliver, [] {}));  // closed
}

TEST_CASE("handoff batch: a batch belongs to its thread") {
  Target t;
  dsx::HandoffBatch batch;
  bool added_elsewhere = true;
  std::thread([&] { added_elsewhere = dsx::HandoffBatch::Add(&t, &Target::Deliver, [] {}); }).join();
  CHECK_FALSE(added_elsewhere);
  CHECK(dsx::HandoffBatch::Add(&t, &Target::Deliver, [] {}));
}

TEST_CASE("handoff batch: work delivered at close may open a batch of its own") {
  Target t, u;
  {
    dsx::HandoffBatch batch;
    dsx::HandoffBatch::Add(&t, &Target::Deliver, [&] {
      dsx::HandoffBatch again;  // runs during the outer batch's delivery
      CHECK(dsx::HandoffBatch::Add(&u, &Target::Deliver, [] {}));
    });
  }
  CHECK(t.deliveries == std::vector<std::size_t>{1});
  CHECK(u.deliveries == std::vector<std::size_t>{1});
}
