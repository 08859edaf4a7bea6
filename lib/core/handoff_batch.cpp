#include "core/handoff_batch.hpp"

#include <utility>

namespace dsx {
namespace {

thread_local HandoffBatch* open_batch = nullptr;  // the outermost batch open on this thread

}  // namespace

HandoffBatch::HandoffBatch() : outermost_(open_batch == nullptr) {
  if (outermost_) open_batch = this;
}

HandoffBatch::~HandoffBatch() {
  if (!outermost_) return;
  // Closed before delivering: delivery may run code that opens a batch of its own.
  open_batch = nullptr;
  Flush();
}

bool HandoffBatch::Add(void* target, Deliver deliver, Work work) {
  HandoffBatch* batch = open_batch;
  if (batch == nullptr) return false;
  Group* group = nullptr;
  for (auto& g : batch->groups_) {
    if (g.target == target) {
      group = &g;
      break;
    }
  }
  if (group == nullptr) {
    batch->groups_.push_back(Group{target, deliver, {}});
    group = &batch->groups_.back();
    group->items.reserve(kMaxItems);
  }
  group->items.push_back(std::move(work));
  if (group->items.size() >= kMaxItems) {
    std::vector<Work> full = std::move(group->items);
    group->items = {};
    group->items.reserve(kMaxItems);
    group->deliver(group->target, std::move(full));
  }
  return true;
}

bool HandoffBatch::Open() { return open_batch != nullptr; }

void HandoffBatch::Flush() {
  for (auto& g : groups_) {
    if (!g.items.empty()) g.deliver(g.target, std::move(g.items));
  }
  groups_.clear();
}

}  // namespace dsx
