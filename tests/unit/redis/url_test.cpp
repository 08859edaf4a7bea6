#include <doctest/doctest.h>

#include "redis/client.hpp"

using dsx::Code;
using dsx::redis::Options;
using dsx::redis::ParseUrl;

TEST_CASE("ParseUrl: redis://HOST:PORT[/DB]") {
  auto o = ParseUrl("redis://127.0.0.1:6380");
  REQUIRE(o.ok());
  CHECK(o->mode == Options::Mode::kStandalone);
  REQUIRE(o->endpoints.size() == 1);
  CHECK(o->endpoints[0].host == "127.0.0.1");
  CHECK(o->endpoints[0].port == 6380);
  CHECK(o->db == 0);
  CHECK(o->username.empty());
  CHECK(o->password.empty());

  o = ParseUrl("redis://cache.internal:6379/3");
  REQUIRE(o.ok());
  CHECK(o->endpoints[0].host == "cache.internal");
  CHECK(o->db == 3);

  o = ParseUrl("redis://localhost");  // the port defaults to 6379
  REQUIRE(o.ok());
  CHECK(o->endpoints[0].port == 6379);

  o = ParseUrl("redis://h:1/");  // an empty path is database 0
  REQUIRE(o.ok());
  CHECK(o->db == 0);

  o = ParseUrl("REDIS://h:1/0");  // the scheme is case-insensitive
  REQUIRE(o.ok());
}

TEST_CASE("ParseUrl: user names and IPv6") {
  auto o = ParseUrl("redis://dsx@127.0.0.1:6379/2");
  REQUIRE(o.ok());
  CHECK(o->username == "dsx");
  CHECK(o->password.empty());
  CHECK(o->db == 2);

  o = ParseUrl("redis://[::1]:7000");
  REQUIRE(o.ok());
  CHECK(o->endpoints[0].host == "::1");
  CHECK(o->endpoints[0].port == 7000);

  CHECK(ParseUrl("redis://@h:1").status().code() == Code::kUsage);
  CHECK(ParseUrl("redis://::1:7000").status().code() == Code::kUsage);
  CHECK(ParseUrl("redis://[::1:7000").status().code() == Code::kUsage);
}

TEST_CASE("ParseUrl: redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]") {
  auto o = ParseUrl("redis+sentinel://10.0.0.1:26379,10.0.0.2:26380,10.0.0.3/mymaster");
  REQUIRE(o.ok());
  CHECK(o->mode == Options::Mode::kSentinel);
  REQUIRE(o->endpoints.size() == 3);
  CHECK(o->endpoints[1].host == "10.0.0.2");
  CHECK(o->endpoints[1].port == 26380);
  CHECK(o->endpoints[2].port == 26379);  // Sentinel's default port
  CHECK(o->master_name == "mymaster");
  CHECK(o->db == 0);

  o = ParseUrl("redis+sentinel://s:26379/m/5");
  REQUIRE(o.ok());
  CHECK(o->master_name == "m");
  CHECK(o->db == 5);

  o = ParseUrl("redis+sentinel://s:26379/m/");
  REQUIRE(o.ok());
  CHECK(o->db == 0);

  auto missing = ParseUrl("redis+sentinel://s:26379");
  CHECK(missing.status().code() == Code::kUsage);
  CHECK(missing.status().message().find("master name") != std::string::npos);
  CHECK(ParseUrl("redis+sentinel://s:26379/").status().code() == Code::kUsage);
  CHECK(ParseUrl("redis+sentinel://s:26379/m/x").status().code() == Code::kUsage);
}

TEST_CASE("ParseUrl: redis+cluster://HOST:PORT[,HOST:PORT...]") {
  auto o = ParseUrl("redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002");
  REQUIRE(o.ok());
  CHECK(o->mode == Options::Mode::kCluster);
  REQUIRE(o->endpoints.size() == 3);
  CHECK(o->endpoints[2].port == 7002);
  CHECK(o->db == 0);

  CHECK(ParseUrl("redis+cluster://h:7000/0").ok());
  auto db = ParseUrl("redis+cluster://h:7000/1");
  CHECK(db.status().code() == Code::kUsage);
  CHECK(db.status().message().find("database 0") != std::string::npos);
}

TEST_CASE("ParseUrl: a password in the URL is refused and never echoed") {
  for (const char* url : {"redis://:s3cret@h:6379", "redis://user:s3cret@h:6379/1",
                          "redis+sentinel://user:s3cret@s:26379/m", "redis+cluster://:s3cret@h:7000"}) {
    auto o = ParseUrl(url);
    CHECK_MESSAGE(o.status().code() == Code::kUsage, url);
    CHECK(o.status().message().find("password") != std::string::npos);
    CHECK(o.status().message().find("DSX_REDIS_PASSWORD") != std::string::npos);
    CHECK(o.status().message().find("s3cret") == std::string::npos);
  }
}

TEST_CASE("ParseUrl: rediss:// is refused with the reason") {
  for (const char* url : {"rediss://h:6380", "rediss+sentinel://s:26379/m", "rediss+cluster://h:7000"}) {
    auto o = ParseUrl(url);
    CHECK(o.status().code() == Code::kUsage);
    CHECK(o.status().message().find("TLS") != std::string::npos);
    CHECK(o.status().message().find("hiredis") != std::string::npos);
  }
}

TEST_CASE("ParseUrl: bad ports, databases, host lists and schemes") {
  for (const char* url : {"redis://h:", "redis://h:0", "redis://h:65536", "redis://h:99999999", "redis://h:-1",
                          "redis://h:12ab", "redis://h: 1", "redis+cluster://a:1,b:0"}) {
    auto o = ParseUrl(url);
    CHECK_MESSAGE(o.status().code() == Code::kUsage, url);
    CHECK_MESSAGE(o.status().message().find("port") != std::string::npos, url);
  }
  CHECK(ParseUrl("redis://h:65535").ok());
  CHECK(ParseUrl("redis://h:1").ok());

  for (const char* url : {"redis://h:1/x", "redis://h:1/-1", "redis://h:1/1/2", "redis://h:1/9999999999"}) {
    auto o = ParseUrl(url);
    CHECK_MESSAGE(o.status().code() == Code::kUsage, url);
    CHECK_MESSAGE(o.status().message().find("database") != std::string::npos, url);
  }

  for (const char* url : {"redis://", "redis:///0", "redis+sentinel:///m", "redis+cluster://", "redis+cluster://a:1,",
                          "redis+cluster://a:1,,b:2", "redis+cluster://,a:1", "redis://:6379"}) {
    CHECK_MESSAGE(ParseUrl(url).status().code() == Code::kUsage, url);
  }

  auto two = ParseUrl("redis://a:1,b:2");
  CHECK(two.status().code() == Code::kUsage);
  CHECK(two.status().message().find("redis+cluster") != std::string::npos);

  CHECK(ParseUrl("http://h:1").status().code() == Code::kUsage);
  CHECK(ParseUrl("h:6379").status().code() == Code::kUsage);
  CHECK(ParseUrl("").status().code() == Code::kUsage);
  CHECK(ParseUrl("redis://h:1?db=2").status().code() == Code::kUsage);
}
