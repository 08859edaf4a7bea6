// Live tests against a real redis-server (test suite "live"; skipped when it is not installed).
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "live_helpers.hpp"

using namespace std::chrono_literals;
using dsx::Code;
using dsx::Result;
using namespace dsx::redis;
using namespace dsx::redis::test;

namespace {
std::string Message(int i) {
  std::string m = "m";
  m += std::to_string(i);
  return m;
}
}  // namespace

TEST_CASE("Open fails fast with Unavailable when nothing listens") {
  Options o;
  o.endpoints = {{"127.0.0.1", static_cast<std::uint16_t>(FreePort())}};
  o.password = "s3cret-never-shown";
  auto c = Client::Open(o);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Code::kUnavailable);
  CHECK(c.status().message().rfind("redis unreachable: ", 0) == 0);
  CHECK(c.status().message().find("s3cret") == std::string::npos);

  Options sentinel;
  sentinel.mode = Options::Mode::kSentinel;
  sentinel.endpoints = o.endpoints;
  CHECK(Client::Open(sentinel).status().code() == Code::kUsage);  // no master name
  Options none;
  CHECK(Client::Open(none).status().code() == Code::kUsage);
}

TEST_SUITE("live") {
  TEST_CASE("10k pipelined INCRs: callbacks in submission order, on a client thread") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisServer server;
    REQUIRE_MESSAGE(server.ok(), server.log());
    auto client = OpenOrNull(server.url(), 5000ms);
    REQUIRE(client);
    CHECK(client->Healthy());

    constexpr int kCount = 10000;
    std::mutex mu;
    std::vector<long long> seen;
    std::atomic<int> inline_calls{0};
    std::atomic<int> failures{0};
    const auto caller = std::this_thread::get_id();
    for (int i = 0; i < kCount; ++i) {
      client->Command("counter", {"INCR", "counter"}, [&](Result<Reply> r) {
        if (std::this_thread::get_id() == caller) ++inline_calls;
        if (!r.ok() || r->type != Reply::Type::kInteger) {
          ++failures;
          return;
        }
        std::lock_guard<std::mutex> l(mu);
        seen.push_back(r->integer);
      });
    }
    REQUIRE(PollUntil(
        [&] {
          std::lock_guard<std::mutex> l(mu);
          return static_cast<int>(seen.size()) + failures.load() == kCount;
        },
        60s));
    CHECK(failures.load() == 0);
    CHECK(inline_calls.load() == 0);
    std::lock_guard<std::mutex> l(mu);
    bool in_order = true;
    for (int i = 0; i < kCount; ++i) in_order = in_order && seen[i] == i + 1;
    CHECK(in_order);
    client->Close();
    client->Close();  // idempotent
  }

  TEST_CASE("CommandSync, reply types and error replies") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisServer server;
    REQUIRE_MESSAGE(server.ok(), server.log());
    auto client = OpenOrNull(server.url() + "/2", 5000ms);
    REQUIRE(client);
    CHECK(client->Describe() == server.url() + "/2");

    auto set = client->CommandSync("k", {"SET", "k", std::string("a\0b", 3)});
    REQUIRE(set.ok());
    CHECK(set->type == Reply::Type::kStatus);
    CHECK(set->str == "OK");
    auto get = client->CommandSync("k", {"GET", "k"});
    REQUIRE(get.ok());
    CHECK(get->type == Reply::Type::kString);
    CHECK(get->str == std::string("a\0b", 3));  // binary-safe
    auto nil = client->CommandSync("missing", {"GET", "missing"});
    REQUIRE(nil.ok());
    CHECK(nil->type == Reply::Type::kNil);
    REQUIRE(client->CommandSync("l", {"RPUSH", "l", "x", "y"}).ok());
    auto range = client->CommandSync("l", {"LRANGE", "l", "0", "-1"});
    REQUIRE(range.ok());
    REQUIRE(range->type == Reply::Type::kArray);
    REQUIRE(range->elements.size() == 2);
    CHECK(range->elements[1].str == "y");
    auto wrong = client->CommandSync("k", {"LPUSH", "k", "x"});  // WRONGTYPE: a reply, not a failure
    REQUIRE(wrong.ok());
    CHECK(wrong->is_error());
    CHECK(wrong->str.rfind("WRONGTYPE", 0) == 0);
    // SELECT 2 took effect: database 0 does not have the key.
    auto db0 = OpenOrNull(server.url(), 5000ms);
    REQUIRE(db0);
    CHECK(db0->CommandSync("k", {"EXISTS", "k"})->integer == 0);
  }

  TEST_CASE("Eval: EVALSHA, NOSCRIPT after SCRIPT FLUSH falls back, script errors are replies") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisServer server;
    REQUIRE_MESSAGE(server.ok(), server.log());
    auto client = OpenOrNull(server.url(), 5000ms);
    REQUIRE(client);
    const Script add = MakeScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    auto r = EvalSync(*client, add, {"{s}n"}, {"5"});
    REQUIRE_MESSAGE(r.ok(), Text(r));
    CHECK(r->integer == 5);
    auto loaded = client->CommandSync("", {"SCRIPT", "EXISTS", add.sha1});
    REQUIRE(loaded.ok());
    CHECK(loaded->elements.at(0).integer == 1);

    REQUIRE(client->CommandSync("", {"SCRIPT", "FLUSH"}).ok());
    r = EvalSync(*client, add, {"{s}n"}, {"2"});
    REQUIRE_MESSAGE(r.ok(), Text(r));
    CHECK_MESSAGE(r->integer == 7, Text(r));

    // Many evals pipelined after another flush keep their order.
    REQUIRE(client->CommandSync("", {"SCRIPT", "FLUSH"}).ok());
    std::mutex mu;
    std::vector<long long> got;
    for (int i = 0; i < 100; ++i) {
      client->Eval(add, {"{s}n"}, {"1"}, [&](Result<Reply> res) {
        std::lock_guard<std::mutex> l(mu);
        got.push_back(res.ok() ? res->integer : -1);
      });
    }
    REQUIRE(PollUntil([&] { std::lock_guard<std::mutex> l(mu); return got.size() == 100; }, 30s));
    for (int i = 0; i < 100; ++i) CHECK(got[i] == 8 + i);

    const Script bad = MakeScript("return redis.call('NOSUCHCOMMAND')");
    auto e = EvalSync(*client, bad, {}, {});
    REQUIRE(e.ok());
    CHECK(e->is_error());
    const Script syntax = MakeScript("this is not lua");
    auto s = EvalSync(*client, syntax, {"k"}, {});
    REQUIRE(s.ok());
    CHECK(s->is_error());
  }

  TEST_CASE("Subscribe: messages in order, on the subscriber thread") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisServer server;
    REQUIRE_MESSAGE(server.ok(), server.log());
    auto client = OpenOrNull(server.url(), 5000ms);
    REQUIRE(client);
    std::mutex mu;
    std::vector<std::string> got;
    std::vector<std::string> other;
    client->Subscribe("changes", [&](std::string_view p) { std::lock_guard<std::mutex> l(mu); got.emplace_back(p); }, [] {});
    client->Subscribe("other", [&](std::string_view p) { std::lock_guard<std::mutex> l(mu); other.emplace_back(p); }, [] {});
    for (int i = 0; i < 50; ++i) {
      auto r = client->CommandSync("changes", {"PUBLISH", "changes", Message(i)});
      REQUIRE(r.ok());
      CHECK(r->integer == 1);
    }
    REQUIRE(client->CommandSync("other", {"PUBLISH", "other", "x"}).ok());
    REQUIRE(PollUntil([&] { std::lock_guard<std::mutex> l(mu); return got.size() == 50 && other.size() == 1; }, 20s));
    std::lock_guard<std::mutex> l(mu);
    for (int i = 0; i < 50; ++i) CHECK(got[i] == Message(i));
    CHECK(other[0] == "x");
  }

  TEST_CASE("AUTH: password and ACL user; Describe and errors never show the password") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisServer server({"--requirepass", "s3cret-pw"});
    REQUIRE_MESSAGE(server.ok(), server.log());
    auto client = OpenOrNull(server.url() + "/1", 5000ms, "s3cret-pw");
    REQUIRE(client);
    CHECK(client->CommandSync("x", {"SET", "x", "1"})->str == "OK");
    CHECK(client->Describe().find("s3cret") == std::string::npos);
    client->Subscribe("c", [](std::string_view) {}, [] {});

    auto o = ParseUrl(server.url());
    REQUIRE(o.ok());
    o->password = "wrong-s3cret";
    auto refused = Client::Open(*o);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == Code::kUnavailable);
    CHECK(refused.status().message().find("s3cret") == std::string::npos);
    o->password.clear();
    CHECK(Client::Open(*o).status().code() == Code::kUnavailable);  // NOAUTH at Open, not at the first command

    // An ACL user.
    REQUIRE(client->CommandSync("", {"ACL", "SETUSER", "app", "on", ">app-s3cret", "~*", "&*", "+@all"})->str == "OK");
    auto user = ParseUrl("redis://app@127.0.0.1:" + std::to_string(server.port()));
    REQUIRE(user.ok());
    user->password = "app-s3cret";
    auto as_user = Client::Open(*user);
    REQUIRE_MESSAGE(as_user.ok(), as_user.status().message());
    CHECK((*as_user)->CommandSync("", {"ACL", "WHOAMI"})->str == "app");
    CHECK((*as_user)->Describe() == "redis://app@127.0.0.1:" + std::to_string(server.port()) + "/0");
  }

  TEST_CASE("Close: idempotent, queued and later commands fail with 'client closed', never inline") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisServer server;
    REQUIRE_MESSAGE(server.ok(), server.log());
    auto client = OpenOrNull(server.url(), 5000ms);
    REQUIRE(client);
    client->Close();
    client->Close();
    std::atomic<bool> done{false};
    std::atomic<bool> was_inline{false};
    std::string message;
    const auto caller = std::this_thread::get_id();
    client->Command("k", {"PING"}, [&](Result<Reply> r) {
      was_inline = std::this_thread::get_id() == caller;
      message = r.ok() ? "ok" : r.status().message();
      done = true;
    });
    REQUIRE(PollUntil([&] { return done.load(); }, 10s));
    CHECK_FALSE(was_inline.load());
    CHECK(message == "client closed");
    CHECK_FALSE(client->Healthy());
  }
}
