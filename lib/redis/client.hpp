// dsx::redis: a small asynchronous Redis client over hiredis (Debian libhiredis 0.14).
//
// Why not hiredis' own async API with an Asio adapter: 0.14 has no Asio adapter and no TLS, and
// the session layer needs only three things: commands pipelined in order on a connection,
// Lua scripts (EVALSHA with a NOSCRIPT fallback), and pub/sub. Each connection runs on its own
// thread with a blocking hiredis context and a queue, so no Redis call ever runs on an HTTP
// I/O thread; callers get callbacks.
//
// Topologies (Options::mode): a single server; Sentinel (ask the sentinels for the current
// primary of `master_name`, follow failovers: on a connection error or a READONLY/-LOADING reply
// ask again); Cluster (slot map from CLUSTER SLOTS, keys routed by CRC16 hash slot with {hash
// tags}, MOVED refreshes the map and retries, ASK retries once with ASKING).
//
// Ordering: commands whose routing key maps to the same slot (and so the same connection) are
// sent in submission order and their callbacks run in that order. Callbacks run on a client
// thread; they must be short and must not block. A command submitted while Redis is down fails
// fast with Unavailable ("redis unreachable: ...") once the reconnect attempt fails; the client
// keeps reconnecting in the background (backoff up to 1 s) and recovers by itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::redis {

struct Endpoint {
  std::string host;
  std::uint16_t port = 6379;
};

struct Options {
  enum class Mode { kStandalone, kSentinel, kCluster };
  Mode mode = Mode::kStandalone;
  // kStandalone: one endpoint. kSentinel: the sentinels. kCluster: seed nodes.
  std::vector<Endpoint> endpoints;
  std::string master_name;  // kSentinel only
  int db = 0;               // SELECT (not in cluster mode)
  std::string username;     // ACL user (optional)
  std::string password;     // never logged, never in Describe()
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{3000};
};

// URL forms (docs/scaling.md):
//   redis://[user@]HOST:PORT[/DB]
//   redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]
//   redis+cluster://HOST:PORT[,HOST:PORT...]
// A password inside the URL is refused (it would show in `ps`): give it through `password`
// (read by the caller from --redis-password-file or DSX_REDIS_PASSWORD). rediss:// is refused
// with a clear reason (TLS needs hiredis >= 1.0 with hiredis_ssl; Debian 12 ships 0.14).
Result<Options> ParseUrl(std::string_view url);

// One reply. Redis error replies are kError (message in `str`), not a failed Result: a failed
// Result means the command may not have run (connection, timeout: Unavailable).
struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kArray, kError };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }
};
using Callback = std::function<void(Result<Reply>)>;

// A Lua script, loaded once per connection by SHA (EVALSHA; on NOSCRIPT: SCRIPT LOAD then retry).
struct Script {
  std::string source;
  std::string sha1;  // hex; filled by MakeScript
};
Script MakeScript(std::string source);

// Hash slot of a key (CRC16 of the {tag} if any, mod 16384), as Redis Cluster computes it.
std::uint16_t KeySlot(std::string_view key);

class Client {
 public:
  // Connects (blocking; call at startup, not on an I/O thread). Fails with Unavailable if no
  // server answers within connect_timeout, Usage for a bad topology (e.g. sentinel without master).
  static Result<std::unique_ptr<Client>> Open(Options options);
  virtual ~Client() = default;

  // Asynchronous command routed by `route_key` (cluster slot; ignored on a single server).
  virtual void Command(std::string_view route_key, std::vector<std::string> args, Callback done) = 0;
  // EVALSHA script numkeys keys... args...; routed by keys[0] (all keys must share a slot).
  virtual void Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
                    Callback done) = 0;
  // Blocking form of Command, for start-up and tools (never on an I/O thread, and never inside a
  // callback of this client: that thread is the one that would answer it).
  // Blocking commands (WAIT, XREAD BLOCK, BLPOP) must return within command_timeout: a reply
  // later than that fails the command with Unavailable and the connection is re-opened.
  virtual Result<Reply> CommandSync(std::string_view route_key, std::vector<std::string> args) = 0;

  // Pub/sub on a dedicated connection (cluster: on one node; PUBLISH reaches every node).
  // `on_message` runs on the subscriber thread for each message on `channel`; `on_reconnect`
  // runs after the subscription was lost and re-established (messages may have been missed:
  // the caller resynchronises). Call once per channel, before or after traffic starts.
  // Returns once the SUBSCRIBE is confirmed (messages published after that are delivered), or
  // after connect_timeout + command_timeout when Redis is down: it then keeps trying in the
  // background and runs on_reconnect when the subscription is first made.
  virtual void Subscribe(std::string channel, std::function<void(std::string_view payload)> on_message,
                         std::function<void()> on_reconnect) = 0;

  // "redis://127.0.0.1:6379/0" and the like; never contains the password.
  virtual std::string Describe() const = 0;
  // True while the primary (every primary, in a cluster) is connected.
  virtual bool Healthy() const = 0;
  // Fails every queued command with Unavailable("client closed"), joins the threads. Idempotent.
  virtual void Close() = 0;
};

}  // namespace dsx::redis
