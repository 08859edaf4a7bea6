// `dsx session serve` as a library call: configuration (flags > DSX_* environment >
// --config TOML > defaults) and the serve loop (store + service + HTTP server).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.hpp"
#include "session/store/stream_store.hpp"

namespace dsx::session {

struct ServeConfig {
  std::string listen = "127.0.0.1:4437";  // HOST:PORT; port 0 picks a free port
  std::string data = "./var/dsx";         // file store directory
  bool memory = false;                    // memory store instead of the file store
  std::int64_t long_poll_timeout_ms = 30000;
  std::string fsync = "always";          // always | batch | never
  std::int64_t fsync_interval_ms = 100;  // batch: longest unsynced window
  std::int64_t max_body_bytes = 64ll << 20;
  std::int64_t max_session_body_bytes = 1ll << 20;  // /v1/session/ request bodies (events, heartbeat, presence)
  std::int64_t max_connections = 10000;             // open connections of every kind (capped by ulimit -n); then 503
  std::string log_format = "text";                  // text | json
  bool log_requests = false;
  int threads = 0;                         // io threads; 0: one per core
  std::string auth_key_file;               // HS256 secret or Ed25519 PEM: tokens required (live_layer.hpp)
  bool insecure = false;                   // allow a non-loopback listen address without a key
  std::int64_t sweep_interval_ms = 10000;  // retention sweep of expired streams; 0: off
};

// Keys (TOML, top level or in a [serve] table): every long option of `dsx session serve`
// except --config itself: listen, data, memory, long-poll-timeout-ms, fsync,
// fsync-interval-ms, max-body-bytes, max-session-body-bytes, max-connections, log-format,
// log-requests, threads, auth-key-file, insecure, sweep-interval-ms. Underscores work as well as dashes. Paths are
// taken as given (relative ones from the working directory, as on the command line). An unknown key, a table other than
// [serve], or a value of the wrong type is a usage error naming the key and the file.
Status ApplyConfigFile(const std::string& path, ServeConfig* config);
// DSX_LISTEN, DSX_DATA, DSX_MEMORY, DSX_LONG_POLL_TIMEOUT_MS, DSX_FSYNC, DSX_FSYNC_INTERVAL_MS,
// DSX_MAX_BODY_BYTES, DSX_MAX_SESSION_BODY_BYTES, DSX_MAX_CONNECTIONS, DSX_LOG_FORMAT, DSX_LOG_REQUESTS, DSX_THREADS,
// DSX_AUTH_KEY_FILE, DSX_INSECURE, DSX_SWEEP_INTERVAL_MS (when set and non-empty).
Status ApplyEnvironment(ServeConfig* config);
// Check values (listen syntax, fsync mode, ranges).
Status ValidateConfig(const ServeConfig& config);

// Opens the durable store for a validated config (config.data, config.fsync,
// config.fsync_interval_ms). The application wires it (the file store, dsx_session_file), so this
// library, which the store is built on, does not link a store implementation of its own beyond
// the memory store.
using DurableStoreOpener = std::function<Result<std::unique_ptr<StreamStore>>(const ServeConfig&)>;

// Open the store (the memory store under config.memory, else open_durable_store), load streams,
// listen, print `dsx: listening on http://HOST:PORT` on stderr, serve until SIGINT/SIGTERM, then
// finish in-flight appends, sync and return OK.
Status Serve(const ServeConfig& config, const DurableStoreOpener& open_durable_store);

}  // namespace dsx::session
