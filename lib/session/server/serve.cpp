#include "session/server/serve.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "core/log.hpp"
#include "session/model/offset.hpp"
#include "session/server/live_layer.hpp"
#include "session/server/server.hpp"
#include "session/store/memory_store.hpp"

namespace dsx::session {
namespace {

bool SplitListen(const std::string& listen, std::string* host, std::uint16_t* port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = listen.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const auto p = ParseDigits(listen.substr(colon + 1));
  if (!p || *p > 65535) return false;
  *host = h;
  *port = static_cast<std::uint16_t>(*p);
  return true;
}

std::string Canonical(std::string key) {
  for (char& c : key) {
    if (c == '_') c = '-';
  }
  return key;
}

Status ApplyKey(const std::string& key, const toml::node& v, ServeConfig* c, const std::string& path) {
  const std::string k = Canonical(key);
  auto bad = [&](const char* want) {
    return Status::Usage("invalid config '" + path + "': key '" + key + "' must be " + want);
  };
  auto str = [&](std::string* out) -> Status {
    auto s = v.value<std::string>();
    if (!s) return bad("a string");
    *out = *s;
    return Status::Ok();
  };
  auto num = [&](std::int64_t* out) -> Status {
    auto n = v.value<std::int64_t>();
    if (!n) return bad("an integer");
    *out = *n;
    return Status::Ok();
  };
  auto flag = [&](bool* out) -> Status {
    auto b = v.value<bool>();
    if (!b) return bad("true or false");
    *out = *b;
    return Status::Ok();
  };
  if (k == "listen") return str(&c->listen);
  if (k == "data") return str(&c->data);
  if (k == "memory") return flag(&c->memory);
  if (k == "long-poll-timeout-ms") return num(&c->long_poll_timeout_ms);
  if (k == "fsync") return str(&c->fsync);
  if (k == "fsync-interval-ms") return num(&c->fsync_interval_ms);
  if (k == "max-body-bytes") return num(&c->max_body_bytes);
  if (k == "max-session-body-bytes") return num(&c->max_session_body_bytes);
  if (k == "max-connections") return num(&c->max_connections);
  if (k == "log-format") return str(&c->log_format);
  if (k == "log-requests") return flag(&c->log_requests);
  if (k == "auth-key-file") return str(&c->auth_key_file);
  if (k == "insecure") return flag(&c->insecure);
  if (k == "sweep-interval-ms") return num(&c->sweep_interval_ms);
  if (k == "store") return str(&c->store);
  if (k == "redis-password-file") return str(&c->redis_password_file);
  if (k == "redis-wait-replicas") return num(&c->redis_wait_replicas);
  if (k == "llm-proxy-idle-timeout-ms") return num(&c->llm_proxy_idle_timeout_ms);
  if (k == "llm-proxy-max-body-bytes") return num(&c->llm_proxy_max_body_bytes);
  if (k == "llm-proxy") {  // one upstream as a string, several as an array of strings
    std::vector<std::string> ups;
    if (auto one = v.value<std::string>()) {
      ups.push_back(*one);
    } else if (const toml::array* arr = v.as_array()) {
      for (const toml::node& e : *arr) {
        auto s = e.value<std::string>();
        if (!s) return bad("a string or an array of strings");
        ups.push_back(*s);
      }
    } else {
      return bad("a string or an array of strings");
    }
    c->llm_proxy = std::move(ups);
    return Status::Ok();
  }
  if (k == "threads") {
    std::int64_t n = 0;
    DSX_RETURN_IF_ERROR(num(&n));
    c->threads = static_cast<int>(n);
    return Status::Ok();
  }
  return Status::Usage("invalid config '" + path + "': unknown key '" + key + "'");
}

Status EnvNum(const char* name, std::int64_t* out) {
  const char* v = std::getenv(name);
  if (!v || !*v) return Status::Ok();
  auto n = ParseDigits(v);
  if (!n) return Status::Usage(std::string("invalid ") + name + " '" + v + "': not a non-negative integer");
  *out = static_cast<std::int64_t>(*n);
  return Status::Ok();
}

Status EnvBool(const char* name, bool* out) {
  const char* v = std::getenv(name);
  if (!v || !*v) return Status::Ok();
  const std::string s = v;
  if (s == "1" || s == "true" || s == "yes") {
    *out = true;
  } else if (s == "0" || s == "false" || s == "no") {
    *out = false;
  } else {
    return Status::Usage(std::string("invalid ") + name + " '" + s + "': want true or false");
  }
  return Status::Ok();
}

void EnvStr(const char* name, std::string* out) {
  const char* v = std::getenv(name);
  if (v && *v) *out = v;
}

}  // namespace

Status ApplyConfigFile(const std::string& path, ServeConfig* config) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return Status::Usage("cannot read config '" + path + "': " + std::string(err.description()) + " (line " +
                         std::to_string(err.source().begin.line) + ")");
  }
  for (const auto& [key, node] : root) {
    const std::string k(key.str());
    if (k == "serve" && node.is_table()) continue;
    // No other command reads this file: a stray table is most likely a typo ([sevre]), and
    // ignoring it would silently drop settings.
    if (node.is_table()) return Status::Usage("invalid config '" + path + "': unknown table '[" + k + "]'");
    DSX_RETURN_IF_ERROR(ApplyKey(k, node, config, path));
  }
  if (const toml::table* serve = root["serve"].as_table()) {
    for (const auto& [key, node] : *serve) DSX_RETURN_IF_ERROR(ApplyKey(std::string(key.str()), node, config, path));
  }
  return Status::Ok();
}

Status ApplyEnvironment(ServeConfig* c) {
  EnvStr("DSX_LISTEN", &c->listen);
  EnvStr("DSX_DATA", &c->data);
  DSX_RETURN_IF_ERROR(EnvBool("DSX_MEMORY", &c->memory));
  DSX_RETURN_IF_ERROR(EnvNum("DSX_LONG_POLL_TIMEOUT_MS", &c->long_poll_timeout_ms));
  EnvStr("DSX_FSYNC", &c->fsync);
  DSX_RETURN_IF_ERROR(EnvNum("DSX_FSYNC_INTERVAL_MS", &c->fsync_interval_ms));
  DSX_RETURN_IF_ERROR(EnvNum("DSX_MAX_BODY_BYTES", &c->max_body_bytes));
  DSX_RETURN_IF_ERROR(EnvNum("DSX_MAX_SESSION_BODY_BYTES", &c->max_session_body_bytes));
  DSX_RETURN_IF_ERROR(EnvNum("DSX_MAX_CONNECTIONS", &c->max_connections));
  EnvStr("DSX_LOG_FORMAT", &c->log_format);
  DSX_RETURN_IF_ERROR(EnvBool("DSX_LOG_REQUESTS", &c->log_requests));
  std::int64_t threads = c->threads;
  DSX_RETURN_IF_ERROR(EnvNum("DSX_THREADS", &threads));
  c->threads = static_cast<int>(threads);
  EnvStr("DSX_AUTH_KEY_FILE", &c->auth_key_file);
  DSX_RETURN_IF_ERROR(EnvBool("DSX_INSECURE", &c->insecure));
  DSX_RETURN_IF_ERROR(EnvNum("DSX_SWEEP_INTERVAL_MS", &c->sweep_interval_ms));
  EnvStr("DSX_STORE", &c->store);
  EnvStr("DSX_REDIS_PASSWORD_FILE", &c->redis_password_file);
  DSX_RETURN_IF_ERROR(EnvNum("DSX_REDIS_WAIT_REPLICAS", &c->redis_wait_replicas));
  if (const char* v = std::getenv("DSX_LLM_PROXY"); v && *v) {
    std::vector<std::string> ups;
    std::string cur;
    for (const char* p = v;; ++p) {  // spaces or commas between upstreams (neither is in a base URL)
      if (*p == '\0' || *p == ' ' || *p == ',' || *p == '\t' || *p == '\n') {
        if (!cur.empty()) ups.push_back(std::move(cur));
        cur.clear();
        if (*p == '\0') break;
      } else {
        cur += *p;
      }
    }
    c->llm_proxy = std::move(ups);
  }
  DSX_RETURN_IF_ERROR(EnvNum("DSX_LLM_PROXY_IDLE_TIMEOUT_MS", &c->llm_proxy_idle_timeout_ms));
  DSX_RETURN_IF_ERROR(EnvNum("DSX_LLM_PROXY_MAX_BODY_BYTES", &c->llm_proxy_max_body_bytes));
  return Status::Ok();
}

std::string StoreChoice::Describe() const {
  switch (kind) {
    case Kind::kMemory: return "memory:";
    case Kind::kRedis: return redis_url;
    case Kind::kFile: break;
  }
  return "file:" + dir;
}

Result<StoreChoice> ChooseStore(const ServeConfig& c) {
  StoreChoice out;
  if (c.store.empty()) {
    if (c.memory) {
      out.kind = StoreChoice::Kind::kMemory;
      return out;
    }
    if (c.data.empty()) return Status::Usage("no data directory: give --data DIR, --memory or --store URL");
    out.dir = c.data;
    return out;
  }
  const std::string& s = c.store;
  auto starts = [&](std::string_view p) { return s.compare(0, p.size(), p) == 0; };
  if (c.memory && s != "memory:") {
    return Status::Usage("--store '" + s + "' and --memory exclude each other (--store memory: is --memory)");
  }
  if (starts("file:")) {
    out.dir = s.substr(5);
    if (out.dir.empty()) return Status::Usage("invalid store 'file:': want file:DIR");
    return out;
  }
  if (s == "memory:") {
    out.kind = StoreChoice::Kind::kMemory;
    return out;
  }
  if (starts("redis://") || starts("rediss://") || starts("redis+sentinel://") || starts("redis+cluster://")) {
    out.kind = StoreChoice::Kind::kRedis;
    out.redis_url = s;
    return out;
  }
  // Never echo a value that is not a store URL in full: it may be a mistyped secret.
  const std::string shown = s.size() > 40 ? s.substr(0, 40) + "..." : s;
  return Status::Usage("invalid store '" + shown +
                       "': want file:DIR, memory:, redis://HOST:PORT[/DB], "
                       "redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB] or "
                       "redis+cluster://HOST:PORT[,HOST:PORT...]");
}

Result<std::string> ReadRedisPassword(const ServeConfig& c) {
  if (c.redis_password_file.empty()) {
    const char* env = std::getenv("DSX_REDIS_PASSWORD");
    return std::string(env ? env : "");
  }
  const std::string& path = c.redis_password_file;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Usage("cannot read the Redis password file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  std::string password = text.str();
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
  if (password.empty()) return Status::Usage("the Redis password file '" + path + "' is empty");
  if (password.find('\n') != std::string::npos) {
    return Status::Usage("the Redis password file '" + path + "' has more than one line");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH)) {
    log::Warn("the Redis password file '" + path + "' is readable by every user (chmod 600 it)");
  }
  return password;
}

Status ValidateConfig(const ServeConfig& c) {
  std::string host;
  std::uint16_t port = 0;
  if (!SplitListen(c.listen, &host, &port)) {
    return Status::Usage("invalid listen address '" + c.listen + "': want HOST:PORT");
  }
  if (c.fsync != "always" && c.fsync != "batch" && c.fsync != "never") {
    return Status::Usage("invalid fsync mode '" + c.fsync + "': want always, batch or never");
  }
  if (c.log_format != "text" && c.log_format != "json") {
    return Status::Usage("invalid log format '" + c.log_format + "': want text or json");
  }
  if (c.long_poll_timeout_ms < 1 || c.long_poll_timeout_ms > 3600000) {
    return Status::Usage("invalid long-poll timeout " + std::to_string(c.long_poll_timeout_ms) +
                         " ms: want 1..3600000");
  }
  if (c.fsync_interval_ms < 1 || c.fsync_interval_ms > 60000) {
    return Status::Usage("invalid fsync interval " + std::to_string(c.fsync_interval_ms) + " ms: want 1..60000");
  }
  if (c.sweep_interval_ms < 0 || c.sweep_interval_ms > 86400000) {
    return Status::Usage("invalid sweep interval " + std::to_string(c.sweep_interval_ms) +
                         " ms: want 0 (off)..86400000");
  }
  if (c.max_body_bytes < 1) return Status::Usage("invalid max body size: want at least 1 byte");
  if (c.max_session_body_bytes < 1) return Status::Usage("invalid max session body size: want at least 1 byte");
  if (c.max_connections < 1 || c.max_connections > 10000000) {
    return Status::Usage("invalid max connections " + std::to_string(c.max_connections) + ": want 1..10000000");
  }
  if (c.threads < 0 || c.threads > 256) return Status::Usage("invalid thread count: want 0..256");
  auto store = ChooseStore(c);
  if (!store.ok()) return store.status();
  if (c.redis_wait_replicas < 0 || c.redis_wait_replicas > 16) {
    return Status::Usage("invalid --redis-wait-replicas " + std::to_string(c.redis_wait_replicas) + ": want 0..16");
  }
  if (store->kind != StoreChoice::Kind::kRedis) {
    if (c.redis_wait_replicas != 0) return Status::Usage("--redis-wait-replicas needs a Redis --store");
    if (!c.redis_password_file.empty()) return Status::Usage("--redis-password-file needs a Redis --store");
  }
  return Status::Ok();
}

void AnnounceListening(const Listening& where) {
  // Through the logger, so --log-format json gets a JSON line (a shipper parses every line) and
  // --quiet (log level warn) silences it like the other notices.
  if (log::GetFormat() == log::Format::kJson) {
    log::Info("listening on " + where.url, {{"listen", where.listen}, {"url", where.url}});
  } else {
    log::Info("listening on " + where.url);
  }
}

Status Serve(const ServeConfig& c, const DurableStoreOpener& open_durable_store,
             const std::vector<ServeExtensionFactory>& extensions, const OnListening& on_listening) {
  DSX_RETURN_IF_ERROR(ValidateConfig(c));
  log::SetFormat(c.log_format == "json" ? log::Format::kJson : log::Format::kText);
  auto choice = ChooseStore(c);
  if (!choice.ok()) return choice.status();
  std::unique_ptr<StreamStore> store;
  if (choice->kind == StoreChoice::Kind::kMemory) {
    store = MakeMemoryStore();
  } else {
    if (!open_durable_store)
      return Status::Failed("no durable store wired into serve (the memory store needs --memory)");
    auto opened = open_durable_store(c);
    // The file store's message names its directory as before ('DIR', not 'file:DIR').
    const std::string where = choice->kind == StoreChoice::Kind::kFile ? choice->dir : choice->Describe();
    if (!opened.ok()) return opened.status().Wrap("cannot open store '" + where + "'");
    store = std::move(opened).value();
  }
  StreamService service(std::move(store), ServiceOptions{});
  DSX_RETURN_IF_ERROR(service.Open());

  server::ServerOptions so;
  std::uint16_t port = 0;
  SplitListen(c.listen, &so.host, &port);
  so.port = port;
  so.threads = c.threads;
  so.long_poll_timeout_ms = c.long_poll_timeout_ms;
  so.max_body_bytes = static_cast<std::size_t>(c.max_body_bytes);
  so.max_session_body_bytes = static_cast<std::size_t>(c.max_session_body_bytes);
  so.max_connections = c.max_connections;
  so.log_requests = c.log_requests;
  so.sweep_interval_ms = c.sweep_interval_ms;
  auto live = server::LiveLayer::Open(service, c.auth_key_file, c.insecure, so.host);  // sessions + auth
  if (!live.ok()) {
    (void)service.Close();
    return live.status();
  }
  so.intercept = (*live)->intercept();
  std::vector<ServeExtension> added;
  for (const auto& make : extensions) {
    auto ext = make((*live)->hub(), (*live)->key());
    if (!ext.ok()) {
      (void)service.Close();
      return ext.status();
    }
    added.push_back(std::move(ext).value());
  }
  if (!added.empty()) {
    std::vector<server::Intercept> first;
    for (const auto& e : added) {
      if (e.intercept) first.push_back(e.intercept);
    }
    so.intercept = [first = std::move(first), base = std::move(so.intercept)](server::Request& req,
                                                                             server::RouteDone& done) {
      for (const auto& f : first) {
        if (f(req, done)) return true;
      }
      return base(req, done);
    };
  }
  auto stop_extensions = [&added] {
    for (auto& e : added) {
      if (e.stop) e.stop();
    }
  };
  so.auth_key = (*live)->key();  // the body gate checks tokens before bodies are read
  server::Server srv(so, service);
  auto bound = srv.Start();
  if (!bound.ok()) {
    stop_extensions();
    (void)service.Close();
    return bound.status();
  }
  const bool v6 = so.host.find(':') != std::string::npos;
  Listening where;
  where.listen = (v6 ? "[" + so.host + "]" : so.host) + ":" + std::to_string(*bound);
  where.url = "http://" + where.listen;
  if (on_listening) {
    if (Status s = on_listening(where); !s.ok()) {
      srv.Stop();
      stop_extensions();
      (void)service.Close();
      return s;
    }
  } else {
    AnnounceListening(where);
  }
  srv.Run();
  log::Info("shutting down: finishing in-flight appends");
  stop_extensions();  // e.g. the LLM proxy's runs in flight end before the hub and the store
  (*live)->hub().StopReaper();  // no lease expiry (an append) or run recovery after the store closes
  DSX_RETURN_IF_ERROR(service.Close().Wrap("cannot close store"));
  return Status::Ok();
}

}  // namespace dsx::session
