// filestore_bench: appends/s of the embedded file store alone (no HTTP), closed loop.
//
//   filestore_bench [--dir DIR] [--conns N] [--streams N] [--body BYTES] [--seconds S]
//                   [--fsync always|batch|never]
//
// N simulated connections each keep one append in flight (like HTTP clients waiting for the
// answer); when one completes, a submitter thread sends that connection's next append. Prints
// appends/s, mean appends per fdatasync (the group-commit batch) and completion latency.
// Not a test: it never gates CI. Built next to the crash test because both drive the store.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "session/store/file/file_store.hpp"

using namespace dsx::session;
using Clock = std::chrono::steady_clock;

namespace {

struct Submitter {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<int> ready;  // connections whose previous append completed
};

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/dsx-filestore-bench";
  int conns = 256, streams = 256, body = 256, seconds = 5;
  std::string mode = "always";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir") dir = v;
    else if (k == "--conns") conns = std::stoi(v);
    else if (k == "--streams") streams = std::stoi(v);
    else if (k == "--body") body = std::stoi(v);
    else if (k == "--seconds") seconds = std::stoi(v);
    else if (k == "--fsync") mode = v;
    else {
      std::fprintf(stderr, "filestore_bench: unknown option '%s'\n", k.c_str());
      return 2;
    }
  }
  std::filesystem::remove_all(dir);
  FileStoreOptions o;
  o.dir = dir;
  o.fsync = mode == "never"   ? FileStoreOptions::FsyncMode::kNever
            : mode == "batch" ? FileStoreOptions::FsyncMode::kBatch
                              : FileStoreOptions::FsyncMode::kAlways;
  o.batch_interval_ms = 100;
  auto opened = OpenFileStore(o);
  if (!opened) {
    std::fprintf(stderr, "filestore_bench: %s\n", opened.status().message().c_str());
    return 1;
  }
  auto store = std::move(*opened);
  if (!store->Load().ok()) return 1;
  std::atomic<std::uint64_t> syncs{0}, synced{0}, sync_ns{0};
  store->SetSyncObserver([&](std::chrono::nanoseconds ns, std::size_t n) {
    syncs++;
    synced += n;
    sync_ns += ns.count();
  });
  for (int s = 0; s < streams; ++s) {
    std::promise<dsx::Status> p;
    CreateOp op;
    op.meta.id = s + 1;
    op.meta.path = "/v1/stream/bench/" + std::to_string(s);
    op.meta.content_type = "application/octet-stream";
    store->Create(std::move(op), [&](dsx::Status st) { p.set_value(st); });
    if (!p.get_future().get().ok()) return 1;
  }
  syncs = 0;
  synced = 0;
  sync_ns = 0;

  const std::string payload(body, 'x');
  constexpr int kSubmitters = 2;
  std::vector<Submitter> subs(kSubmitters);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0}, failed{0}, lat_sum_us{0};
  std::vector<Clock::time_point> sent(conns);
  auto submit = [&](int c) {
    AppendOp op;
    op.id = c % streams + 1;
    op.batch.payload = payload;
    op.batch.sizes = {static_cast<std::uint32_t>(body)};
    sent[c] = Clock::now();
    store->Append(std::move(op), [&, c](dsx::Result<AppendResult> r) {
      if (!r.ok()) failed++;
      done++;
      lat_sum_us += std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent[c]).count();
      Submitter& s = subs[c % kSubmitters];
      {
        std::lock_guard lk(s.mu);
        s.ready.push_back(c);
      }
      s.cv.notify_one();
    });
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kSubmitters; ++t) {
    threads.emplace_back([&, t] {
      Submitter& s = subs[t];
      for (int c = t; c < conns; c += kSubmitters) submit(c);
      std::unique_lock lk(s.mu);
      while (!stop) {
        s.cv.wait_for(lk, std::chrono::milliseconds(50), [&] { return !s.ready.empty() || stop; });
        std::deque<int> batch;
        batch.swap(s.ready);
        lk.unlock();
        if (!stop)
          for (int c : batch) submit(c);
        lk.lock();
      }
    });
  }
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  std::uint64_t n = done.load(), ns = syncs.load(), nsynced = synced.load(), lat = lat_sum_us.load();
  double sync_ms = ns ? sync_ns.load() / 1e6 / ns : 0.0;
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  for (auto& s : subs) s.cv.notify_all();
  for (auto& th : threads) th.join();
  (void)store->Close();
  std::printf(
      "fsync=%s conns=%d streams=%d body=%d: %.0f appends/s, %.1f MB/s, %llu syncs (%.1f appends/sync, "
      "%.2f ms/fdatasync), mean latency %.2f ms, failures %llu\n",
      mode.c_str(), conns, streams, body, n / secs, n * double(body) / secs / 1e6, static_cast<unsigned long long>(ns),
      ns ? double(nsynced) / ns : 0.0, sync_ms, n ? lat / 1000.0 / n : 0.0,
      static_cast<unsigned long long>(failed.load()));
  std::filesystem::remove_all(dir);
  return failed ? 1 : 0;
}
