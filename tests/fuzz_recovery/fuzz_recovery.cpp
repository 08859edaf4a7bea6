// libFuzzer target: damage a file store's files, reopen it, repair it, and check that recovery
// never loses or alters an acknowledged record silently and never hands out an offset twice
// (issue 11; docs/formats/segment-log.md, "Torn tails and corruption").
//
// A few stores are built once, deterministically, in memory (OverlayEnv with no base): three
// streams with acknowledged appends, small segments, either copied while open (what kill -9
// leaves) or closed cleanly. Each input picks one and applies up to 6 damages to its segment,
// .idx and CHECKPOINT files: flip bytes, truncate, copy a byte range over another (a duplicated
// range; positions stay put), zero a range, delete the file. Then:
//   (a) after the reopen, every stream is served exactly as acknowledged (same bytes at the same
//       offsets), or reported unavailable; a stream is absent only when its create record is
//       gone (reported);
//   (b) its next offset is past every offset it acknowledged;
//   except for records after the last record that survived the damage intact: a log whose end
//   was destroyed (its last records damaged, its last segment truncated or deleted) looks
//   exactly like a log a crash ended there, and is recovered as such (documented: a torn tail
//   is cut);
//   and the same after `repair`: everything served matches what was acknowledged, lost offsets
//   are skipped, never reused, and the repaired store reopens clean.
// Any violation traps (a crash for libFuzzer). Bad input must never crash or fail the open.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/log.hpp"
#include "session/store/file/coding.hpp"
#include "session/store/file/file_store_impl.hpp"
#include "session/store/file/overlay_env.hpp"
#include "session/store/file/repair.hpp"

using namespace dsx;
using namespace dsx::session;
using namespace dsx::session::filestore;
namespace fsys = std::filesystem;

namespace {

const fsys::path kDir = "/fuzz-store";

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_recovery: invariant violated: %s\n", what.c_str());
  __builtin_trap();
}
#define CHECK_OR_FAIL(cond, what) \
  do {                            \
    if (!(cond)) Fail(what);      \
  } while (0)

// Where an acknowledged append's record was written (in the undamaged files).
struct AckedRecord {
  std::uint64_t segment = 0, pos = 0;
  std::uint64_t start = 0, end = 0;  // stream offsets
};

struct StreamTruth {
  StreamId id = 0;
  std::string data;                  // every acknowledged byte, from offset 0
  std::vector<AckedRecord> records;  // its appends, in order
  std::uint64_t create_segment = 0, create_pos = 0;
};

// Any record of the undamaged files, to tell which survived the damage intact.
struct AnyRecord {
  std::string file;
  std::uint64_t segment = 0, pos = 0, len = 0;
};

struct Scenario {
  std::vector<AnyRecord> records;            // every record, in log order
  std::map<std::string, std::string> files;  // path -> bytes (LOCK excluded)
  std::vector<std::string> names;            // the damageable files, sorted
  std::vector<StreamTruth> streams;
};

Result<AppendResult> AppendSync(StreamStore& s, StreamId id, const std::string& m) {
  std::promise<Result<AppendResult>> p;
  AppendOp op;
  op.id = id;
  op.batch.payload = m;
  op.batch.sizes = {static_cast<std::uint32_t>(m.size())};
  s.Append(std::move(op), [&](Result<AppendResult> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

std::map<std::string, std::string> Snapshot(OverlayEnv& env) {
  std::map<std::string, std::string> out;
  for (const fsys::path& dir : {kDir, kDir / "segments"}) {
    auto names = env.List(dir);
    if (!names) continue;
    for (const auto& n : *names) {
      if (n == "LOCK" || n == "segments") continue;
      if (auto bytes = env.Contents(dir / n)) out[(dir / n).string()] = std::move(*bytes);
    }
  }
  return out;
}

// Builds a store: 3 streams, `rounds` appends each (round robin, sizes varying), segments of
// `segment_size` bytes; the files as they are while it is open (crash) or after Close.
Scenario Build(std::uint64_t segment_size, int rounds, bool close) {
  Scenario sc;
  OverlayEnv env(nullptr);
  Tuning t;
  t.env = &env;
  t.segment_target_size = segment_size;
  t.prefill_chunk = 2048;
  FileStoreOptions o;
  o.dir = kDir;
  auto opened = OpenFileStoreWith(o, t);
  if (!opened) Fail("cannot open the seed store: " + opened.status().message());
  StreamStore& store = **opened;
  if (!store.Load().ok()) Fail("cannot load the seed store");
  for (StreamId id = 1; id <= 3; ++id) {
    StreamMeta m;
    m.id = id;
    m.path = "/v1/stream/s" + std::to_string(id);
    m.content_type = "application/octet-stream";
    std::promise<Status> p;
    store.Create(CreateOp{m, {}, false}, [&](Status st) { p.set_value(st); });
    if (!p.get_future().get().ok()) Fail("cannot create a seed stream");
    sc.streams.push_back({id, "", {}, 0});
  }
  for (int i = 0; i < rounds; ++i)
    for (auto& s : sc.streams) {
      std::string msg = "s" + std::to_string(s.id) + "#" + std::to_string(i) + ":";
      msg += std::string(5 + (i * 7 + s.id * 3) % 40, static_cast<char>('A' + (i + s.id) % 26));
      auto r = AppendSync(store, s.id, msg);
      if (!r.ok()) Fail("seed append failed");
      s.data += msg;
      if (r->tail != s.data.size()) Fail("seed append tail");
    }
  if (close && !store.Close().ok()) Fail("cannot close the seed store");
  sc.files = Snapshot(env);
  opened->reset();
  if (!close) {
    // The last roll writes its sealed segment's .idx in the background: whether the copy has it
    // depends on timing. Without it, for the same input on every run (open rebuilds it).
    std::uint64_t last_log = 0;
    for (const auto& [path, bytes] : sc.files)
      if (auto n = SegmentFileNumber(fsys::path(path).filename().string(), ".log")) last_log = std::max(last_log, *n);
    if (last_log > 1) sc.files.erase((kDir / "segments" / SegmentFileName(last_log - 1, ".idx")).string());
  }
  // Where each acknowledged record sits (log ids are 1, 2, 3 in create order: fresh store).
  for (const auto& [path, bytes] : sc.files) {
    auto n = SegmentFileNumber(fsys::path(path).filename().string(), ".log");
    if (!n) continue;
    SegmentScan scan = ScanSegment(bytes, *n);
    for (const auto& r : scan.records) {
      sc.records.push_back({path, *n, r.pos, r.len});
      if (r.type == RecordType::kCreate) {
        auto c = DecodeCreate(r.payload);
        if (c && c->lid >= 1 && c->lid <= 3) {
          sc.streams[c->lid - 1].create_segment = *n;
          sc.streams[c->lid - 1].create_pos = r.pos;
        }
      } else if (r.type == RecordType::kAppend) {
        auto a = DecodeAppend(r.payload);
        if (a && a->lid >= 1 && a->lid <= 3)
          sc.streams[a->lid - 1].records.push_back({*n, r.pos, a->start_offset, a->start_offset + a->batch.data_len});
      }
    }
  }
  for (const auto& [path, bytes] : sc.files) sc.names.push_back(path);
  std::sort(sc.records.begin(), sc.records.end(), [](const AnyRecord& a, const AnyRecord& b) {
    return std::tie(a.segment, a.pos) < std::tie(b.segment, b.pos);
  });
  return sc;
}

const std::vector<Scenario>& Scenarios() {
  static const std::vector<Scenario> all = [] {
    // Recovery logs every finding; thousands of runs a second would only fill the terminal.
    log::SetLevel(static_cast<log::Level>(static_cast<int>(log::Level::kError) + 1));
    std::vector<Scenario> v;
    v.push_back(Build(1024, 12, /*close=*/false));     // crash; several sealed segments, one active
    v.push_back(Build(1024, 12, /*close=*/true));      // clean close: everything sealed
    v.push_back(Build(1 << 20, 10, /*close=*/false));  // crash; one active segment with prefill
    return v;
  }();
  return all;
}

// Applies the input's damages to a copy of the files.
std::map<std::string, std::string> Damage(const Scenario& sc, const std::uint8_t* data, std::size_t size) {
  auto files = sc.files;
  for (std::size_t i = 0; i + 8 <= size && i < 6 * 8; i += 8) {
    const std::uint8_t* op = data + i;
    const std::string& name = sc.names[op[1] % sc.names.size()];
    auto it = files.find(name);
    if (it == files.end()) continue;
    std::string& f = it->second;
    if (f.empty() && op[0] % 5 != 4) continue;
    const std::size_t pos = f.empty() ? 0 : (op[2] | op[3] << 8 | op[4] << 16) % f.size();
    const std::size_t len = 1 + op[5] % 24;
    switch (op[0] % 5) {
      case 0:  // flip bytes
        for (std::size_t k = pos; k < std::min(f.size(), pos + len); ++k) f[k] = static_cast<char>(f[k] ^ (op[6] | 1));
        break;
      case 1:  // truncate
        f.resize(pos);
        break;
      case 2: {  // a byte range copied over another (duplicated)
        const std::size_t to = (pos + 1 + (op[6] | op[7] << 8)) % f.size();
        const std::size_t n = std::min({len * 4, f.size() - pos, f.size() - to});
        std::memmove(f.data() + to, f.data() + pos, n);
        break;
      }
      case 3:  // zeroed range
        std::memset(f.data() + pos, 0, std::min(f.size() - pos, len * 8));
        break;
      case 4:  // the file is gone
        files.erase(it);
        break;
    }
  }
  return files;
}

// The destroyed end of the log: every record after the last one that survived the damage
// intact. Losing those is what a crash at that point would leave: undetectable, and allowed.
struct Cut {
  bool any = false;  // some record survived (else the whole log is "after")
  std::uint64_t segment = 0, pos = 0;
  bool covers(const AckedRecord& r) const {
    return !any || r.segment > segment || (r.segment == segment && r.pos > pos);
  }
};

Cut CutOf(const Scenario& sc, const std::map<std::string, std::string>& damaged) {
  Cut c;
  for (const auto& r : sc.records) {
    auto d = damaged.find(r.file);
    if (d == damaged.end() || d->second.size() < r.pos + r.len) continue;
    if (d->second.compare(r.pos, r.len, sc.files.at(r.file), r.pos, r.len) != 0) continue;
    c = {true, r.segment, r.pos};  // records are in log order: the last intact one wins
  }
  return c;
}

bool SegmentDamaged(const RecoveryReport& rep, std::uint64_t n) {
  for (const auto& s : rep.segments)
    if (s.number == n) return !s.bad.empty() || s.cut || s.removed;
  return true;  // not found: the segment is gone
}

// Every byte a read of the stream returns equals what was acknowledged at that offset; returns
// how far the reads got. Reads step over lost ranges (a chunk may begin after `from`). A sealed
// segment is trusted through its .idx at open; a record damaged there is found by the read that
// verifies it, which fails with the reason (the service answers 503): reported, not silent, so
// allowed where `may_fail` (before a repair, which verifies every record).
std::uint64_t CheckServed(StreamStore& store, const StreamTruth& truth, std::uint64_t tail, const char* when,
                          bool may_fail, bool* failed) {
  std::uint64_t from = 0, covered = 0;
  int guard = 0;
  while (from < tail && guard++ < 100000) {
    auto r = store.Read(truth.id, from, tail, 1 << 16);
    if (!r.ok() && may_fail && r.status().message().find("corrupt") != std::string::npos) {
      *failed = true;
      return covered;
    }
    CHECK_OR_FAIL(r.ok(), std::string(when) + ": read of an available stream failed: " + r.status().message());
    if (r->messages.empty()) break;  // a lost range up to the tail
    CHECK_OR_FAIL(r->begin >= from || r->begin + r->data.size() > from,
                  std::string(when) + ": chunk before the offset");
    for (std::size_t k = 0; k < r->data.size(); ++k) {
      const std::uint64_t off = r->begin + k;
      CHECK_OR_FAIL(off >= truth.data.size() || r->data[k] == truth.data[off],
                    std::string(when) + ": served bytes differ from what was acknowledged");
    }
    covered += r->data.size();
    from = r->messages.back().end;
  }
  return covered;
}

struct Opened {
  std::unique_ptr<StreamStore> store;
  std::vector<StreamState> states;
  RecoveryReport report;
};

Opened Reopen(OverlayEnv& env) {
  Tuning t;
  t.env = &env;
  t.segment_target_size = 1024;
  t.prefill_chunk = 0;
  FileStoreOptions o;
  o.dir = kDir;
  auto opened = OpenFileStoreWith(o, t);
  CHECK_OR_FAIL(opened.ok(), "open failed: " + opened.status().message());
  auto loaded = (*opened)->Load();
  CHECK_OR_FAIL(loaded.ok(), "recovery failed the open: " + loaded.status().message());
  Opened out{std::move(*opened), std::move(*loaded), {}};
  out.report = static_cast<FileStore&>(*out.store).recovery_report();
  return out;
}

const StreamState* FindState(const std::vector<StreamState>& v, StreamId id) {
  for (const auto& s : v)
    if (s.meta.id == id) return &s;
  return nullptr;
}

// (a) and (b) for one open store. `cut`: the destroyed end of the log (allowed to be lost).
// `now`: each stream's acknowledged bytes so far.
// `may_stay_unavailable`: paths whose loss cannot be bounded (a missing segment after the
// checkpoint): a repair leaves them unavailable rather than guess their next offset.
void CheckStore(Opened& o, const Scenario& sc, const std::vector<StreamTruth>& now, const Cut& cut,
                const RecoveryReport& first, const char* when, bool must_be_available,
                const std::set<std::string>& may_stay_unavailable = {}) {
  for (const auto& truth : now) {
    const StreamState* st = FindState(o.states, truth.id);
    if (!st) {
      // Only when nothing names the stream any more: its create record is gone.
      CHECK_OR_FAIL(first.checkpoint != "ok" || SegmentDamaged(first, truth.create_segment) ||
                        cut.covers(AckedRecord{truth.create_segment, truth.create_pos, 0, 0}),
                    std::string(when) + ": a stream disappeared");
      continue;
    }
    // What it may have lost without being unavailable: the records at the destroyed end.
    std::uint64_t must_keep = 0;
    for (const auto& r : truth.records)
      if (!cut.covers(r)) must_keep = std::max(must_keep, r.end);
    if (st->unavailable) {
      CHECK_OR_FAIL(!must_be_available || may_stay_unavailable.count(st->meta.path),
                    std::string(when) + ": a stream is still unavailable");
      // Its next offset matters once a repair makes it available again (checked after it);
      // where its loss is unbounded it stays unavailable.
      auto r = o.store->Read(truth.id, 0, st->tail, 1024);
      CHECK_OR_FAIL(!r.ok(), std::string(when) + ": an unavailable stream was served");
      continue;
    }
    // (b): no offset it acknowledged (before the destroyed end) is handed out again.
    CHECK_OR_FAIL(st->tail >= must_keep, std::string(when) + ": next offset below an acknowledged one: stream " +
                                             std::to_string(truth.id) + " tail " + std::to_string(st->tail) + " < " +
                                             std::to_string(must_keep));
    // (a): served bytes are the acknowledged bytes at the same offsets; without lost ranges
    // (nothing was repaired away) everything up to must_keep is served.
    const bool repaired = std::string(when) == "after repair";
    bool read_failed = false;
    const std::uint64_t served = CheckServed(*o.store, truth, st->tail, when, !repaired, &read_failed);
    if (!repaired && !read_failed)
      CHECK_OR_FAIL(served >= must_keep, std::string(when) + ": acknowledged bytes silently missing");
  }
  (void)sc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto& all = Scenarios();
  const Scenario& sc = all[data[0] % all.size()];
  auto files = Damage(sc, data + 1, size - 1);
  const Cut cut = CutOf(sc, files);

  OverlayEnv env(nullptr);
  for (const auto& [path, bytes] : files) (void)env.WriteAtomic(path, bytes, false);
  (void)env.CreateDir(kDir / "segments");

  RecoveryReport first;
  std::vector<StreamTruth> now = sc.streams;
  {
    Opened o = Reopen(env);
    first = o.report;
    CheckStore(o, sc, now, cut, first, "after recovery", false);
    // An unavailable stream refuses appends; an available one appends at its tail.
    for (const auto& truth : sc.streams) {
      const StreamState* st = FindState(o.states, truth.id);
      if (!st) continue;
      auto r = AppendSync(*o.store, truth.id, "z");
      if (st->unavailable) {
        CHECK_OR_FAIL(!r.ok(), "an unavailable stream accepted an append");
      } else {
        CHECK_OR_FAIL(r.ok() && r->tail == st->tail + 1, "append to an available stream");
        // Acknowledged too: what the destroyed end lost at that offset is replaced by it.
        auto& d = now[truth.id - 1].data;
        if (d.size() > st->tail) d.resize(st->tail);
        if (d.size() < st->tail) d.resize(st->tail, '\0');  // a lost range before it: never read
        d += "z";
      }
    }
    (void)o.store->Close();
  }
  auto repaired = Repair(kDir, &env);
  CHECK_OR_FAIL(repaired.ok(), "repair failed: " + repaired.status().message());
  std::set<std::string> unbounded;
  for (const auto& d : repaired->after.damaged) {
    CHECK_OR_FAIL(d.loss_unbounded, "a stream is still unavailable after repair: " + d.reason);
    unbounded.insert(d.path);
  }
  {
    Opened o = Reopen(env);
    CHECK_OR_FAIL(o.report.damaged.size() == unbounded.size(), "the repaired store does not open clean");
    for (const auto& s : o.report.segments) CHECK_OR_FAIL(s.bad.empty(), "bad bytes left after repair");
    CheckStore(o, sc, now, cut, first, "after repair", true, unbounded);
    for (const auto& truth : sc.streams) {
      const StreamState* st = FindState(o.states, truth.id);
      if (!st || st->unavailable) continue;
      auto r = AppendSync(*o.store, truth.id, "y");
      CHECK_OR_FAIL(r.ok(), "append after repair failed: " + r.status().message());
      std::uint64_t must_keep = 0;
      for (const auto& rec : truth.records)
        if (!cut.covers(rec)) must_keep = std::max(must_keep, rec.end);
      CHECK_OR_FAIL(r->tail - 1 >= must_keep, "repair handed out an acknowledged offset again");
    }
    (void)o.store->Close();
  }
  return 0;
}
