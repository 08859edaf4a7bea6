// repair: see repair.hpp.
#include "session/store/file/repair.hpp"

#include "session/store/file/file_store_impl.hpp"

namespace dsx::session::filestore {
namespace {

Result<std::unique_ptr<StreamStore>> OpenVerifying(const std::filesystem::path& dir, FileEnv* env) {
  Tuning t;
  t.env = env;
  t.prefill_chunk = 0;
  t.verify_segments = true;
  FileStoreOptions o;
  o.dir = dir;
  return OpenFileStoreWith(o, t);
}

}  // namespace

Result<RepairResult> Repair(const std::filesystem::path& dir, FileEnv* env) {
  std::error_code ec;
  if (!env && !std::filesystem::is_directory(dir / "segments", ec))
    return Status::NotFound("cannot repair '" + dir.string() + "': not a dsx data directory (no segments/)");
  RepairResult out;
  {
    auto opened = OpenVerifying(dir, env);  // Conflict while a server holds DIR/LOCK
    if (!opened) return opened.status().Wrap("cannot repair '" + dir.string() + "'");
    auto& store = static_cast<FileStore&>(**opened);
    auto loaded = store.Load();
    if (!loaded) return loaded.status();
    out.before = store.recovery_report();
    DSX_RETURN_IF_ERROR(store.RewriteCorruptSegments());
    store.AcceptLosses();
    DSX_RETURN_IF_ERROR(store.Close());  // checkpoint: losses accepted, lost ranges kept
  }
  auto opened = OpenVerifying(dir, env);
  if (!opened) return opened.status();
  auto loaded = (*opened)->Load();
  if (!loaded) return loaded.status();
  out.after = static_cast<FileStore&>(**opened).recovery_report();
  DSX_RETURN_IF_ERROR((*opened)->Close());
  return out;
}

}  // namespace dsx::session::filestore
