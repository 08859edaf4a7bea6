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
