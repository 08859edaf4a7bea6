// Helpers for the file-store tests: a temp directory, a fault-injecting FileEnv (fail the Nth
// write or sync), synchronous wrappers over the async store API, and byte surgery on files.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "session/store/file/file_env.hpp"
#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore::testing {

namespace fsys = std::filesystem;

struct TempDir {
  fsys::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = fsys::temp_directory_path() / ("dsx-filestore-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fsys::remove_all(path);
  }
  ~TempDir() { fsys::remove_all(path); }
};

// PosixEnv for everything but Open: test envs wrap the files it opens and forward the rest.
class ForwardingEnv : public FileEnv {
 public:
  Result<std::string> ReadAll(const fsys::path& p) override { return PosixEnv()->ReadAll(p); }
  Status WriteAtomic(const fsys::path& p, std::string_view d, bool s) override {
    return PosixEnv()->WriteAtomic(p, d, s);
  }
  Status Remove(const fsys::path& p) override { return PosixEnv()->Remove(p); }
  Status CreateDir(const fsys::path& d) override { return PosixEnv()->CreateDir(d); }
  Status SyncDir(const fsys::path& d) override { return PosixEnv()->SyncDir(d); }
  Result<std::vector<std::string>> List(const fsys::path& d) override { return PosixEnv()->List(d); }
  Result<std::unique_ptr<FileLock>> Lock(const fsys::path& p) override { return PosixEnv()->Lock(p); }
};

// Counts writes and syncs over PosixEnv's files; fails the Nth (1-based) when asked.
class FaultEnv final : public ForwardingEnv {
 public:
  std::atomic<int> writes{0}, syncs{0};
  std::atomic<int> fail_write_at{0}, fail_sync_at{0};  // 0: never

  Result<std::shared_ptr<RandomFile>> Open(const fsys::path& path, bool create) override {
    auto f = PosixEnv()->Open(path, create);
    if (!f) return f.status();
    return std::shared_ptr<RandomFile>(std::make_shared<File>(this, *f));
  }

 private:
  class File final : public RandomFile {
   public:
    File(FaultEnv* env, std::shared_ptr<RandomFile> base) : env_(env), base_(std::move(base)) {}
    Status Write(std::uint64_t pos, std::string_view data) override {
      if (++env_->writes == env_->fail_write_at) return Status::Failed("injected write failure");
      return base_->Write(pos, data);
    }
    Status Sync() override {
      if (++env_->syncs == env_->fail_sync_at) return Status::Failed("injected sync failure");
      return base_->Sync();
    }
    Result<std::size_t> Read(std::uint64_t pos, char* buf, std::size_t n) const override {
      return base_->Read(pos, buf, n);
    }
    Result<std::uint64_t> Size() const override { return base_->Size(); }
    Status Truncate(std::uint64_t size) override { return base_->Truncate(size); }
    const std::string& name() const override { return base_->name(); }

   private:
    FaultEnv* env_;
    std::shared_ptr<RandomFile> base_;
  };
};

inline std::unique_ptr<StreamStore> Open(const fsys::path& dir, Tuning tuning = {},
                                         FileStoreOptions::FsyncMode mode = FileStoreOptions::FsyncMode::kAlways,
                                         int interval_ms = 100) {
  FileStoreOptions o;
  o.dir = dir;
  o.fsync = mode;
  o.batch_interval_ms = interval_ms;
  auto s = OpenFileStoreWith(o, tuning);
  if (!s) return nullptr;
  return std::move(*s);
}

inline Batch MakeBatch(std::vector<std::string> msgs) {
  Batch b;
  for (auto& m : msgs) {
    b.payload += m;
    b.sizes.push_back(static_cast<std::uint32_t>(m.size()));
  }
  return b;
}

inline StreamMeta Meta(StreamId id, std::string path, std::string ct = "text/plain") {
  StreamMeta m;
  m.id = id;
  m.path = std::move(path);
  m.content_type = std::move(ct);
  m.created_ms = 1700000000000;
  return m;
}

inline Status CreateSync(StreamStore& s, CreateOp op) {
  std::promise<Status> p;
  s.Create(std::move(op), [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

inline Result<AppendResult> AppendSync(StreamStore& s, AppendOp op) {
  std::promise<Result<AppendResult>> p;
  s.Append(std::move(op), [&](Result<AppendResult> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

inline Result<AppendResult> AppendText(StreamStore& s, StreamId id, std::string text) {
  AppendOp op;
  op.id = id;
  op.batch = MakeBatch({std::move(text)});
  return AppendSync(s, std::move(op));
}

inline Status DropSync(StreamStore& s, StreamId id) {
  std::promise<Status> p;
  s.Drop(id, [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

inline Status SoftDeleteSync(StreamStore& s, StreamId id) {
  std::promise<Status> p;
  s.SoftDelete(id, [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

// All data of a stream's own log, read in chunks of `max_bytes`.
inline std::string ReadAll(const StreamStore& s, StreamId id, std::uint64_t from, std::uint64_t tail,
                           std::size_t max_bytes = 1 << 20) {
  std::string out;
  while (from < tail) {
    auto r = s.Read(id, from, tail, max_bytes);
    if (!r || r->messages.empty()) return out + "<read error: " + r.status().message() + ">";
    out += r->data;
    from = r->messages.back().end;
  }
  return out;
}

inline const StreamState* Find(const std::vector<StreamState>& v, StreamId id) {
  for (const auto& s : v)
    if (s.meta.id == id) return &s;
  return nullptr;
}

inline std::vector<fsys::path> Segments(const fsys::path& dir) {
  std::vector<fsys::path> out;
  for (auto& e : fsys::directory_iterator(dir / "segments"))
    if (e.path().extension() == ".log") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string Slurp(const fsys::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void Spit(const fsys::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

// A copy of an open store's active segment ends in the writer's prefilled zeros
// (file_store_prefill.cpp); cut them so a test can damage the last record. Only for logs whose
// last record ends in a non-zero byte (message text).
inline std::string WithoutPrefill(std::string image) {
  image.erase(image.find_last_not_of('\0') + 1);
  return image;
}

}  // namespace dsx::session::filestore::testing
