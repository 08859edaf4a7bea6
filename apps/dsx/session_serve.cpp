// dsx session serve: flags -> lib/session/server/serve.hpp. Precedence: flags > DSX_*
// environment > --config FILE > built-in defaults.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "llm/proxy/llm_proxy.hpp"
#include "redis/client.hpp"
#include "session/server/serve.hpp"
#include "session/store/file/file_store.hpp"
#include "session/store/redis/redis_store.hpp"

namespace dsx::cmd {
namespace {

// The durable stores of `dsx session serve`: the file store and the Redis store. Wired here, not
// in the server library, because they are built on that library (docs/ARCHITECTURE.md, "Module
// arrows").
Result<std::unique_ptr<session::StreamStore>> OpenFileStoreFor(const session::ServeConfig& c, const std::string& dir) {
  session::FileStoreOptions fo;
  fo.dir = dir;
  fo.fsync = c.fsync == "always"  ? session::FileStoreOptions::FsyncMode::kAlways
             : c.fsync == "batch" ? session::FileStoreOptions::FsyncMode::kBatch
                                  : session::FileStoreOptions::FsyncMode::kNever;
  fo.batch_interval_ms = static_cast<int>(c.fsync_interval_ms);
  if (c.fsync == "never") {
    log::Warn("fsync is off: acknowledged appends can be lost in a crash (--fsync never)");
  }
  return session::OpenFileStore(fo);
}

// A Redis URL checked before anything starts, so a typo is a usage error (exit 2) with
// redis::ParseUrl's reason (rediss://, a password in the URL, a sentinel URL without master...).
Status CheckRedisUrl(const std::string& url) {
  auto parsed = redis::ParseUrl(url);
  if (!parsed.ok()) return Status::Usage("invalid --store: " + parsed.status().message());
  return Status::Ok();
}

Result<std::unique_ptr<session::StreamStore>> OpenRedisStoreFor(const session::ServeConfig& c, const std::string& url,
                                                                const std::string& password) {
  session::RedisStoreOptions ro;
  ro.url = url;
  ro.password = password;
  ro.wait_replicas = static_cast<int>(c.redis_wait_replicas);
  std::vector<std::string> warnings;
  auto store = session::OpenRedisStore(ro, &warnings);
  if (!store.ok()) return store.status();
  // What the connected Redis may lose of acknowledged appends (AOF off, everysec, replicas
  // without --redis-wait-replicas: a failover may drop the appends the replica had not got).
  for (const std::string& w : warnings) log::Warn(w);
  log::Info("store: " + url +
            (c.redis_wait_replicas > 0
                 ? " (appends acknowledged after WAIT " + std::to_string(c.redis_wait_replicas) + ")"
                 : ""));
  return store;
}

Result<std::unique_ptr<session::StreamStore>> OpenStoreFor(const session::ServeConfig& c,
                                                           const std::string& redis_password) {
  auto choice = session::ChooseStore(c);
  if (!choice.ok()) return choice.status();
  if (choice->kind == session::StoreChoice::Kind::kRedis) {
    return OpenRedisStoreFor(c, choice->redis_url, redis_password);
  }
  return OpenFileStoreFor(c, choice->dir);
}

struct ServeFlags {
  session::ServeConfig flags;  // values as parsed; applied only where the flag was given
  std::string config_file;
  std::string ready_file;  // --ready-file PATH: {"listen","url","pid"} written once listening
  bool json = false;       // --json: the same object as one line on stdout once listening
};

// What a supervisor or a test reads to know the server is up and where (port 0: the chosen one).
nlohmann::json ReadyJson(const session::Listening& where) {
  return {{"listen", where.listen}, {"url", where.url}, {"pid", static_cast<long>(::getpid())}};
}

// --ready-file must be writable where it is named: checked before the store opens, so a typo is
// a usage error and not a server that runs without its ready file.
Status CheckReadyFile(const std::string& path) {
  namespace stdfs = std::filesystem;
  std::error_code ec;
  stdfs::path parent = stdfs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  if (!stdfs::is_directory(parent, ec)) {
    return Status::Usage("--ready-file '" + path + "': no directory '" + parent.string() + "'");
  }
  if (stdfs::is_directory(path, ec)) return Status::Usage("--ready-file '" + path + "' is a directory");
  return Status::Ok();
}

// Once listening: the ready file (written whole, by rename, so a reader never sees half of it),
// the --json line on stdout, and the human line on stderr (a JSON log line with --log-format json;
// none with --quiet).
session::OnListening Announcer(const ServeFlags& f) {
  return [ready_file = f.ready_file, json = f.json](const session::Listening& where) -> Status {
    if (!ready_file.empty()) {
      Status s = fs::AtomicWriteFile(ready_file, ReadyJson(where).dump() + "\n", false);
      if (!s.ok()) return s.Wrap("cannot write --ready-file '" + ready_file + "'");
    }
    if (json) cli::PrintJson(ReadyJson(where));
    session::AnnounceListening(where);
    return Status::Ok();
  };
}

// --llm-proxy values -> the proxy's options (usage errors: a bad URL, a name given twice).
Result<llm::proxy::ProxyOptions> LlmProxyOptions(const session::ServeConfig& f) {
  llm::proxy::ProxyOptions o;
  for (const std::string& v : f.llm_proxy) {
    auto spec = llm::proxy::ParseUpstreamSpec(v);
    if (!spec.ok()) return spec.status();
    for (const auto& u : o.upstreams) {
      if (u.name == spec->name) {
        return Status::Usage(spec->name.empty() ? std::string("--llm-proxy: more than one default upstream (URL "
                                                              "without NAME=)")
                                                : "--llm-proxy: upstream '" + spec->name + "' given twice");
      }
    }
    o.upstreams.push_back(std::move(spec).value());
  }
  if (f.llm_proxy_idle_timeout_ms < 100 || f.llm_proxy_idle_timeout_ms > 3600000) {
    return Status::Usage("invalid --llm-proxy-idle-timeout-ms " + std::to_string(f.llm_proxy_idle_timeout_ms) +
                         ": want 100..3600000");
  }
  if (f.llm_proxy_max_body_bytes < 1 || f.llm_proxy_max_body_bytes > (1ll << 30)) {
    return Status::Usage("invalid --llm-proxy-max-body-bytes: want 1..1073741824");
  }
  o.idle_timeout_ms = f.llm_proxy_idle_timeout_ms;
  o.max_body_bytes = static_cast<std::size_t>(f.llm_proxy_max_body_bytes);
  return o;
}

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
                    ->default_str("always")
                    ->check(CLI::IsMember({"always", "batch", "never"}));
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
      cmd->add_option("--log-format", f->flags.log_format, "log lines on stderr: text or json")
          ->default_str("text")
          ->check(CLI::IsMember({"text", "json"}));
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
  auto* store = cmd->add_option("--store", f->flags.store,
                                "where streams live: file:DIR (as --data), memory: (as --memory), "
                                "redis://HOST:PORT[/DB], redis+sentinel://HOST:PORT[,...]/MASTER[/DB] or "
                                "redis+cluster://HOST:PORT[,...]; see docs/scaling.md");
  auto* pwfile = cmd->add_option("--redis-password-file", f->flags.redis_password_file,
                                 "Redis password: this file's content (else DSX_REDIS_PASSWORD); never on the "
                                 "command line");
  auto* wait = cmd->add_option("--redis-wait-replicas", f->flags.redis_wait_replicas,
                               "acknowledge an append only after WAIT confirms N replicas have it (0..16)")
                   ->default_str("0");
  cmd->add_option("--config", f->config_file, "TOML file with the same keys (flags and DSX_* win)");
  auto* llm = cmd->add_option("--llm-proxy", f->flags.llm_proxy,
                  "durable LLM proxy: URL (default upstream, OpenAI-compatible base such as "
                  "https://api.openai.com/v1, served at /llm/v1/chat/completions) or NAME=URL (at "
                  "/llm/NAME/v1/chat/completions and, for Anthropic, /llm/NAME/v1/messages); repeatable. "
                  "Calls are stored in the session named by X-Dsx-Session; see docs/llm-proxy.md")
      ->take_all()
      ->allow_extra_args(false);
  auto* llm_idle = cmd->add_option("--llm-proxy-idle-timeout-ms", f->flags.llm_proxy_idle_timeout_ms,
                  "an upstream silent this long ends its run with error 'upstream stalled' [ms]")
      ->default_str("120000");
  auto* llm_body = cmd->add_option("--llm-proxy-max-body-bytes", f->flags.llm_proxy_max_body_bytes,
                                   "largest LLM proxy request body (413 above)")
      ->default_str("8388608");
  cmd->add_option("--ready-file", f->ready_file,
                  "once listening, write {\"listen\",\"url\",\"pid\"} as JSON to PATH (atomically; removed on a "
                  "clean exit)");
  cmd->add_flag("--json", f->json, "once listening, print {\"listen\",\"url\",\"pid\"} as one JSON line on stdout");

  cmd->callback([f, listen, data, memory, lp, fsync, interval, body, session_body, max_conns, fmt, logreq, threads, key,
                 insecure, sweep, store, pwfile, wait, llm, llm_idle, llm_body] {
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
    // --store names the store as --data and --memory do: two of them on one command line are a
    // mistake; one on the command line wins over a store named by DSX_* or the config file.
    if (store->count() + data->count() + memory->count() > 1) {
      return cli::Finish(Status::Usage("--store, --data and --memory exclude each other: give one"));
    }
    if (store->count()) {
      c.store = v.store;
      c.memory = false;
    } else if (data->count() || memory->count()) {
      c.store.clear();
    }
    if (pwfile->count()) c.redis_password_file = v.redis_password_file;
    if (wait->count()) c.redis_wait_replicas = v.redis_wait_replicas;
    if (llm->count()) c.llm_proxy = v.llm_proxy;
    if (llm_idle->count()) c.llm_proxy_idle_timeout_ms = v.llm_proxy_idle_timeout_ms;
    if (llm_body->count()) c.llm_proxy_max_body_bytes = v.llm_proxy_max_body_bytes;
    if (Status s = session::ValidateConfig(c); !s.ok()) return cli::Finish(s);
    if (!f->ready_file.empty()) {
      if (Status s = CheckReadyFile(f->ready_file); !s.ok()) return cli::Finish(s);
    }
    // The Redis URL and password are checked before anything starts: a typo or a missing
    // password file is a usage error (exit 2). The password goes straight to the opener.
    std::string password;
    auto choice = session::ChooseStore(c);
    if (choice.ok() && choice->kind == session::StoreChoice::Kind::kRedis) {
      if (Status s = CheckRedisUrl(choice->redis_url); !s.ok()) return cli::Finish(s);
      auto pw = session::ReadRedisPassword(c);
      if (!pw.ok()) return cli::Finish(pw.status());
      password = std::move(pw).value();
      if (fsync->count() || interval->count()) {
        log::Warn(
            "--fsync and --fsync-interval-ms apply to the file store; with Redis, its appendfsync decides "
            "(docs/scaling.md, Durability)");
      }
    }
    std::vector<session::ServeExtensionFactory> extensions;
    if (!c.llm_proxy.empty()) {
      auto opts = LlmProxyOptions(c);
      if (!opts.ok()) return cli::Finish(opts.status());
      extensions.push_back([o = std::move(opts).value()](session::live::SessionHub& hub,
                                                         const session::auth::TokenKey* key)
                               -> Result<session::ServeExtension> {
        auto proxy = std::make_shared<llm::proxy::Proxy>(o, hub, key);
        std::string names;
        for (const auto& u : o.upstreams) names += (names.empty() ? "" : ", ") + (u.name.empty() ? "default" : u.name);
        log::Info("llm proxy on: POST /llm/v1/chat/completions, /llm/NAME/v1/...", {{"upstreams", names}});
        session::ServeExtension e;
        e.intercept = [proxy](session::server::Request& req, session::server::RouteDone& done) {
          return proxy->Handle(req, done);
        };
        e.stop = [proxy] { proxy->Stop(); };
        e.keep = proxy;
        return e;
      });
    }
    Status served = session::Serve(
        c, [password](const session::ServeConfig& config) { return OpenStoreFor(config, password); }, extensions,
        Announcer(*f));
    if (!f->ready_file.empty()) {
      std::error_code ec;
      std::filesystem::remove(f->ready_file, ec);  // a stale file would name a port nobody listens on
    }
    cli::Finish(served);
  });
}

}  // namespace dsx::cmd
