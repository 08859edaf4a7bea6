// OverlayEnv: see overlay_env.hpp.
#include "session/store/file/overlay_env.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

namespace dsx::session::filestore {

struct OverlayEnv::Data {
  Data() = default;
  explicit Data(std::string b) : bytes(std::move(b)) {}
  Mutex mu;
  std::string bytes GUARDED_BY(mu);
};

namespace {

// A file written here: reads and writes on the shared in-memory bytes.
class MemFile final : public RandomFile {
 public:
  MemFile(std::shared_ptr<OverlayEnv::Data> data, std::string name) : data_(std::move(data)), name_(std::move(name)) {}
  Status Write(std::uint64_t pos, std::string_view d) override {
    MutexLock lk(&data_->mu);
    if (data_->bytes.size() < pos + d.size()) data_->bytes.resize(pos + d.size(), '\0');
    std::memcpy(data_->bytes.data() + pos, d.data(), d.size());
    return {};
  }
  Status Sync() override { return {}; }
  Result<std::size_t> Read(std::uint64_t pos, char* buf, std::size_t n) const override {
    MutexLock lk(&data_->mu);
    if (pos >= data_->bytes.size()) return std::size_t{0};
    const std::size_t got = std::min<std::size_t>(n, data_->bytes.size() - pos);
    std::memcpy(buf, data_->bytes.data() + pos, got);
    return got;
  }
  Result<std::uint64_t> Size() const override {
    MutexLock lk(&data_->mu);
    return static_cast<std::uint64_t>(data_->bytes.size());
  }
  Status Truncate(std::uint64_t size) override {
    MutexLock lk(&data_->mu);
    data_->bytes.resize(size, '\0');
    return {};
  }
  const std::string& name() const override { return name_; }

 private:
  std::shared_ptr<OverlayEnv::Data> data_;
  std::string name_;
};

// A base file not written yet: reads go to it; the first write or truncate copies it into the
// overlay (whole: segments are read whole at open anyway) and goes on there.
class CopyOnWriteFile final : public RandomFile {
 public:
  using CopyFn = std::function<std::shared_ptr<OverlayEnv::Data>()>;
  CopyOnWriteFile(std::shared_ptr<RandomFile> base, CopyFn copy) : base_(std::move(base)), copy_(std::move(copy)) {}
  Status Write(std::uint64_t pos, std::string_view d) override { return Mem().Write(pos, d); }
  Status Sync() override { return {}; }
  Result<std::size_t> Read(std::uint64_t pos, char* buf, std::size_t n) const override {
    MutexLock lk(&mu_);
    if (mem_) return mem_->Read(pos, buf, n);
    return base_->Read(pos, buf, n);
  }
  Result<std::uint64_t> Size() const override {
    MutexLock lk(&mu_);
    if (mem_) return mem_->Size();
    return base_->Size();
  }
  Status Truncate(std::uint64_t size) override { return Mem().Truncate(size); }
  const std::string& name() const override { return base_->name(); }

 private:
  RandomFile& Mem() {
    MutexLock lk(&mu_);
    if (!mem_) mem_ = std::make_unique<MemFile>(copy_(), base_->name());
    return *mem_;
  }
  mutable Mutex mu_;
  std::shared_ptr<RandomFile> base_;
  CopyFn copy_;
  std::unique_ptr<MemFile> mem_ GUARDED_BY(mu_);
};

class OverlayLock final : public FileLock {
 public:
  OverlayLock(Mutex* mu, std::set<std::string>* locked, std::string key)
      : mu_(mu), locked_(locked), key_(std::move(key)) {}
  ~OverlayLock() override {
    MutexLock lk(mu_);
    locked_->erase(key_);
  }

 private:
  Mutex* mu_;
  std::set<std::string>* locked_;  // the env's, guarded by *mu_
  std::string key_;
};

}  // namespace

std::shared_ptr<OverlayEnv::Data> OverlayEnv::Copy(const std::string& key) {
  if (auto it = files_.find(key); it != files_.end()) return it->second;
  std::string bytes;
  if (base_ && !removed_.count(key))
    if (auto read = base_->ReadAll(key)) bytes = std::move(*read);
  auto data = std::make_shared<Data>(std::move(bytes));
  files_[key] = data;
  removed_.erase(key);
  return data;
}

Result<std::shared_ptr<RandomFile>> OverlayEnv::Open(const std::filesystem::path& path, bool create) {
  MutexLock lk(&mu_);
  const std::string key = path.string();
  const std::string name = path.filename().string();
  if (auto it = files_.find(key); it != files_.end())
    return std::shared_ptr<RandomFile>(std::make_shared<MemFile>(it->second, name));
  if (base_ && !removed_.count(key)) {
    auto f = base_->Open(path, /*create=*/false);
    if (f) {
      return std::shared_ptr<RandomFile>(std::make_shared<CopyOnWriteFile>(*f, [this, key] {
        MutexLock l(&mu_);
        return Copy(key);
      }));
    }
    if (!create) return f.status();
  }
  if (!create) return Status::NotFound("cannot open '" + name + "': no such file");
  auto data = std::make_shared<Data>();
  files_[key] = data;
  removed_.erase(key);
  return std::shared_ptr<RandomFile>(std::make_shared<MemFile>(data, name));
}

Result<std::string> OverlayEnv::ReadAll(const std::filesystem::path& path) {
  std::shared_ptr<Data> data;
  {
    MutexLock lk(&mu_);
    const std::string key = path.string();
    if (auto it = files_.find(key); it != files_.end()) data = it->second;
    else if (!base_ || removed_.count(key))
      return Status::NotFound("cannot read '" + path.string() + "': no such file");
  }
  if (!data) return base_->ReadAll(path);
  MutexLock lk(&data->mu);
  return data->bytes;
}

Status OverlayEnv::WriteAtomic(const std::filesystem::path& path, std::string_view data, bool) {
  auto d = std::make_shared<Data>(std::string(data));
  MutexLock lk(&mu_);
  files_[path.string()] = std::move(d);  // open handles keep the old contents, as after a rename
  removed_.erase(path.string());
  return {};
}

Status OverlayEnv::Remove(const std::filesystem::path& path) {
  MutexLock lk(&mu_);
  files_.erase(path.string());
  removed_.insert(path.string());
  return {};
}

Status OverlayEnv::CreateDir(const std::filesystem::path& dir) {
  MutexLock lk(&mu_);
  dirs_.insert(dir.string());
  return {};
}

Result<std::vector<std::string>> OverlayEnv::List(const std::filesystem::path& dir) {
  std::set<std::string> names;
  if (base_) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) {
      auto listed = base_->List(dir);
      if (!listed) return listed.status();
      names.insert(listed->begin(), listed->end());
    }
  }
  MutexLock lk(&mu_);
  for (auto it = names.begin(); it != names.end();)
    it = removed_.count((dir / *it).string()) ? names.erase(it) : std::next(it);
  for (const auto& [key, data] : files_) {
    std::filesystem::path p(key);
    if (p.parent_path() == dir) names.insert(p.filename().string());
  }
  return std::vector<std::string>(names.begin(), names.end());
}

Result<std::unique_ptr<FileLock>> OverlayEnv::Lock(const std::filesystem::path& path) {
  MutexLock lk(&mu_);
  if (!locked_.insert(path.string()).second)
    return Status::Conflict("cannot lock '" + path.string() + "': already locked");
  return std::unique_ptr<FileLock>(std::make_unique<OverlayLock>(&mu_, &locked_, path.string()));
}

}  // namespace dsx::session::filestore
