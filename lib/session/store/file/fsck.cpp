// fsck: see fsck.hpp.
#include "session/store/file/fsck.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "session/store/file/file_store_impl.hpp"
#include "session/store/file/overlay_env.hpp"

namespace dsx::session::filestore {
namespace {

std::string Range(std::uint64_t b, std::uint64_t e) { return std::to_string(b) + ".." + std::to_string(e); }

}  // namespace

bool StoreDirInUse(const std::filesystem::path& dir) {
  int fd = ::open((dir / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // A server holds an exclusive flock; a shared one fails then. Released at once.
  bool busy = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return busy;
}

Result<FsckResult> Fsck(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Status::NotFound("cannot check '" + dir.string() + "': no such directory");
  if (!std::filesystem::exists(dir / "segments", ec) && !std::filesystem::exists(dir / "CHECKPOINT", ec))
    return Status::NotFound("cannot check '" + dir.string() +
                            "': not a dsx data directory (no segments/, no CHECKPOINT)");
  FsckResult out;
  out.dir = dir;
  out.in_use = StoreDirInUse(dir);
  OverlayEnv env(PosixEnv());
  Tuning t;
  t.env = &env;
  t.prefill_chunk = 0;
  t.verify_segments = true;
  FileStoreOptions o;
  o.dir = dir;
  o.fsync = FileStoreOptions::FsyncMode::kNever;
  auto opened = OpenFileStoreWith(o, t);
  if (!opened) return opened.status();
  auto& store = static_cast<FileStore&>(**opened);
  auto loaded = store.Load();
  if (!loaded) return loaded.status();
  out.report = store.recovery_report();
  (void)store.Close();  // writes go to the overlay only
  return out;
}

std::string FsckText(const FsckResult& r) {
  const RecoveryReport& rep = r.report;
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  if (r.in_use) line("note: a server holds this directory; its active segment may be mid-write");
  line("checkpoint: " + rep.checkpoint +
       (rep.checkpoint == "corrupt" ? " (the registry would be rebuilt from the log)" : ""));
  for (const auto& s : rep.segments) {
    std::string head = "segment " + SegmentFileName(s.number) + ": " + std::to_string(s.size) + " bytes, ";
    head += s.scanned ? std::to_string(s.records) + " valid records" : "not read";
    head += ", index " + (s.index.empty() ? std::string("none yet (the last active segment)") : s.index);
    line(head);
    for (const auto& b : s.bad)
      line("  bad bytes " + Range(b.begin, b.end) + " (" + std::to_string(b.end - b.begin) + " bytes): " + b.reason);
    if (s.cut)
      line("  torn tail " + Range(s.cut->begin, s.cut->end) + " (" + std::to_string(s.cut->end - s.cut->begin) +
           " bytes, never acknowledged; cut at open): " + s.cut->reason);
  }
  for (auto n : rep.missing_segments) line("segment " + SegmentFileName(n) + ": missing");
  for (const auto& d : rep.damaged) {
    std::string s = "stream " + d.path + ": unavailable: " + d.reason;
    if (!d.lost.empty()) {
      s += "; lost offsets";
      for (const auto& l : d.lost) s += " " + Range(l.begin, l.end);
    }
    line(s);
  }
  for (const auto& [lid, n] : rep.orphans)
    line("orphan records: log id " + std::to_string(lid) + " (" + std::to_string(n) +
         " records; the stream's create is gone)");
  std::size_t bad = 0;
  for (const auto& s : rep.segments) bad += s.bad.size();
  if (r.corrupt())
    line("result: corruption found: " + std::to_string(bad) + " bad ranges, " + std::to_string(rep.damaged.size()) +
         " streams unavailable (dsx session repair salvages every valid record)");
  else line("result: clean");
  return out;
}

nlohmann::json FsckJson(const FsckResult& r) {
  using nlohmann::json;
  const RecoveryReport& rep = r.report;
  json j;
  j["dir"] = r.dir.string();
  j["clean"] = !r.corrupt();
  j["in_use"] = r.in_use;
  j["checkpoint"] = rep.checkpoint;
  j["segments"] = json::array();
  auto range = [](const BadRange& b) { return json{{"begin", b.begin}, {"end", b.end}, {"reason", b.reason}}; };
  for (const auto& s : rep.segments) {
    json seg{{"segment", s.number},  {"file", SegmentFileName(s.number)},
             {"size", s.size},       {"scanned", s.scanned},
             {"records", s.records}, {"index", s.index.empty() ? json(nullptr) : json(s.index)}};
    seg["bad"] = json::array();
    for (const auto& b : s.bad) seg["bad"].push_back(range(b));
    seg["torn_tail"] = s.cut ? range(*s.cut) : json(nullptr);
    j["segments"].push_back(std::move(seg));
  }
  j["missing_segments"] = json::array();
  for (auto n : rep.missing_segments) j["missing_segments"].push_back(SegmentFileName(n));
  j["unavailable_streams"] = json::array();
  for (const auto& d : rep.damaged) {
    json lost = json::array();
    for (const auto& l : d.lost) lost.push_back({l.begin, l.end});
    j["unavailable_streams"].push_back({{"path", d.path}, {"log_id", d.lid}, {"reason", d.reason}, {"lost", lost}});
  }
  j["orphans"] = json::array();
  for (const auto& [lid, n] : rep.orphans) j["orphans"].push_back({{"log_id", lid}, {"records", n}});
  return j;
}

}  // namespace dsx::session::filestore
