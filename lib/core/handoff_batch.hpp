// HandoffBatch: one wake per target thread for a burst of hand-offs.
//
// Some threads complete many requests in a row: the file store's completer answers every
// append of a synced batch (60 and more at 256 connections), and one append wakes every
// reader parked on its stream (1,000 at the fan-out target). Each completion hands work to the
// I/O thread that owns the connection. Posted one by one, that is one lock of the target's
// queue and often one wake-up of the target per item, and the two threads fight over the
// queue while the target drains it.
//
// Such a thread opens a HandoffBatch around the burst. While one is open on the thread,
// Add() collects the work per target instead of delivering it; each target gets one delivery
// per kMaxItems items and one at the close of the batch, its items in the order they were
// added. Batches nest: only the outermost one collects and delivers.
//
// Contract for the work added: it must not be waited for inside the batch (it runs only after
// the batch closes or its group fills), and everything handed to one target from inside a
// batch must go through Add, or the target may see it in a different order.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace dsx {

class HandoffBatch {
 public:
  using Work = std::function<void()>;
  // Hands a group of work to its target, e.g. posts one handler that runs the items in order.
  using Deliver = void (*)(void* target, std::vector<Work>&& items);

  // A target's group is delivered early once it holds this many items: bounds the delay of
  // the first item of a long burst, and keeps the target busy while the burst goes on.
  static constexpr std::size_t kMaxItems = 64;

  HandoffBatch();
  ~HandoffBatch();  // the outermost batch delivers what is left
  HandoffBatch(const HandoffBatch&) = delete;
  HandoffBatch& operator=(const HandoffBatch&) = delete;

  // Adds `work` for `target` to this thread's open batch and returns true, or returns false
  // when no batch is open (the caller then hands the work off itself). `deliver` must be the
  // same for every Add with one target.
  static bool Add(void* target, Deliver deliver, Work work);

  // Whether a batch is open on this thread (lets a caller skip building a Work it would not add).
  static bool Open();

 private:
  struct Group {
    void* target;
    Deliver deliver;
    std::vector<Work> items;
  };
  void Flush();

  bool outermost_;
  std::vector<Group> groups_;  // few targets (one per I/O thread): a linear search is fastest
};

}  // namespace dsx
