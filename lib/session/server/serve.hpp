// `dsx session serve` as a library call: configuration (flags > DSX_* environment >
// --config TOML > defaults) and the serve loop (store + service + HTTP server).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "session/auth/jwt.hpp"
#include "session/live/session_hub.hpp"
#include "session/server/session_routes.hpp"
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
  // --store URL: file:DIR (as --data DIR), memory: (as --memory) or a Redis URL (redis://,
  // redis+sentinel://, redis+cluster://; see lib/redis/client.hpp and docs/scaling.md). Empty:
  // --memory / --data decide. A Redis URL never holds a password (refused by redis::ParseUrl).
  std::string store;
  std::string redis_password_file;       // the Redis password: this file's content (else DSX_REDIS_PASSWORD)
  std::int64_t redis_wait_replicas = 0;  // acknowledge an append after WAIT N replicas (0..16)
  // The durable LLM proxy (lib/llm/proxy; checked by the app, which links it): upstreams as
  // --llm-proxy takes them (URL or NAME=URL), none: off.
  std::vector<std::string> llm_proxy;
  std::int64_t llm_proxy_idle_timeout_ms = 120000;
  std::int64_t llm_proxy_max_body_bytes = 8ll << 20;
};

// The store a config names: --store when set, else --memory, else the file store in --data.
struct StoreChoice {
  enum class Kind { kFile, kMemory, kRedis };
  Kind kind = Kind::kFile;
  std::string dir;        // kFile: the directory
  std::string redis_url;  // kRedis: the URL as given (no password in it)
  // For messages: "file:DIR", "memory:" or the Redis URL.
  std::string Describe() const;
};
// Usage error for an unknown scheme (want file:DIR, memory: or a redis URL), an empty file:
// directory, or --store together with --memory. The Redis URL itself is checked by the app
// (redis::ParseUrl; this library does not link the Redis client).
Result<StoreChoice> ChooseStore(const ServeConfig& config);

// The Redis password: the content of config.redis_password_file (trailing CR/LF stripped; a
// file every user may read gets a warning on the log), else the DSX_REDIS_PASSWORD environment
// variable, else "" (no AUTH). Usage error for a file that cannot be read or is empty. The
// password is never logged and never part of any message.
Result<std::string> ReadRedisPassword(const ServeConfig& config);

// Keys (TOML, top level or in a [serve] table): every long option of `dsx session serve`
// except --config itself: listen, data, memory, long-poll-timeout-ms, fsync,
// fsync-interval-ms, max-body-bytes, max-session-body-bytes, max-connections, log-format,
// log-requests, threads, auth-key-file, insecure, sweep-interval-ms, store, redis-password-file,
// redis-wait-replicas, llm-proxy (a string or an array of strings), llm-proxy-idle-timeout-ms,
// llm-proxy-max-body-bytes. Underscores work as well as dashes. Paths are
// taken as given (relative ones from the working directory, as on the command line). An unknown key, a table other than
// [serve], or a value of the wrong type is a usage error naming the key and the file.
Status ApplyConfigFile(const std::string& path, ServeConfig* config);
// DSX_LISTEN, DSX_DATA, DSX_MEMORY, DSX_LONG_POLL_TIMEOUT_MS, DSX_FSYNC, DSX_FSYNC_INTERVAL_MS,
// DSX_MAX_BODY_BYTES, DSX_MAX_SESSION_BODY_BYTES, DSX_MAX_CONNECTIONS, DSX_LOG_FORMAT, DSX_LOG_REQUESTS, DSX_THREADS,
// DSX_AUTH_KEY_FILE, DSX_INSECURE, DSX_SWEEP_INTERVAL_MS, DSX_STORE, DSX_REDIS_PASSWORD_FILE,
// DSX_REDIS_WAIT_REPLICAS, DSX_LLM_PROXY (upstreams separated by spaces or commas),
// DSX_LLM_PROXY_IDLE_TIMEOUT_MS, DSX_LLM_PROXY_MAX_BODY_BYTES (when set and non-empty). DSX_REDIS_PASSWORD is read by
// ReadRedisPassword, never stored in the config.
Status ApplyEnvironment(ServeConfig* config);
// Check values (listen syntax, fsync mode, ranges, the store choice; the Redis options only
// with a Redis store).
Status ValidateConfig(const ServeConfig& config);

// Opens the durable store for a validated config: ChooseStore(config) is kFile (config.data,
// config.fsync, config.fsync_interval_ms) or kRedis (the URL, ReadRedisPassword,
// config.redis_wait_replicas). The application wires it (the file store, dsx_session_file), so this
// library, which the store is built on, does not link a store implementation of its own beyond
// the memory store.
using DurableStoreOpener = std::function<Result<std::unique_ptr<StreamStore>>(const ServeConfig&)>;

// Routes an application adds to the server without this library knowing them (the LLM proxy of
// lib/llm/proxy, wired by apps/dsx/session_serve.cpp: this module may not include net or llm).
// Made once the session hub and the token key exist. `intercept` sees every request before the
// auth gate and the session routes (after /ui) and returns true when it took it; it does its own
// auth. `stop` runs after the listener stopped and before the hub and the store close (end what
// is in flight). `keep` holds whatever the routes need alive until then.
struct ServeExtension {
  server::Intercept intercept;
  std::function<void()> stop;
  std::shared_ptr<void> keep;
};
using ServeExtensionFactory =
    std::function<Result<ServeExtension>(live::SessionHub& hub, const auth::TokenKey* key)>;

// The address the server listens on, known once it is bound (port 0 in --listen: the port the
// kernel chose).
struct Listening {
  std::string listen;  // "127.0.0.1:PORT", "[::1]:PORT"
  std::string url;     // "http://127.0.0.1:PORT"
};
// Called once the server listens and before it serves a request (ready files, a JSON ready line).
// A non-OK status stops the server before it serves: Serve returns that status.
using OnListening = std::function<Status(const Listening&)>;
// The announcement Serve makes without an OnListening: `dsx: listening on http://HOST:PORT` on
// stderr, or with log_format json one JSON log line ({"msg":"listening on URL","listen":...,"url":...});
// both at log level info (--quiet silences them).
void AnnounceListening(const Listening& where);

// Open the store (the memory store for StoreChoice::kMemory, else open_durable_store), load streams,
// listen, announce it (on_listening, else AnnounceListening), serve until SIGINT/SIGTERM, then
// finish in-flight appends, sync and return OK. `extensions` add routes (ServeExtension).
Status Serve(const ServeConfig& config, const DurableStoreOpener& open_durable_store,
             const std::vector<ServeExtensionFactory>& extensions = {}, const OnListening& on_listening = nullptr);

}  // namespace dsx::session
