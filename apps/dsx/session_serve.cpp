// dsx session serve: flags -> lib/session/server/serve.hpp. Precedence: flags > DSX_*
// environment > --config FILE > built-in defaults.
#include <memory>

#include "cli.hpp"
#include "commands.hpp"
#include "core/log.hpp"
#include "session/server/serve.hpp"
#include "session/store/file/file_store.hpp"

namespace dsx::cmd {
namespace {

// The durable store of `dsx session serve`: the file store. Wired here, not in the server library,
// because the file store is built on that library (docs/ARCHITECTURE.md, "Module arrows").
Result<std::unique_ptr<session::StreamStore>> OpenFileStoreFor(const session::ServeConfig& c) {
  session::FileStoreOptions fo;
  fo.dir = c.data;
  fo.fsync = c.fsync == "always"  ? session::FileStoreOptions::FsyncMode::kAlways
             : c.fsync == "batch" ? session::FileStoreOptions::FsyncMode::kBatch
                                  : session::FileStoreOptions::FsyncMode::kNever;
  fo.batch_interval_ms = static_cast<int>(c.fsync_interval_ms);
  if (c.fsync == "never") {
    log::Warn("fsync is off: acknowledged appends can be lost in a crash (--fsync never)");
  }
  return session::OpenFileStore(fo);
}

struct ServeFlags {
  session::ServeConfig flags;  // values as parsed; applied only where the flag was given
  std::string config_file;
};

}  // namespace

void register_session_serve(CLI::App& session) {
  auto f = std::make_shared<ServeFlags>();
  auto* cmd = session.add_subcommand("serve", "serve durable streams over HTTP (Durable Streams protocol)");
  cmd->footer("Streams live at /v1/stream/<name>. See man dsx-session and docs/protocol/streams.md.");
  auto* listen = cmd->add_option("--listen", f->flags.listen, "HOST:PORT to listen on (port 0: a free port)")
                     ->default_str("127.0.0.1:4437");
  auto* data = cmd->add_option("--data", f->flags.data, "file store directory")->default_str("./var/dsx");
  auto* memory = cmd->add_flag("--memory", f->flags.memory, "keep streams in memory only (nothing on disk)");
  auto* lp = cmd->add_option("--long-poll-timeout-ms", f->flags.long_poll_timeout_ms,
                             "how long a long-poll read waits for data [ms]")
                 ->default_str("30000");
  auto* fsync = cmd->add_option("--fsync", f->flags.fsync, "when appends are synced: always, batch or never")
                    ->default_str("always");
  auto* interval = cmd->add_option("--fsync-interval-ms", f->flags.fsync_interval_ms,
                                   "batch mode: longest time an acknowledged append stays unsynced [ms]")
                       ->default_str("100");
  auto* body = cmd->add_option("--max-body-bytes", f->flags.max_body_bytes, "largest request body (413 above)")
                   ->default_str("67108864");
  auto* session_body = cmd->add_option("--max-session-body-bytes", f->flags.max_session_body_bytes,
                                       "largest /v1/session/ request body: events, heartbeat, presence (413 above)")
                           ->default_str("1048576");
  auto* max_conns = cmd->add_option("--max-connections", f->flags.max_connections,
                                    "most open connections of every kind, capped by ulimit -n (503 above)")
                        ->default_str("10000");
  auto* fmt =
      cmd->add_option("--log-format", f->flags.log_format, "log lines on stderr: text or json")->default_str("text");
  auto* logreq = cmd->add_flag("--log-requests", f->flags.log_requests, "log one line per request");
  auto* threads = cmd->add_option("--threads", f->flags.threads, "I/O threads (0: one per core)")->default_str("0");
  auto* key = cmd->add_option("--auth-key-file", f->flags.auth_key_file,
                              "require bearer tokens signed with this key (HS256 secret or Ed25519 PEM); see dsx "
                              "session token");
  auto* insecure = cmd->add_flag("--insecure", f->flags.insecure,
                                 "allow a non-loopback --listen without --auth-key-file (open server)");
  auto* sweep =
      cmd->add_option("--sweep-interval-ms", f->flags.sweep_interval_ms,
                      "how often expired streams are removed and their disk freed (0: only when touched) [ms]")
          ->default_str("10000");
  cmd->add_option("--config", f->config_file, "TOML file with the same keys (flags and DSX_* win)");

  cmd->callback([f, listen, data, memory, lp, fsync, interval, body, session_body, max_conns, fmt, logreq, threads, key,
                 insecure, sweep] {
    session::ServeConfig c;
    if (!f->config_file.empty()) {
      if (Status s = session::ApplyConfigFile(f->config_file, &c); !s.ok()) return cli::Finish(s);
    }
    if (Status s = session::ApplyEnvironment(&c); !s.ok()) return cli::Finish(s);
    const session::ServeConfig& v = f->flags;
    if (listen->count()) c.listen = v.listen;
    if (data->count()) c.data = v.data;
    if (memory->count()) c.memory = v.memory;
    if (lp->count()) c.long_poll_timeout_ms = v.long_poll_timeout_ms;
    if (fsync->count()) c.fsync = v.fsync;
    if (interval->count()) c.fsync_interval_ms = v.fsync_interval_ms;
    if (body->count()) c.max_body_bytes = v.max_body_bytes;
    if (session_body->count()) c.max_session_body_bytes = v.max_session_body_bytes;
    if (max_conns->count()) c.max_connections = v.max_connections;
    if (fmt->count()) c.log_format = v.log_format;
    if (logreq->count()) c.log_requests = v.log_requests;
    if (threads->count()) c.threads = v.threads;
    if (key->count()) c.auth_key_file = v.auth_key_file;
    if (insecure->count()) c.insecure = v.insecure;
    if (sweep->count()) c.sweep_interval_ms = v.sweep_interval_ms;
    cli::Finish(session::Serve(c, OpenFileStoreFor));
  });
}

}  // namespace dsx::cmd
