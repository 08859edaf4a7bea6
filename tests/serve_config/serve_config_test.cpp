// `dsx session serve --config FILE`: every long option is a key (dashes or underscores, top
// level or [serve]); unknown keys and tables, and wrong types, are errors naming key and file;
// DSX_* environment wins over the file.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "session/server/serve.hpp"

using namespace dsx;
using namespace dsx::session;

namespace {

// A TOML file in the temp dir, removed at scope end.
struct TempConfig {
  std::string path;
  explicit TempConfig(const std::string& text) {
    static int n = 0;
    path = (std::filesystem::temp_directory_path() /
            ("dsx-serve-config-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".toml"))
               .string();
    std::ofstream(path) << text;
  }
  ~TempConfig() { std::filesystem::remove(path); }
};

// Sets an environment variable for the scope of a test.
struct ScopedEnv {
  std::string name;
  ScopedEnv(const char* n, const char* v) : name(n) { ::setenv(n, v, 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("every serve option is a config key") {
  TempConfig f(R"(
listen = "0.0.0.0:0"
data = "/tmp/dsx-data"
memory = true
long-poll-timeout-ms = 500
fsync = "batch"
fsync-interval-ms = 20
max-body-bytes = 1024
max-session-body-bytes = 2048
max-connections = 77
log-format = "json"
log-requests = true
threads = 3
auth-key-file = "/etc/dsx/key"
insecure = true
sweep-interval-ms = 250
)");
  ServeConfig c;
  REQUIRE(ApplyConfigFile(f.path, &c).ok());
  CHECK(c.listen == "0.0.0.0:0");
  CHECK(c.data == "/tmp/dsx-data");
  CHECK(c.memory);
  CHECK(c.long_poll_timeout_ms == 500);
  CHECK(c.fsync == "batch");
  CHECK(c.fsync_interval_ms == 20);
  CHECK(c.max_body_bytes == 1024);
  CHECK(c.max_session_body_bytes == 2048);
  CHECK(c.max_connections == 77);
  CHECK(c.log_format == "json");
  CHECK(c.log_requests);
  CHECK(c.threads == 3);
  CHECK(c.auth_key_file == "/etc/dsx/key");
  CHECK(c.insecure);
  CHECK(c.sweep_interval_ms == 250);
  CHECK(ValidateConfig(c).ok());
}

TEST_CASE("keys work with underscores and in a [serve] table") {
  TempConfig f("[serve]\nauth_key_file = \"k.pem\"\nlong_poll_timeout_ms = 700\nsweep_interval_ms = 0\n");
  ServeConfig c;
  REQUIRE(ApplyConfigFile(f.path, &c).ok());
  CHECK(c.auth_key_file == "k.pem");
  CHECK(c.long_poll_timeout_ms == 700);
  CHECK(c.sweep_interval_ms == 0);
  CHECK(ValidateConfig(c).ok());  // 0: sweep off
}

TEST_CASE("unknown keys and tables are errors naming the key and the file") {
  TempConfig f("listen = \"127.0.0.1:0\"\nlisten-port = 80\n");
  ServeConfig c;
  Status s = ApplyConfigFile(f.path, &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("'listen-port'") != std::string::npos);
  CHECK(s.message().find(f.path) != std::string::npos);

  TempConfig g("[srve]\nlisten = \"127.0.0.1:0\"\n");
  s = ApplyConfigFile(g.path, &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("srve") != std::string::npos);
  CHECK(s.message().find(g.path) != std::string::npos);

  TempConfig h("[serve]\nconfig = \"other.toml\"\n");  // --config is not a key of the file itself
  s = ApplyConfigFile(h.path, &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("'config'") != std::string::npos);
}

TEST_CASE("wrong value types are errors naming the key") {
  TempConfig f("insecure = \"yes\"\n");
  ServeConfig c;
  Status s = ApplyConfigFile(f.path, &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("'insecure'") != std::string::npos);
  CHECK(s.message().find("true or false") != std::string::npos);
  TempConfig g("auth-key-file = 7\n");
  s = ApplyConfigFile(g.path, &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("'auth-key-file'") != std::string::npos);
}

TEST_CASE("a missing or malformed file is an error naming it") {
  ServeConfig c;
  Status s = ApplyConfigFile("/nonexistent/dsx.toml", &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("/nonexistent/dsx.toml") != std::string::npos);
  TempConfig f("listen = \n");
  s = ApplyConfigFile(f.path, &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find(f.path) != std::string::npos);
}

TEST_CASE("the environment wins over the file") {
  TempConfig f("auth-key-file = \"from-file\"\ninsecure = false\nsweep-interval-ms = 100\nthreads = 2\n");
  ScopedEnv key("DSX_AUTH_KEY_FILE", "from-env");
  ScopedEnv insecure("DSX_INSECURE", "true");
  ScopedEnv sweep("DSX_SWEEP_INTERVAL_MS", "5000");
  ServeConfig c;
  REQUIRE(ApplyConfigFile(f.path, &c).ok());
  REQUIRE(ApplyEnvironment(&c).ok());
  CHECK(c.auth_key_file == "from-env");
  CHECK(c.insecure);
  CHECK(c.sweep_interval_ms == 5000);
  CHECK(c.threads == 2);  // not in the environment: the file's value stays
}

TEST_CASE("bad environment values and out-of-range intervals are refused") {
  {
    ScopedEnv insecure("DSX_INSECURE", "maybe");
    ServeConfig c;
    Status s = ApplyEnvironment(&c);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("DSX_INSECURE") != std::string::npos);
  }
  ServeConfig c;
  c.sweep_interval_ms = -1;
  CHECK_FALSE(ValidateConfig(c).ok());
  c.sweep_interval_ms = 86400001;
  CHECK_FALSE(ValidateConfig(c).ok());
}

TEST_CASE("connection and session body limits: environment and ranges") {
  {
    ScopedEnv conns("DSX_MAX_CONNECTIONS", "12");
    ScopedEnv body("DSX_MAX_SESSION_BODY_BYTES", "4096");
    ServeConfig c;
    REQUIRE(ApplyEnvironment(&c).ok());
    CHECK(c.max_connections == 12);
    CHECK(c.max_session_body_bytes == 4096);
  }
  ServeConfig c;
  CHECK(c.max_connections == 10000);
  CHECK(c.max_session_body_bytes == 1 << 20);
  c.max_connections = 0;
  CHECK_FALSE(ValidateConfig(c).ok());
  c.max_connections = 1;
  c.max_session_body_bytes = 0;
  CHECK_FALSE(ValidateConfig(c).ok());
}

TEST_CASE("--store: file:DIR, memory: and Redis URLs; everything else is a usage error") {
  ServeConfig c;
  auto file = ChooseStore(c);  // no --store: the file store in --data
  REQUIRE(file.ok());
  CHECK(file->kind == StoreChoice::Kind::kFile);
  CHECK(file->dir == "./var/dsx");

  c.store = "file:/srv/dsx";
  auto dir = ChooseStore(c);
  REQUIRE(dir.ok());
  CHECK(dir->kind == StoreChoice::Kind::kFile);
  CHECK(dir->dir == "/srv/dsx");
  CHECK(dir->Describe() == "file:/srv/dsx");

  c.store = "memory:";
  CHECK(ChooseStore(c)->kind == StoreChoice::Kind::kMemory);

  for (const char* url :
       {"redis://127.0.0.1:6390", "redis://127.0.0.1:6390/2", "rediss://h:1",
        "redis+sentinel://127.0.0.1:26390/mymaster", "redis+cluster://127.0.0.1:7000,127.0.0.1:7001"}) {
    c.store = url;
    auto r = ChooseStore(c);
    REQUIRE(r.ok());
    CHECK(r->kind == StoreChoice::Kind::kRedis);
    CHECK(r->redis_url == url);  // the app checks it with redis::ParseUrl (rediss:// refused there)
    CHECK(ValidateConfig(c).ok());
  }

  for (const char* bad : {"file:", "postgres://x", "memory", "/var/dsx"}) {
    c.store = bad;
    Status s = ChooseStore(c).status();
    CHECK(s.code() == Code::kUsage);
    CHECK(ValidateConfig(c).code() == Code::kUsage);
  }
  c.store = "redis://127.0.0.1:6390";
  c.memory = true;
  CHECK(ValidateConfig(c).code() == Code::kUsage);  // two stores named
}

TEST_CASE("--store, --redis-password-file and --redis-wait-replicas from the file and the environment") {
  TempConfig f(
      "store = \"redis://127.0.0.1:6390\"\nredis-password-file = \"/etc/dsx/redis.pw\"\nredis_wait_replicas = 1\n");
  ServeConfig c;
  REQUIRE(ApplyConfigFile(f.path, &c).ok());
  CHECK(c.store == "redis://127.0.0.1:6390");
  CHECK(c.redis_password_file == "/etc/dsx/redis.pw");
  CHECK(c.redis_wait_replicas == 1);
  {
    ScopedEnv store("DSX_STORE", "redis+cluster://127.0.0.1:7000");
    ScopedEnv wait("DSX_REDIS_WAIT_REPLICAS", "2");
    REQUIRE(ApplyEnvironment(&c).ok());
    CHECK(c.store == "redis+cluster://127.0.0.1:7000");
    CHECK(c.redis_wait_replicas == 2);
  }
  c.redis_password_file.clear();
  CHECK(ValidateConfig(c).ok());
  c.redis_wait_replicas = 17;
  CHECK(ValidateConfig(c).code() == Code::kUsage);
  c.redis_wait_replicas = 16;
  CHECK(ValidateConfig(c).ok());

  // The Redis options need a Redis store.
  ServeConfig m;
  m.memory = true;
  m.redis_wait_replicas = 1;
  CHECK(ValidateConfig(m).code() == Code::kUsage);
  m.redis_wait_replicas = 0;
  m.redis_password_file = "/etc/dsx/redis.pw";
  CHECK(ValidateConfig(m).code() == Code::kUsage);
}

TEST_CASE("the Redis password: from the file (newline stripped), else DSX_REDIS_PASSWORD; never in messages") {
  ServeConfig c;
  c.store = "redis://127.0.0.1:6390";
  {
    ScopedEnv pw("DSX_REDIS_PASSWORD", "from-env");
    auto r = ReadRedisPassword(c);
    REQUIRE(r.ok());
    CHECK(*r == "from-env");

    TempConfig file("hunter2-secret\r\n");  // the file wins over the environment
    c.redis_password_file = file.path;
    auto f = ReadRedisPassword(c);
    REQUIRE(f.ok());
    CHECK(*f == "hunter2-secret");
  }
  c.redis_password_file.clear();
  CHECK(ReadRedisPassword(c).value() == "");  // neither: no AUTH

  c.redis_password_file = "/nonexistent/redis.pw";
  Status missing = ReadRedisPassword(c).status();
  CHECK(missing.code() == Code::kUsage);
  CHECK(missing.message().find("/nonexistent/redis.pw") != std::string::npos);

  TempConfig empty("\n");
  c.redis_password_file = empty.path;
  CHECK(ReadRedisPassword(c).status().code() == Code::kUsage);

  TempConfig two("line-one-secret\nline-two\n");
  c.redis_password_file = two.path;
  Status s = ReadRedisPassword(c).status();
  CHECK(s.code() == Code::kUsage);
  CHECK(s.message().find("line-one-secret") == std::string::npos);
}

TEST_CASE("the LLM proxy from the file (a string or an array) and the environment") {
  ServeConfig c;
  TempConfig one("llm-proxy = \"http://127.0.0.1:8000/v1\"\nllm_proxy_idle_timeout_ms = 5000\n");
  REQUIRE(ApplyConfigFile(one.path, &c).ok());
  CHECK(c.llm_proxy == std::vector<std::string>{"http://127.0.0.1:8000/v1"});
  CHECK(c.llm_proxy_idle_timeout_ms == 5000);

  TempConfig many("[serve]\nllm-proxy = [\"https://api.openai.com/v1\", \"claude=https://api.anthropic.com\"]\n"
                  "llm-proxy-max-body-bytes = 1024\n");
  REQUIRE(ApplyConfigFile(many.path, &c).ok());
  CHECK(c.llm_proxy == std::vector<std::string>{"https://api.openai.com/v1", "claude=https://api.anthropic.com"});
  CHECK(c.llm_proxy_max_body_bytes == 1024);

  for (const char* bad : {"llm-proxy = 7\n", "llm-proxy = [\"http://a/v1\", 3]\n"}) {
    TempConfig f(bad);
    Status s = ApplyConfigFile(f.path, &c);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("'llm-proxy'") != std::string::npos);
    CHECK(s.message().find("a string or an array of strings") != std::string::npos);
  }
  TempConfig table("llm-proxy = { url = \"x\" }\n");  // a table: refused as a stray table
  CHECK(ApplyConfigFile(table.path, &c).message().find("[llm-proxy]") != std::string::npos);

  ScopedEnv ups("DSX_LLM_PROXY", " http://127.0.0.1:9/v1, local=http://127.0.0.1:8/v1  ");
  ScopedEnv idle("DSX_LLM_PROXY_IDLE_TIMEOUT_MS", "700");
  REQUIRE(ApplyEnvironment(&c).ok());
  CHECK(c.llm_proxy == std::vector<std::string>{"http://127.0.0.1:9/v1", "local=http://127.0.0.1:8/v1"});
  CHECK(c.llm_proxy_idle_timeout_ms == 700);
  ScopedEnv body("DSX_LLM_PROXY_MAX_BODY_BYTES", "lots");
  Status s = ApplyEnvironment(&c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("DSX_LLM_PROXY_MAX_BODY_BYTES") != std::string::npos);
}
