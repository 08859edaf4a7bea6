// Recovery at Load(): checkpoint + sealed segments' indexes + a scan of the log from the
// checkpoint's replay segment (docs/formats/segment-log.md, "Start-up" and "Torn tails and
// corruption").
//
// The rules, in the order they matter:
// - Never cut an acknowledged record. Only a torn tail (an invalid record with nothing valid
//   after it, in this segment or a later one) is cut; a bad range with valid records after it
//   is corruption: reported, kept on disk, skipped (segment_scan.hpp).
// - Never hand out an offset twice. A stream that lost records (or may have) keeps a tail past
//   everything it could have acknowledged: the start of its next valid record, or its tail plus
//   the size of the bad range its records may have been in (a bound, not a guess: the lost data
//   cannot be larger than the bytes that held it).
// - Contain the damage. Only streams whose records are affected are marked unavailable (with
//   the reason); every other stream is served. Which streams a bad range held is read from the
//   range's own record framing when it parses consistently, else every stream that cannot be
//   proven intact (its next record starts exactly at its tail) is marked.
#include <algorithm>
#include <map>
#include <unordered_set>

#include "core/log.hpp"
#include "session/store/file/coding.hpp"
#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore {

// One bad range of the replayed log, until the end of the replay says whose records it held.
struct RangeCheck {
  std::uint64_t segment = 0;
  BadRange range;
  bool owners_known = false;  // the range's framing named its streams
  std::unordered_set<LogId> owners;
  std::unordered_map<LogId, std::uint64_t> tail_at;  // live streams and their tails at the range
  std::unordered_set<LogId> settled;                 // had a later append (proven or damaged then)
  std::unordered_set<LogId> proven;                  // ... and it started exactly at tail_at
  bool unbounded = false;                            // a missing segment: its size is unknown
  std::uint64_t extra = 0;                           // bytes of the range cut off its segment
};

struct FileStore::Replay {
  std::vector<RangeCheck> checks;
  std::vector<std::pair<std::uint64_t, std::vector<IndexEntry>>> scanned;  // sealed at the end
  std::unordered_map<LogId, std::uint64_t> orphans;                        // records of unknown streams
  std::unordered_map<LogId, std::uint64_t> created_in;                     // segment of each replayed kCreate
  std::unordered_map<LogId, std::uint64_t> appended_in;                    // last segment with an append of it
  std::unordered_map<LogId, std::uint64_t> missing;                        // lid -> a segment of its that is missing
  // A segment whose tail does not verify: cut at the end, unless a later segment holds valid
  // records (then it was corruption, not a crash mid-write).
  struct Torn {
    std::uint64_t segment = 0, valid_end = 0, size = 0;
    std::string reason;
    std::string image;  // the bad bytes, to read their framing if they turn out to be corruption
  };
  std::optional<Torn> torn;
  // Without a checkpoint nothing says how long a segment before the last one was: its end is
  // checked against its .idx when the next segment starts (a cut at a record boundary scans clean).
  bool no_checkpoint = false;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> ended_clean;  // segment, size
};

namespace {

std::string Where(std::uint64_t segment, const BadRange& r) {
  return "bytes " + std::to_string(r.begin) + ".." + std::to_string(r.end) + " of segment " + SegmentFileName(segment) +
         " do not verify (" + r.reason + ")";
}

// The streams whose records a bad range held, read from the range's own framing: every piece
// must parse as a record of a live stream, appends exactly at that stream's tail (tracked
// through the range). False when that does not hold (the owners are unknown).
bool ReadOwners(std::string_view bytes, const std::unordered_map<LogId, std::uint64_t>& tail_at,
                std::unordered_set<LogId>* owners) {
  std::unordered_map<LogId, std::uint64_t> tail;
  std::size_t x = 0;
  while (x < bytes.size()) {
    // Zeros here are not the writer's prefill (valid records follow the range): they may have
    // been records. A zero header is not a record, so the owners are unknown then.
    if (bytes.size() - x < kRecordHeaderSize) return false;
    const std::uint64_t len = LoadU32(bytes.data() + x + 4);
    const auto type = static_cast<std::uint8_t>(bytes[x + 8]);
    if (len > bytes.size() - x - kRecordHeaderSize) return false;
    std::string_view payload = bytes.substr(x + kRecordHeaderSize, len);
    std::optional<LogId> lid;
    switch (static_cast<RecordType>(type)) {
      case RecordType::kAppend: {
        auto a = DecodeAppend(payload);
        if (!a || !tail_at.count(a->lid)) return false;
        auto [it, fresh] = tail.try_emplace(a->lid, tail_at.at(a->lid));
        if (a->start_offset != it->second) return false;
        it->second += a->batch.data_len;
        lid = a->lid;
        break;
      }
      case RecordType::kRelocate:
        if (auto m = DecodeRelocate(payload)) lid = m->lid;
        break;
      case RecordType::kSoftDelete:
      case RecordType::kDrop: lid = DecodeLid(payload); break;
      default: return false;  // a kCreate (whose stream is unknown so far) or not a record
    }
    if (!lid || !tail_at.count(*lid)) return false;
    owners->insert(*lid);
    x += kRecordHeaderSize + len;
  }
  return !owners->empty();
}

}  // namespace

void FileStore::Damage(StreamRec& s, const std::string& reason) {
  if (!s.state.unavailable) s.state.unavailable = reason;
}

Status FileStore::LoadSealed(std::uint64_t number, SegmentReport* rep) {
  auto file = env_->Open(SegmentPath(number), /*create=*/false);
  if (!file) return file.status();
  auto size = (*file)->Size();
  if (!size) return size.status();
  segments_[number] = Segment{number, *file, 0, 0, *size, true};
  rep->size = *size;

  std::optional<SegmentIndex> idx;
  auto bytes = env_->ReadAll(IndexPath(number));
  if (bytes) idx = DecodeIndex(*bytes);
  rep->index = !bytes ? "missing" : !idx ? "corrupt" : "ok";
  if (idx && (idx->segment != number || idx->segment_size != *size)) {
    rep->index = "does not match the segment";
    idx.reset();
  }
  if (!idx || tuning_.verify_segments) {
    // The segment itself is the truth: read its records. A sealed segment was synced whole at
    // its seal, so a tail that does not verify is corruption, not a torn write: kept.
    auto image = ReadWholeFile(**file);
    if (!image) return image.status();
    SegmentScan scan = ScanSegment(*image, number);
    rep->scanned = true;
    rep->records = scan.records.size();
    rep->bad = scan.bad;
    if (scan.end == SegmentScan::End::kTorn)
      rep->bad.push_back({scan.valid_end, image->size(), scan.tail_reason + " (sealed segment)"});
    for (const auto& b : rep->bad)
      log::Warn("corrupt bytes in a sealed segment kept; the streams with records there are unavailable",
                {{"file", SegmentPath(number).filename().string()},
                 {"pos", std::to_string(b.begin)},
                 {"bad_bytes", std::to_string(b.end - b.begin)},
                 {"reason", b.reason}});
    SegmentIndex scanned{number, *size, IndexEntries(scan)};
    if (idx) {
      // verify_segments: every batch the index lists must be a verified record. The index may
      // list fewer (a record recovery skipped, an orphan's: dead data), never other ones.
      auto same = [](const IndexEntry& a, const IndexEntry& b) {
        return a.lid == b.lid && a.start_offset == b.start_offset && a.record_pos == b.record_pos &&
               a.record_len == b.record_len && a.data_len == b.data_len && a.msg_count == b.msg_count &&
               a.data_off == b.data_off;
      };
      std::map<std::pair<std::uint64_t, std::uint64_t>, const IndexEntry*> verified;  // (record_pos, start)
      for (const auto& v : scanned.entries) verified[{v.record_pos, v.start_offset}] = &v;
      std::vector<IndexEntry> kept;
      for (const auto& e : idx->entries) {
        auto v = verified.find({e.record_pos, e.start_offset});
        if (v != verified.end() && same(e, *v->second)) kept.push_back(e);
      }
      if (kept.size() != idx->entries.size()) {
        rep->index = "does not match the segment";
        log::Warn("segment index lists batches that do not verify; they are lost",
                  {{"file", SegmentPath(number).filename().string()}});
      }
      idx->entries = std::move(kept);
    } else {
      if (rep->index != "missing")
        log::Warn("segment index bad; rebuilt it from the segment",
                  {{"file", SegmentPath(number).filename().string()}, {"index", rep->index}});
      idx = std::move(scanned);
      DSX_RETURN_IF_ERROR(env_->WriteAtomic(IndexPath(number), EncodeIndex(*idx), true));
    }
  }
  for (const auto& e : idx->entries) {
    auto it = by_lid_.find(e.lid);
    if (it == by_lid_.end()) continue;  // dropped stream: dead data
    AddExtent(*it->second,
              Extent{e.start_offset, e.data_len, number, e.record_pos, e.record_len, e.data_off, e.msg_count});
  }
  return {};
}

void FileStore::StartRangeCheck(std::uint64_t segment, const BadRange& range, std::string_view bytes, Replay& r) {
  if (range.end <= kSegmentHeaderSize) return;  // a bad segment header holds no record
  RangeCheck c;
  c.segment = segment;
  c.range = range;
  for (const auto& [lid, s] : by_lid_)
    if (s->committed) c.tail_at[lid] = s->state.tail;
  c.owners_known = ReadOwners(bytes, c.tail_at, &c.owners);
  r.checks.push_back(std::move(c));
}

void FileStore::ReplayRecord(const ScannedRecord& rec, std::uint64_t segment, Replay& r) {
  const std::string at = "record at byte " + std::to_string(rec.pos) + " of segment " + SegmentFileName(segment);
  if (rec.type == RecordType::kAppend && rec.payload.size() >= 16) {
    const LogId lid = LoadU64(rec.payload.data());
    const std::uint64_t start = LoadU64(rec.payload.data() + 8);
    auto it = by_lid_.find(lid);
    if (it == by_lid_.end() || !it->second->committed) {
      r.orphans[lid]++;
      return;
    }
    StreamRec& s = *it->second;
    r.appended_in[lid] = std::max(r.appended_in[lid], segment);
    for (auto& c : r.checks) {
      auto t = c.tail_at.find(lid);
      if (t != c.tail_at.end() && c.settled.insert(lid).second && start == t->second) c.proven.insert(lid);
    }
    if (start > s.state.tail) {
      // Records of this stream before this one are gone: the offsets between stay unused.
      Damage(s, "offsets " + std::to_string(s.state.tail) + ".." + std::to_string(start) +
                    " are lost: records before the " + at + " do not verify");
      s.state.tail = start;
    } else if (start < s.state.tail) {
      // A valid record where it cannot be (a copy of an older one over what was there): the
      // records it replaced are unknown, like those of a bad range.
      Damage(s, "the " + at + " appends at offset " + std::to_string(start) + " but the stream ends at " +
                    std::to_string(s.state.tail));
      StartRangeCheck(segment, BadRange{rec.pos, rec.pos + rec.len, "a record out of place"}, {}, r);
      return;
    }
  }
  if (rec.type == RecordType::kCreate && rec.payload.size() >= 8) r.created_in[LoadU64(rec.payload.data())] = segment;
  std::vector<IndexEntry>* index = &r.scanned.back().second;
  std::string why = ApplyRecord(rec.type, rec.payload, segment, rec.pos, rec.len, index, nullptr);
  if (why.empty()) return;
  // A record that verifies but does not fit the registry: its stream's create is gone (an
  // orphan), or the log is inconsistent there. Skipped; never fatal for the other streams.
  if (rec.payload.size() >= 8) {
    const LogId lid = LoadU64(rec.payload.data());
    auto it = by_lid_.find(lid);
    if (it == by_lid_.end() || !it->second->committed) {
      if (rec.type != RecordType::kCreate) r.orphans[lid]++;
      next_lid_ = std::max(next_lid_, lid + 1);
    } else if (rec.type != RecordType::kCreate) {
      Damage(*it->second, "the " + at + " does not apply: " + why);
    }
  }
  log::Warn("segment log record skipped",
            {{"file", SegmentFileName(segment)}, {"pos", std::to_string(rec.pos)}, {"reason", why}});
}

Status FileStore::ReplaySegment(std::uint64_t number, Replay& r) {
  SegmentReport rep;
  rep.number = number;
  rep.scanned = true;
  auto file = env_->Open(SegmentPath(number), /*create=*/false);
  if (!file) return file.status();
  auto image = ReadWholeFile(**file);
  if (!image) return image.status();
  rep.size = image->size();
  segments_[number] = Segment{number, *file, 0, 0, 0, false};
  SegmentScan scan = ScanSegment(*image, number);
  rep.records = scan.records.size();
  rep.bad = scan.bad;
  const std::string name = SegmentPath(number).filename().string();

  if (!scan.records.empty() && r.torn) {
    // The earlier segment's invalid tail has valid records after it: corruption, not a tail.
    Replay::Torn t = std::move(*r.torn);
    r.torn.reset();
    BadRange range{t.valid_end, t.size, t.reason};
    log::Warn("corrupt bytes in the segment log kept; the streams with records there are unavailable",
              {{"file", SegmentFileName(t.segment)},
               {"pos", std::to_string(range.begin)},
               {"bad_bytes", std::to_string(range.end - range.begin)},
               {"reason", range.reason}});
    for (auto& s : report_.segments)
      if (s.number == t.segment) s.bad.push_back(range);
    StartRangeCheck(t.segment, range, std::string_view(t.image).substr(range.begin), r);
    // The range ends its segment: the segment may have been cut short, and then the range's
    // size does not bound what it held. The segment's .idx knows its sealed size; without it
    // nothing bounds the loss.
    if (!r.checks.empty() && r.checks.back().range.begin == range.begin) {
      RangeCheck& c = r.checks.back();
      std::optional<SegmentIndex> idx;
      if (auto bytes = env_->ReadAll(IndexPath(t.segment))) idx = DecodeIndex(*bytes);
      if (idx && idx->segment == t.segment && idx->segment_size >= t.size) c.extra = idx->segment_size - t.size;
      else c.unbounded = true;
    }
  }

  if (r.no_checkpoint && r.ended_clean && !scan.records.empty()) {
    const auto [prev, prev_size] = *r.ended_clean;
    std::optional<SegmentIndex> idx;
    if (auto bytes = env_->ReadAll(IndexPath(prev))) idx = DecodeIndex(*bytes);
    if (!idx || idx->segment != prev || idx->segment_size != prev_size) {
      RangeCheck c;
      c.unbounded = true;
      c.segment = prev;
      c.range = {
          prev_size, prev_size,
          "the end of segment " + SegmentFileName(prev) + " cannot be checked (no CHECKPOINT, no matching .idx)"};
      for (const auto& [lid, s] : by_lid_)
        if (s->committed) c.tail_at[lid] = s->state.tail;
      r.checks.push_back(std::move(c));
    }
  }
  r.ended_clean.reset();
  if (scan.end != SegmentScan::End::kTorn)
    r.ended_clean = std::make_pair(number, static_cast<std::uint64_t>(scan.valid_end));

  r.scanned.emplace_back(number, std::vector<IndexEntry>{});
  std::size_t b = 0;
  for (const auto& rec : scan.records) {
    for (; b < scan.bad.size() && scan.bad[b].begin < rec.pos; ++b) {
      const BadRange& range = scan.bad[b];
      log::Warn("corrupt bytes in the segment log kept; the streams with records there are unavailable",
                {{"file", name},
                 {"pos", std::to_string(range.begin)},
                 {"bad_bytes", std::to_string(range.end - range.begin)},
                 {"reason", range.reason}});
      StartRangeCheck(number, range, std::string_view(*image).substr(range.begin, range.end - range.begin), r);
    }
    ReplayRecord(rec, number, r);
  }
  if (scan.end == SegmentScan::End::kZeros) {
    // The active segment of the last run, cut off behind its records: it is sealed next, and a
    // sealed segment's size is its records' end.
    log::Debug("segment prefill trimmed", {{"file", name}, {"pos", std::to_string(scan.valid_end)}});
    DSX_RETURN_IF_ERROR((*file)->Truncate(scan.valid_end));
    DSX_RETURN_IF_ERROR((*file)->Sync());
  } else if (scan.end == SegmentScan::End::kTorn) {
    if (r.torn) {
      // An earlier torn tail with only invalid bytes since: this segment holds nothing valid.
      rep.removed = true;
      segments_.erase(number);
      r.scanned.pop_back();
      log::Warn("segment after a cut log dropped", {{"file", name}});
      DSX_RETURN_IF_ERROR(env_->Remove(SegmentPath(number)));
      DSX_RETURN_IF_ERROR(env_->Remove(IndexPath(number)));
    } else {
      r.torn = Replay::Torn{number, scan.valid_end, image->size(), scan.tail_reason, std::move(*image)};
    }
  }
  report_.segments.push_back(std::move(rep));
  return {};
}

// Which streams each bad range of the replayed log may have held records of, now that every
// later record has been seen: those are marked unavailable, their tails moved past the range.
void FileStore::FinishRangeChecks(Replay& r) {
  for (auto& c : r.checks) {
    bool known = c.owners_known;
    for (LogId lid : c.owners)
      if (c.proven.count(lid)) known = false;  // its next record is where it would be without the range
    const std::uint64_t bound = c.range.end - c.range.begin + c.extra;
    if (c.unbounded || c.extra > 0) known = false;  // what was cut off may have been anyone's
    for (const auto& [lid, tail] : c.tail_at) {
      if (known && !c.owners.count(lid)) continue;
      if (c.proven.count(lid) || c.settled.count(lid)) continue;  // intact, or already damaged by its gap
      auto it = by_lid_.find(lid);
      if (it == by_lid_.end()) continue;  // dropped later in the log
      StreamRec& s = *it->second;
      if (c.unbounded) {
        Damage(s, "records of this stream may be lost: " +
                      (c.range.end > c.range.begin ? Where(c.segment, c.range) : c.range.reason) +
                      " (how much is unknown)");
        s.loss_unbounded = true;
        continue;
      }
      Damage(s, "records of this stream may be lost: " + Where(c.segment, c.range));
      // Whatever it acknowledged there is at most the range's size: its next offset stays past it.
      s.state.tail += bound;
      s.pending_tail = std::max(s.pending_tail, s.state.tail);
    }
  }
}

// Every live stream's batches and lost ranges must tile its log from base_offset to tail. What
// they do not cover is lost (a missing or corrupt segment): recorded as lost and the stream
// marked unavailable, never a failed open.
void FileStore::CheckCoverage(Replay& r) {
  for (const auto& [lid, sp] : by_lid_) {
    StreamRec& s = *sp;
    if (!s.committed) continue;
    std::vector<LostRange> have;
    have.reserve(s.extents.size() + s.lost.size());
    for (const auto& e : s.extents)
      if (e.len) have.push_back({e.start, e.end()});
    have.insert(have.end(), s.lost.begin(), s.lost.end());
    std::sort(have.begin(), have.end(), [](const LostRange& a, const LostRange& b) { return a.begin < b.begin; });
    std::vector<LostRange> gaps;
    std::uint64_t cursor = s.state.meta.base_offset;
    bool overlap = false;
    for (const auto& h : have) {
      if (h.begin > cursor) gaps.push_back({cursor, h.begin});
      if (h.begin < cursor) overlap = true;
      cursor = std::max(cursor, h.end);
    }
    if (cursor < s.state.tail) gaps.push_back({cursor, s.state.tail});
    if (cursor > s.state.tail) {
      Damage(s, "data found up to offset " + std::to_string(cursor) + " but the stream ends at " +
                    std::to_string(s.state.tail));
      s.state.tail = cursor;
      s.pending_tail = std::max(s.pending_tail, cursor);
    }
    if (overlap) {
      // Two valid batches for the same offsets (a record copied where it does not belong): keep
      // the first of each overlap, drop the others (repair rewrites the indexes without them).
      Damage(s, "batches of the stream overlap");
      std::uint64_t end = s.state.meta.base_offset;
      std::vector<Extent> kept;
      for (const auto& e : s.extents) {
        if (e.start < end) {
          ReleaseExtent(e);
          continue;
        }
        kept.push_back(e);
        end = e.end();
      }
      s.extents = std::move(kept);
    }
    if (gaps.empty()) continue;
    auto missing = r.missing.find(lid);
    if (missing != r.missing.end()) {
      Damage(s, "segment " + SegmentFileName(missing->second) + " is missing");
      auto& m = report_.missing_segments;
      if (std::find(m.begin(), m.end(), missing->second) == m.end()) m.push_back(missing->second);
    } else {
      Damage(s, "offsets " + std::to_string(gaps.front().begin) + ".." + std::to_string(gaps.front().end) +
                    " are in no segment");
    }
    s.lost.insert(s.lost.end(), gaps.begin(), gaps.end());
    std::sort(s.lost.begin(), s.lost.end(), [](const LostRange& a, const LostRange& b) { return a.begin < b.begin; });
  }
}

Status FileStore::Recover() {
  MutexLock lk(&mu_);  // not contended: no writer yet; ApplyRecord expects it held
  report_ = {};
  DSX_RETURN_IF_ERROR(env_->CreateDir(seg_dir_));

  auto names = env_->List(seg_dir_);
  if (!names) return names.status();
  std::vector<std::uint64_t> numbers, indexes;
  for (const auto& n : *names) {
    if (auto num = SegmentFileNumber(n, ".log")) numbers.push_back(*num);
    if (auto num = SegmentFileNumber(n, ".idx")) indexes.push_back(*num);
  }
  std::sort(numbers.begin(), numbers.end());

  Checkpoint cp;
  cp.replay_segment = numbers.empty() ? 1 : numbers.front();
  bool have_checkpoint = false;
  if (auto bytes = env_->ReadAll(options_.dir / "CHECKPOINT")) {
    if (auto decoded = DecodeCheckpoint(*bytes)) {
      cp = std::move(*decoded);
      have_checkpoint = true;
    } else {
      // Not fatal: the log is replayed from its first segment instead (below).
      report_.checkpoint = "corrupt";
      log::Error("corrupt checkpoint; rebuilding the registry from the whole log",
                 {{"file", (options_.dir / "CHECKPOINT").string()}});
    }
  } else if (bytes.status().code() == Code::kNotFound) {
    report_.checkpoint = "missing";
  } else {
    return bytes.status();
  }
  next_lid_ = cp.next_lid;
  for (auto& cs : cp.streams) {
    auto s = std::make_shared<StreamRec>();
    s->lid = cs.lid;
    s->committed = true;
    s->state = std::move(cs.state);
    s->lost = std::move(cs.lost);
    s->loss_unbounded = cs.loss_unbounded;
    s->pending_tail = s->state.tail;
    if (streams_.count(s->state.meta.id)) return Status::Failed("checkpoint lists stream id twice");
    streams_[s->state.meta.id] = s;
    by_lid_[s->lid] = s;
  }

  Replay r;
  r.no_checkpoint = !have_checkpoint;
  // An .idx without its segment: a removal of a dead segment that stopped half way, or a
  // missing segment. Its index names the streams it held, for the reason if their data is
  // missing (CheckCoverage); after a removal it names none of those.
  std::vector<std::uint64_t> orphan_indexes;
  for (auto n : indexes) {
    if (std::binary_search(numbers.begin(), numbers.end(), n)) continue;
    orphan_indexes.push_back(n);
    if (auto bytes = env_->ReadAll(IndexPath(n)))
      if (auto idx = DecodeIndex(*bytes))
        for (const auto& e : idx->entries) r.missing.try_emplace(e.lid, n);
  }

  // 1. Sealed segments below the replay point: extents from their indexes, no data read.
  for (auto n : numbers) {
    if (n >= cp.replay_segment) continue;
    SegmentReport rep;
    rep.number = n;
    DSX_RETURN_IF_ERROR(LoadSealed(n, &rep));
    report_.segments.push_back(std::move(rep));
  }
  // 2. The log from the replay point: records applied in order; bad ranges skipped. Segments
  // from the replay point on are never removed, and the checkpoint is written only once its
  // replay segment exists: a number missing there is a lost segment of unknown size.
  std::uint64_t expect = cp.replay_segment;
  auto missing_before = [&](std::uint64_t n) {
    mu_.AssertHeld();  // under lk (the analysis does not follow into lambdas)
    if (!have_checkpoint || n <= expect) return;
    const std::string first = SegmentFileName(expect), last = SegmentFileName(n - 1);
    const std::string what = n - 1 == expect ? "segment " + first : "segments " + first + " to " + last;
    log::Error("segment log missing after the checkpoint; every stream without a later record is unavailable",
               {{"file", first}, {"last", last}});
    for (std::uint64_t m = expect; m < n && report_.missing_segments.size() < 64; ++m)
      report_.missing_segments.push_back(m);
    RangeCheck c;
    c.unbounded = true;
    c.range.reason = what + " missing";
    for (const auto& [lid, s] : by_lid_)
      if (s->committed) c.tail_at[lid] = s->state.tail;
    r.checks.push_back(std::move(c));
  };
  for (auto n : numbers) {
    if (n < cp.replay_segment) continue;
    missing_before(n);
    expect = n + 1;
    DSX_RETURN_IF_ERROR(ReplaySegment(n, r));
  }
  if (numbers.empty() || numbers.back() < cp.replay_segment) missing_before(cp.replay_segment + 1);
  if (r.torn) {
    // Nothing valid after it: the crash hit while it was written. Never acknowledged: cut.
    const Replay::Torn& t = *r.torn;
    const std::string name = SegmentFileName(t.segment);
    log::Warn("segment log tail dropped", {{"file", name},
                                           {"pos", std::to_string(t.valid_end)},
                                           {"dropped_bytes", std::to_string(t.size - t.valid_end)},
                                           {"reason", t.reason}});
    for (auto& s : report_.segments) {
      if (s.number != t.segment) continue;
      s.cut = BadRange{t.valid_end, t.size, t.reason};
      s.removed = t.valid_end < kSegmentHeaderSize;
    }
    if (t.valid_end < kSegmentHeaderSize) {
      // Not even a header: the segment was being created when the process died.
      segments_.erase(t.segment);
      std::erase_if(r.scanned, [&](const auto& p) { return p.first == t.segment; });
      DSX_RETURN_IF_ERROR(env_->Remove(SegmentPath(t.segment)));
    } else {
      auto& file = *segments_.at(t.segment).file;
      DSX_RETURN_IF_ERROR(file.Truncate(t.valid_end));
      DSX_RETURN_IF_ERROR(file.Sync());
    }
  }
  FinishRangeChecks(r);

  if (!have_checkpoint && !numbers.empty()) {
    // Without a checkpoint the log alone is the registry. Segments whose data was all dead were
    // removed; they may have held metadata-only records (a close, a soft delete) of streams
    // created before them. Such streams cannot be proven complete.
    std::uint64_t last_gap = numbers.front() > 1 ? numbers.front() - 1 : 0;
    for (std::size_t i = 1; i < numbers.size(); ++i)
      if (numbers[i] != numbers[i - 1] + 1) last_gap = numbers[i] - 1;
    if (last_gap > 0) {
      for (auto& [lid, s] : by_lid_) {
        auto c = r.created_in.find(lid);
        if (c == r.created_in.end() || c->second >= last_gap) continue;
        Damage(*s, "the CHECKPOINT is " + report_.checkpoint + " and segments up to " + SegmentFileName(last_gap) +
                       " were removed: later records of this stream (a close, a delete) may be lost");
        // Its data in them, if they were not dead, is bounded only by a later append of it
        // (which starts past whatever was there); without one, nothing bounds it.
        auto a = r.appended_in.find(lid);
        if (a == r.appended_in.end() || a->second <= last_gap) s->loss_unbounded = true;
      }
    }
  }
  CheckCoverage(r);
  std::sort(report_.missing_segments.begin(), report_.missing_segments.end());
  for (auto n : orphan_indexes) {
    if (std::binary_search(report_.missing_segments.begin(), report_.missing_segments.end(), n)) {
      log::Error("segment missing; the streams with data in it are unavailable", {{"file", SegmentFileName(n)}});
    } else {
      log::Debug("index of a removed segment removed", {{"file", SegmentFileName(n, ".idx")}});
      DSX_RETURN_IF_ERROR(env_->Remove(IndexPath(n)));
    }
  }

  for (const auto& [lid, n] : r.orphans) {
    report_.orphans.emplace_back(lid, n);
    next_lid_ = std::max(next_lid_, lid + 1);  // never reuse a log id, even an unknown one
  }
  std::sort(report_.orphans.begin(), report_.orphans.end());
  for (const auto& [lid, s] : by_lid_) {
    if (!s->committed || !s->state.unavailable) continue;
    report_.damaged.push_back({lid, s->state.meta.path, *s->state.unavailable, s->lost, s->loss_unbounded});
    log::Error("stream unavailable: its records are damaged on disk (dsx session fsck / repair)",
               {{"stream", s->state.meta.path}, {"reason", *s->state.unavailable}});
  }
  std::sort(report_.damaged.begin(), report_.damaged.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });

  // 3. Seal what was scanned, start a fresh active segment, checkpoint, drop dead segments.
  for (auto& [n, index] : r.scanned) {
    auto size = segments_.at(n).file->Size();
    if (!size) return size.status();
    DSX_RETURN_IF_ERROR(env_->WriteAtomic(IndexPath(n), EncodeIndex({n, *size, std::move(index)}), true));
    segments_.at(n).sealed = true;
    segments_.at(n).size = *size;
  }
  std::uint64_t next = std::max(cp.replay_segment, segments_.empty() ? 1 : segments_.rbegin()->first + 1);
  if (!numbers.empty()) next = std::max(next, numbers.back() + 1);
  if (!indexes.empty()) next = std::max(next, *std::max_element(indexes.begin(), indexes.end()) + 1);
  lk.Unlock();  // the helpers below take mu_ themselves
  DSX_RETURN_IF_ERROR(NewActiveSegment(next));
  DSX_RETURN_IF_ERROR(WriteCheckpoint(next));
  RemoveDeadSegments();
  return {};
}

}  // namespace dsx::session::filestore
