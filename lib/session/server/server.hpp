// Server: the HTTP front of `dsx session serve`. An io_context run by a few threads, one
// Listener, HttpSession/SseSession per connection. Start() binds; Run() serves until Stop()
// or SIGINT/SIGTERM, then stops accepting and returns (the caller closes the service).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.hpp"
#include "session/model/stream_service.hpp"
#include "session/server/server_context.hpp"

namespace dsx::session::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 4437;  // 0: any free port
  int threads = 0;            // io threads; 0: hardware concurrency
  std::int64_t long_poll_timeout_ms = 30000;
  std::size_t max_body_bytes = 64u << 20;
  std::size_t max_session_body_bytes = 1u << 20;  // /v1/session/ request bodies
  // Open connections of every kind; past it 503 (listener.hpp). The server never allows more
  // than the open-file limit minus a reserve (EffectiveMaxConnections).
  std::int64_t max_connections = 10000;
  const auth::TokenKey* auth_key = nullptr;  // the body gate's key (server_context.hpp); null: open
  std::size_t max_header_bytes = 16u << 10;
  int idle_timeout_s = 30;
  bool log_requests = false;
  bool handle_signals = true;  // SIGINT/SIGTERM stop Run()
  // Retention: how often StreamService::SweepExpired runs [ms]; 0: never (expired streams are
  // then removed only when a request touches them, and keep their disk until then).
  std::int64_t sweep_interval_ms = 10000;
  decltype(RouterOptions::intercept) intercept;  // auth + /v1/session/ routes (session_routes.hpp)
};

// The connection limit actually applied: `requested`, but at most the descriptor limit
// `nofile` minus a reserve for everything else the process opens (store segments and
// indexes, the listener, epoll, timers, the spare descriptor, the overflow band of
// listener.hpp): nofile/8, at least 32 and at most 256. At least 1.
std::int64_t EffectiveMaxConnections(std::int64_t requested, std::uint64_t nofile);

class Server {
 public:
  Server(ServerOptions options, StreamService& service);
  ~Server();
  // Bind and listen. Returns the bound port (the real one when options.port is 0).
  Result<std::uint16_t> Start();
  // Serve until Stop() or a signal. Blocks; returns after the io threads have finished.
  void Run();
  // Thread-safe: stop accepting, let in-flight handlers finish briefly, end Run().
  void Stop();
  const ServerMetrics& metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsx::session::server
