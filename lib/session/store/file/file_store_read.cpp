// Read: find the batches covering [from, end_limit) in the stream's extent index, pread their
// records (adjacent records in one call), verify each record's CRC, and cut out the messages.
// A record that fails its checksum is an error to the reader, never served.
#include <algorithm>

#include "session/store/file/coding.hpp"
#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore {
namespace {

// Records of one stream closer than this are read with one pread (the gap is read and ignored).
constexpr std::uint64_t kMaxReadGap = 16 << 10;
constexpr std::uint64_t kMaxReadSpan = 4 << 20;

struct Piece {
  Extent extent;
  std::shared_ptr<RandomFile> file;
};

}  // namespace

Result<ReadChunk> FileStore::Read(StreamId id, std::uint64_t from, std::uint64_t end_limit,
                                  std::size_t max_bytes) const {
  std::vector<Piece> pieces;
  {
    MutexLock lk(&mu_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return Status::NotFound("stream id " + std::to_string(id) + " not found");
    if (const auto& why = it->second->state.unavailable)
      return Status::Unavailable("stream '" + it->second->state.meta.path + "' is unavailable: " + *why);
    const auto& ex = it->second->extents;
    // The first batch that ends after `from`.
    auto first =
        std::upper_bound(ex.begin(), ex.end(), from, [](std::uint64_t f, const Extent& e) { return f < e.end(); });
    std::uint64_t bytes = 0;
    for (auto e = first; e != ex.end() && e->start < end_limit && bytes < max_bytes; ++e) {
      // A lost range (accepted by a repair) between two batches: a chunk is contiguous, so it
      // ends here; the next read starts after the range.
      if (!pieces.empty() && e->start != pieces.back().extent.end()) break;
      auto seg = segments_.find(e->segment);
      if (seg == segments_.end())
        return Status::Failed("segment " + std::to_string(e->segment) + " of stream id " + std::to_string(id) +
                              " is missing");
      pieces.push_back({*e, seg->second.file});
      bytes += e->end() - std::max(e->start, from);
    }
  }

  ReadChunk out;
  out.begin = from;
  std::string buf;
  std::vector<std::uint32_t> sizes;
  bool done = false;
  for (std::size_t i = 0; i < pieces.size() && !done;) {
    // Group records of the same segment that lie close together into one pread.
    std::size_t j = i + 1;
    const std::uint64_t lo = pieces[i].extent.record_pos;
    std::uint64_t hi = lo + pieces[i].extent.record_len;
    while (j < pieces.size() && pieces[j].extent.segment == pieces[i].extent.segment &&
           pieces[j].extent.record_pos >= hi && pieces[j].extent.record_pos - hi <= kMaxReadGap &&
           pieces[j].extent.record_pos + pieces[j].extent.record_len - lo <= kMaxReadSpan) {
      hi = pieces[j].extent.record_pos + pieces[j].extent.record_len;
      ++j;
    }
    buf.resize(hi - lo);
    auto got = pieces[i].file->Read(lo, buf.data(), buf.size());
    if (!got) return got.status();
    for (std::size_t k = i; k < j && !done; ++k) {
      const Extent& e = pieces[k].extent;
      const std::string where =
          "record at byte " + std::to_string(e.record_pos) + " of segment '" + pieces[k].file->name() + "'";
      if (e.record_pos + e.record_len > lo + *got) return Status::Failed("cannot read " + where + ": file too short");
      std::string_view rec(buf.data() + (e.record_pos - lo), e.record_len);
      std::string_view payload = rec.substr(kRecordHeaderSize);
      std::string_view bad = CheckRecord(rec.substr(0, kRecordHeaderSize), payload);
      if (!bad.empty()) return Status::Failed("corrupt " + where + ": " + std::string(bad));
      std::string_view data;
      if (!DecodeBatchData(payload, e.data_off, &sizes, &data) || sizes.size() != e.msg_count || data.size() != e.len)
        return Status::Failed("corrupt " + where + ": batch does not match the index");
      std::uint64_t off = e.start;
      std::size_t pos = 0;
      for (std::size_t m = 0; m < sizes.size(); ++m) {
        const std::uint64_t end = off + sizes[m];
        if (off >= end_limit) {
          done = true;
          break;
        }
        if (end > from) {
          if (out.messages.empty()) out.begin = off;
          out.data.append(data.substr(pos, sizes[m]));
          out.messages.push_back({end, m == 0});
          if (out.data.size() >= max_bytes) {
            done = true;
            break;
          }
        }
        off = end;
        pos += sizes[m];
      }
    }
    i = j;
  }
  return out;
}

}  // namespace dsx::session::filestore
