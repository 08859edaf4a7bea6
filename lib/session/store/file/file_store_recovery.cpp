// Recovery at Load(): checkpoint + sealed segments' indexes + a scan of the log from the
// checkpoint's replay segment, cut at the first invalid record (docs/formats/segment-log.md,
// "Start-up" and "Torn tails and bad checksums").
#include <algorithm>
#include <charconv>
#include <functional>

#include "core/log.hpp"
#include "session/store/file/coding.hpp"
#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore {
namespace {

// "0000000000000042.log" -> 42.
std::optional<std::uint64_t> SegmentNumber(const std::string& name) {
  if (name.size() != 20 || name.compare(16, 4, ".log") != 0) return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + 16, n);
  if (ec != std::errc() || p != name.data() + 16 || n == 0) return std::nullopt;
  return n;
}

// Visits each record of a whole segment image; returns where the valid prefix ends and why the
// rest (if any) is invalid. The visitor returns "" to accept a record or the reason to stop.
struct ScanEnd {
  std::uint64_t valid_end = 0;
  std::string reason;      // empty: the whole image is valid (up to zeros_after, if set)
  bool zeros_after = false;  // valid_end is followed by prefilled zeros only (not a torn tail)
};
using Visitor = std::function<std::string(RecordType, std::string_view payload, std::uint64_t pos, std::uint32_t len)>;

ScanEnd ScanImage(std::string_view image, std::uint64_t number, const Visitor& visit) {
  if (image.size() < kSegmentHeaderSize) return {0, "truncated segment header"};
  if (image.substr(0, kSegmentMagic.size()) != kSegmentMagic) return {0, "bad segment magic"};
  if (LoadU64(image.data() + 8) != number) return {0, "segment number does not match its name"};
  std::uint64_t pos = kSegmentHeaderSize;
  while (pos < image.size()) {
    std::string_view rest = image.substr(pos);
    std::string_view header = rest.substr(0, std::min(rest.size(), kRecordHeaderSize));
    std::string_view payload = rest.size() > kRecordHeaderSize ? rest.substr(kRecordHeaderSize) : std::string_view{};
    std::string_view bad = CheckRecord(header, payload);
    if (!bad.empty()) {
      // The writer's prefilled zeros (file_store_prefill.cpp): the clean end of the log. A
      // record never starts with a zero header (type 0 is invalid), so this cannot hide one.
      if (rest.find_first_not_of('\0') == std::string_view::npos) return {pos, "", true};
      return {pos, std::string(bad)};
    }
    std::uint32_t len = LoadU32(header.data() + 4);
    std::string why = visit(static_cast<RecordType>(header[8]), payload.substr(0, len), pos,
                            static_cast<std::uint32_t>(kRecordHeaderSize + len));
    if (!why.empty()) return {pos, why};
    pos += kRecordHeaderSize + len;
  }
  return {pos, ""};
}

Result<std::string> ReadImage(RandomFile& file) {
  auto size = file.Size();
  if (!size) return size.status();
  std::string image(*size, '\0');
  auto got = file.Read(0, image.data(), image.size());
  if (!got) return got.status();
  image.resize(*got);
  return image;
}

// The data batches of one segment image, for a segment whose .idx is missing or bad.
std::vector<IndexEntry> IndexFromImage(std::string_view image, std::uint64_t number, ScanEnd* end) {
  std::vector<IndexEntry> out;
  *end = ScanImage(image, number, [&](RecordType t, std::string_view payload, std::uint64_t pos, std::uint32_t len) {
    if (t == RecordType::kCreate) {
      auto r = DecodeCreate(payload);
      if (!r) return std::string("bad create record");
      std::uint64_t off = r->meta.base_offset;
      for (const auto& b : r->batches) {
        if (b.msg_count) out.push_back({r->lid, off, pos, len, static_cast<std::uint32_t>(b.data_len), b.msg_count, b.data_off});
        off += b.data_len;
      }
    } else if (t == RecordType::kRelocate) {
      auto r = DecodeRelocate(payload);
      if (!r) return std::string("bad relocate record");
      const BatchRef& b = r->batch;
      out.push_back({r->lid, r->start_offset, pos, len, static_cast<std::uint32_t>(b.data_len), b.msg_count, b.data_off});
    } else if (t == RecordType::kAppend) {
      auto r = DecodeAppend(payload);
      if (!r) return std::string("bad append record");
      const BatchRef& b = r->batch;
      if (b.msg_count)
        out.push_back({r->lid, r->start_offset, pos, len, static_cast<std::uint32_t>(b.data_len), b.msg_count, b.data_off});
    }
    return std::string();
  });
  return out;
}

}  // namespace

Status FileStore::LoadSealed(std::uint64_t number, std::unordered_map<LogId, StreamRec*>& by_lid) {
  auto file = env_->Open(SegmentPath(number), /*create=*/false);
  if (!file) return file.status();
  auto size = (*file)->Size();
  if (!size) return size.status();
  segments_[number] = Segment{number, *file, 0, 0, *size, true};

  std::optional<SegmentIndex> idx;
  if (auto bytes = env_->ReadAll(IndexPath(number))) idx = DecodeIndex(*bytes);
  if (!idx || idx->segment != number || idx->segment_size != *size) {
    // Not fatal: the segment itself is the truth. Rebuild the index from it.
    auto image = ReadImage(**file);
    if (!image) return image.status();
    ScanEnd end;
    idx = SegmentIndex{number, *size, IndexFromImage(*image, number, &end)};
    log::Warn("segment index missing or bad; rebuilt it from the segment",
              {{"file", SegmentPath(number).filename().string()}});
    if (!end.reason.empty())
      return Status::Failed("corrupt sealed segment '" + SegmentPath(number).filename().string() + "' at byte " +
                            std::to_string(end.valid_end) + ": " + end.reason);
    DSX_RETURN_IF_ERROR(env_->WriteAtomic(IndexPath(number), EncodeIndex(*idx), true));
  }
  for (const auto& e : idx->entries) {
    auto it = by_lid.find(e.lid);
    if (it == by_lid.end()) continue;  // dropped stream: dead data
    AddExtent(*it->second, Extent{e.start_offset, e.data_len, number, e.record_pos, e.record_len, e.data_off, e.msg_count});
  }
  return {};
}

Status FileStore::ScanSegment(std::uint64_t number, std::vector<IndexEntry>* index, bool* cut) {
  auto file = env_->Open(SegmentPath(number), /*create=*/false);
  if (!file) return file.status();
  auto image = ReadImage(**file);
  if (!image) return image.status();
  segments_[number] = Segment{number, *file, 0, 0, 0, false};
  ScanEnd end = ScanImage(*image, number, [&](RecordType t, std::string_view payload, std::uint64_t pos, std::uint32_t len) {
    return ApplyRecord(t, payload, number, pos, len, index, nullptr);
  });
  if (end.reason.empty()) {
    if (!end.zeros_after) return {};
    // The active segment of the last run, cut off behind its records: it is sealed next, and a
    // sealed segment's size is its records' end.
    log::Debug("segment prefill trimmed", {{"file", SegmentPath(number).filename().string()},
                                           {"pos", std::to_string(end.valid_end)}});
    DSX_RETURN_IF_ERROR((*file)->Truncate(end.valid_end));
    return (*file)->Sync();
  }
  *cut = true;
  const std::string name = SegmentPath(number).filename().string();
  log::Warn("segment log tail dropped", {{"file", name},
                                         {"pos", std::to_string(end.valid_end)},
                                         {"dropped_bytes", std::to_string(image->size() - end.valid_end)},
                                         {"reason", end.reason}});
  if (end.valid_end < kSegmentHeaderSize) {
    // Not even a header: the segment was being created when the process died.
    segments_.erase(number);
    return env_->Remove(SegmentPath(number));
  }
  DSX_RETURN_IF_ERROR((*file)->Truncate(end.valid_end));
  return (*file)->Sync();
}

Status FileStore::Recover() {
  std::unique_lock lk(mu_);  // not contended: no writer yet; ApplyRecord expects it held
  DSX_RETURN_IF_ERROR(env_->CreateDir(seg_dir_));

  auto names = env_->List(seg_dir_);
  if (!names) return names.status();
  std::vector<std::uint64_t> numbers;
  for (const auto& n : *names)
    if (auto num = SegmentNumber(n)) numbers.push_back(*num);
  std::sort(numbers.begin(), numbers.end());

  Checkpoint cp;
  cp.replay_segment = numbers.empty() ? 1 : numbers.front();
  if (auto bytes = env_->ReadAll(options_.dir / "CHECKPOINT")) {
    auto decoded = DecodeCheckpoint(*bytes);
    if (!decoded) return Status::Failed("corrupt checkpoint '" + (options_.dir / "CHECKPOINT").string() + "'");
    cp = std::move(*decoded);
  } else if (bytes.status().code() != Code::kNotFound) {
    return bytes.status();
  }
  std::unordered_map<LogId, StreamRec*> by_lid;
  next_lid_ = cp.next_lid;
  for (auto& cs : cp.streams) {
    auto s = std::make_shared<StreamRec>();
    s->lid = cs.lid;
    s->committed = true;
    s->state = std::move(cs.state);
    s->pending_tail = s->state.tail;
    if (streams_.count(s->state.meta.id)) return Status::Failed("checkpoint lists stream id twice");
    streams_[s->state.meta.id] = s;
    by_lid_[s->lid] = s;
    by_lid[s->lid] = s.get();
  }

  // 1. Sealed segments below the replay point: extents from their indexes, no data read.
  for (auto n : numbers)
    if (n < cp.replay_segment) DSX_RETURN_IF_ERROR(LoadSealed(n, by_lid));
  // 2. The log from the replay point: records applied in order, cut at the first bad one.
  bool cut = false;
  std::vector<std::pair<std::uint64_t, std::vector<IndexEntry>>> scanned;
  for (auto n : numbers) {
    if (n < cp.replay_segment) continue;
    if (cut) {
      // Everything after a cut is not part of the valid prefix.
      log::Warn("segment after a cut log dropped", {{"file", SegmentPath(n).filename().string()}});
      DSX_RETURN_IF_ERROR(env_->Remove(SegmentPath(n)));
      DSX_RETURN_IF_ERROR(env_->Remove(IndexPath(n)));
      continue;
    }
    std::vector<IndexEntry> index;
    DSX_RETURN_IF_ERROR(ScanSegment(n, &index, &cut));
    if (segments_.count(n)) scanned.emplace_back(n, std::move(index));
  }

  // Every live stream's batches must tile its log from base_offset to tail. Checked after the
  // replay: a stream dropped in the replayed log may already have lost its sealed segments
  // (they are removed once the drop is durable, before the next checkpoint).
  for (const auto& [lid, s] : by_lid_) {
    std::uint64_t end = s->state.meta.base_offset;
    for (const auto& e : s->extents) {
      if (e.start != end)
        return Status::Failed("segment indexes do not cover stream '" + s->state.meta.path + "' at offset " +
                              std::to_string(end));
      end = e.end();
    }
    if (end != s->state.tail)
      return Status::Failed("segment indexes end stream '" + s->state.meta.path + "' at " + std::to_string(end) +
                            ", the checkpoint at " + std::to_string(s->state.tail));
  }

  // 3. Seal what was scanned, start a fresh active segment, checkpoint, drop dead segments.
  for (auto& [n, index] : scanned) {
    auto size = segments_.at(n).file->Size();
    if (!size) return size.status();
    DSX_RETURN_IF_ERROR(env_->WriteAtomic(IndexPath(n), EncodeIndex({n, *size, std::move(index)}), true));
    segments_.at(n).sealed = true;
    segments_.at(n).size = *size;
  }
  std::uint64_t next = std::max(cp.replay_segment, segments_.empty() ? 1 : segments_.rbegin()->first + 1);
  if (!numbers.empty()) next = std::max(next, numbers.back() + 1);
  lk.unlock();  // the helpers below take mu_ themselves
  DSX_RETURN_IF_ERROR(NewActiveSegment(next));
  DSX_RETURN_IF_ERROR(WriteCheckpoint(next));
  RemoveDeadSegments();
  return {};
}

}  // namespace dsx::session::filestore
