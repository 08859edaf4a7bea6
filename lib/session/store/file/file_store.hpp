// The embedded file store: Durable Streams persisted in one shared, checksummed segment log
// under a directory (`dsx session serve --data DIR`). Format and durability guarantees:
// docs/formats/segment-log.md.
//
// Acknowledged means durable: an Append/Create/SoftDelete/Drop callback reports OK only after
// the record holding the change is written and, under FsyncMode::kAlways, covered by an
// fdatasync. Concurrent mutations share one write and one sync (group commit on the store's
// writer thread); callbacks run on that writer thread, so they must be short (post elsewhere).
#pragma once

#include <filesystem>
#include <memory>

#include "core/status.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session {

struct FileStoreOptions {
  enum class FsyncMode {
    kAlways,  // callback after fdatasync covers the record (default; loses nothing acknowledged)
    kBatch,   // callback after write(); fdatasync at least every batch_interval_ms
    kNever,   // callback after write(); no sync on the append path (throwaway data)
  };
  std::filesystem::path dir;  // created if missing; locked while the store is open
  FsyncMode fsync = FsyncMode::kAlways;
  int batch_interval_ms = 100;  // kBatch only: the longest a write stays unsynced [ms]
};

// Open (create) the store in `options.dir`. Takes an exclusive lock on DIR/LOCK: a second
// store on the same directory fails with Conflict. Recovery runs in StreamStore::Load().
// Errors: Usage (bad options), Conflict (locked), Failed/Unavailable (I/O).
dsx::Result<std::unique_ptr<StreamStore>> OpenFileStore(const FileStoreOptions& options);

}  // namespace dsx::session
