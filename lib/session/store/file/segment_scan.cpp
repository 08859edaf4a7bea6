// Segment scanner: see segment_scan.hpp and docs/formats/segment-log.md.
#include "session/store/file/segment_scan.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "session/store/file/coding.hpp"
#include "session/store/file/records.hpp"

namespace dsx::session::filestore {
namespace {

// Smallest payload of each record type [bytes]: a candidate shorter than this cannot be one.
std::uint32_t MinPayload(RecordType t) {
  switch (t) {
    case RecordType::kCreate: return 8 + 72 + 1 + 4;  // lid, meta with empty strings, closed, count
    case RecordType::kAppend: return 8 + 8 + 1 + 4;   // lid, start, flags, empty data
    case RecordType::kSoftDelete:
    case RecordType::kDrop: return 8;
    case RecordType::kRelocate: return 8 + 8 + 4 + 4;  // lid, start, one message
  }
  return 0;
}

bool Decodes(RecordType t, std::string_view payload) {
  switch (t) {
    case RecordType::kCreate: return DecodeCreate(payload).has_value();
    case RecordType::kAppend: return DecodeAppend(payload).has_value();
    case RecordType::kSoftDelete:
    case RecordType::kDrop: return DecodeLid(payload).has_value();
    case RecordType::kRelocate: return DecodeRelocate(payload).has_value();
  }
  return false;
}

// A complete, verified record at `q`, checked cheapest test first: this runs at every byte of
// a range whose framing is lost, so the CRC (cost: the whole payload) comes last. A random
// position passes the type and length tests about once in 10^4 bytes of binary data (less in
// text), the layout test (the record's fields must add up to exactly its length) almost never.
bool ValidAt(std::string_view image, std::uint64_t q) {
  if (q + kRecordHeaderSize > image.size()) return false;
  const auto type = static_cast<std::uint8_t>(image[q + 8]);
  if (type == 0 || type > kMaxRecordType) return false;
  const std::uint32_t len = LoadU32(image.data() + q + 4);
  if (len > kMaxRecordPayload || len > image.size() - q - kRecordHeaderSize) return false;
  const auto t = static_cast<RecordType>(type);
  if (len < MinPayload(t)) return false;
  if ((t == RecordType::kSoftDelete || t == RecordType::kDrop) && len != 8) return false;
  std::string_view payload = image.substr(q + kRecordHeaderSize, len);
  if (!Decodes(t, payload)) return false;
  return CheckRecord(image.substr(q, kRecordHeaderSize), payload).empty();
}

// The first valid record at or after `from`, or nullopt.
std::optional<std::uint64_t> FindRecord(std::string_view image, std::uint64_t from) {
  for (std::uint64_t q = from; q + kRecordHeaderSize <= image.size(); ++q)
    if (ValidAt(image, q)) return q;
  return std::nullopt;
}

bool AllZero(std::string_view bytes) { return bytes.find_first_not_of('\0') == std::string_view::npos; }

// Where scanning resumes after the invalid record at `p`: where its own length says it ends
// if a valid record is there (only payload bytes were damaged), else the next valid record
// anywhere after `p`.
std::optional<std::uint64_t> Resync(std::string_view image, std::uint64_t p) {
  if (p + kRecordHeaderSize <= image.size()) {
    const std::uint64_t len = LoadU32(image.data() + p + 4);
    const std::uint64_t next = p + kRecordHeaderSize + len;
    if (len <= kMaxRecordPayload && next < image.size() && ValidAt(image, next)) return next;
  }
  return FindRecord(image, p + 1);
}

}  // namespace

SegmentScan ScanSegment(std::string_view image, std::uint64_t number) {
  SegmentScan out;
  std::uint64_t pos = kSegmentHeaderSize;
  if (image.size() < kSegmentHeaderSize) {
    // The segment was being created when the process died.
    out.end = SegmentScan::End::kTorn;
    out.tail_reason = "truncated segment header";
    return out;
  }
  if (image.substr(0, kSegmentMagic.size()) != kSegmentMagic || LoadU64(image.data() + 8) != number) {
    const std::string why = image.substr(0, kSegmentMagic.size()) != kSegmentMagic
                                ? "bad segment magic"
                                : "segment number does not match its name";
    auto next = FindRecord(image, kSegmentHeaderSize);
    if (!next) {
      out.end = SegmentScan::End::kTorn;
      out.tail_reason = why;
      return out;
    }
    out.header_ok = false;
    out.bad.push_back({0, *next, why});
    pos = *next;
  }
  out.valid_end = pos;
  while (pos < image.size()) {
    std::string_view rest = image.substr(pos);
    std::string_view header = rest.substr(0, std::min(rest.size(), kRecordHeaderSize));
    std::string_view payload = rest.size() > kRecordHeaderSize ? rest.substr(kRecordHeaderSize) : std::string_view{};
    std::string_view bad = CheckRecord(header, payload);
    if (bad.empty()) {
      const std::uint32_t len = LoadU32(header.data() + 4);
      out.records.push_back({static_cast<RecordType>(header[8]), pos,
                             static_cast<std::uint32_t>(kRecordHeaderSize + len), payload.substr(0, len)});
      pos += kRecordHeaderSize + len;
      out.valid_end = pos;
      continue;
    }
    // The writer's prefilled zeros (file_store_prefill.cpp): the clean end of the log. A
    // record never starts with a zero header (type 0 is invalid), so this cannot hide one.
    if (AllZero(rest)) {
      out.end = SegmentScan::End::kZeros;
      return out;
    }
    auto next = Resync(image, pos);
    if (!next) {
      out.end = SegmentScan::End::kTorn;
      out.tail_reason = std::string(bad);
      return out;
    }
    out.bad.push_back({pos, *next, std::string(bad)});
    pos = *next;
  }
  out.end = SegmentScan::End::kClean;
  return out;
}

std::vector<IndexEntry> IndexEntries(const SegmentScan& scan) {
  std::vector<IndexEntry> out;
  auto add = [&](LogId lid, std::uint64_t start, const ScannedRecord& r, const BatchRef& b) {
    if (b.msg_count)
      out.push_back({lid, start, r.pos, r.len, static_cast<std::uint32_t>(b.data_len), b.msg_count, b.data_off});
  };
  for (const auto& r : scan.records) {
    if (r.type == RecordType::kCreate) {
      if (auto c = DecodeCreate(r.payload)) {
        std::uint64_t off = c->meta.base_offset;
        for (const auto& b : c->batches) {
          add(c->lid, off, r, b);
          off += b.data_len;
        }
      }
    } else if (r.type == RecordType::kAppend) {
      if (auto a = DecodeAppend(r.payload)) add(a->lid, a->start_offset, r, a->batch);
    } else if (r.type == RecordType::kRelocate) {
      if (auto m = DecodeRelocate(r.payload)) add(m->lid, m->start_offset, r, m->batch);
    }
  }
  return out;
}

std::optional<std::uint64_t> SegmentFileNumber(const std::string& name, std::string_view ext) {
  if (name.size() != 16 + ext.size() || name.compare(16, ext.size(), ext) != 0) return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + 16, n);
  if (ec != std::errc() || p != name.data() + 16 || n == 0) return std::nullopt;
  return n;
}

Result<std::string> ReadWholeFile(const RandomFile& file) {
  auto size = file.Size();
  if (!size) return size.status();
  std::string image(*size, '\0');
  auto got = file.Read(0, image.data(), image.size());
  if (!got) return got.status();
  image.resize(*got);
  return image;
}

std::string SegmentFileName(std::uint64_t number, std::string_view ext) {
  char name[24];
  std::snprintf(name, sizeof name, "%016llu", static_cast<unsigned long long>(number));
  return std::string(name) + std::string(ext);
}

}  // namespace dsx::session::filestore
