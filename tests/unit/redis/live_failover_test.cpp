// Live: Redis killed and restarted; Sentinel failover. Conditions are polled with deadlines.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "live_helpers.hpp"

using namespace std::chrono_literals;
using dsx::Code;
using dsx::Result;
using namespace dsx::redis;
using namespace dsx::redis::test;

namespace {

// Runs a command and waits for its callback; the time it took and its result.
struct Timed {
  Result<Reply> result = dsx::Status::Failed("no callback");
  std::chrono::milliseconds took{0};
};
Timed TimedCommand(Client& client, std::vector<std::string> args) {
  const auto start = std::chrono::steady_clock::now();
  Timed t;
  t.result = client.CommandSync(args.size() > 1 ? args[1] : "", std::move(args));
  t.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return t;
}

}  // namespace

TEST_SUITE("live") {
  TEST_CASE("Redis killed: commands fail with Unavailable within the command timeout; restarted: the client recovers") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisServer server;
    REQUIRE_MESSAGE(server.ok(), server.log());
    constexpr auto kTimeout = 1000ms;
    auto client = OpenOrNull(server.url(), kTimeout);
    REQUIRE(client);
    std::atomic<int> messages{0};
    std::atomic<int> reconnects{0};
    client->Subscribe("ch", [&](std::string_view) { ++messages; }, [&] { ++reconnects; });
    REQUIRE(client->CommandSync("k", {"SET", "k", "1"}).ok());
    REQUIRE(client->CommandSync("ch", {"PUBLISH", "ch", "a"}).ok());
    REQUIRE(PollUntil([&] { return messages.load() == 1; }, 10s));

    server.Kill();
    // Every command fails, and fast: within the command timeout (plus scheduling slack on a busy machine).
    for (int i = 0; i < 5; ++i) {
      Timed t = TimedCommand(*client, {"GET", "k"});
      REQUIRE_FALSE(t.result.ok());
      CHECK(t.result.status().code() == Code::kUnavailable);
      CHECK_MESSAGE(t.result.status().message().rfind("redis unreachable: ", 0) == 0, t.result.status().message());
      CHECK_MESSAGE(t.took <= kTimeout + 2000ms, t.took.count());
    }
    CHECK(PollUntil([&] { return !client->Healthy(); }, 10s));

    // Many queued at once while down: all fail, none hangs.
    std::atomic<int> failed{0};
    for (int i = 0; i < 200; ++i) {
      client->Command("k", {"GET", "k"}, [&](Result<Reply> r) {
        if (!r.ok() && r.status().code() == Code::kUnavailable) ++failed;
      });
    }
    CHECK(PollUntil([&] { return failed.load() == 200; }, 20s));

    REQUIRE(server.Restart());
    // The same client works again by itself.
    REQUIRE(PollUntil([&] { return client->CommandSync("k", {"SET", "k", "2"}).ok(); }, 30s));
    CHECK(PollUntil([&] { return client->Healthy(); }, 10s));
    CHECK(client->CommandSync("k", {"GET", "k"})->str == "2");
    // The subscription came back: on_reconnect ran, and messages flow again.
    REQUIRE(PollUntil([&] { return reconnects.load() >= 1; }, 30s));
    REQUIRE(PollUntil(
        [&] {
          (void)client->CommandSync("ch", {"PUBLISH", "ch", "b"});
          return messages.load() >= 2;
        },
        30s));
  }

  TEST_CASE("A command whose reply never came fails with Unavailable and is not sent again") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisServer server;
    REQUIRE_MESSAGE(server.ok(), server.log());
    auto client = OpenOrNull(server.url(), 500ms);
    REQUIRE(client);
    // The script increments, then keeps the server busy past the command timeout.
    const Script slow = MakeScript(
        "redis.call('INCR', KEYS[1]) "
        "local t0 = redis.call('TIME') "
        "while true do local t = redis.call('TIME') "
        "if (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 1500000 then break end end "
        "return 1");
    auto r = EvalSync(*client, slow, {"ran"}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUnavailable);
    CHECK_MESSAGE(r.status().message().find("may have run") != std::string::npos, r.status().message());
    // The client reconnects by itself; the script ran exactly once.
    REQUIRE(PollUntil(
        [&] {
          auto g = client->CommandSync("ran", {"GET", "ran"});
          return g.ok() && g->type == Reply::Type::kString;
        },
        30s));
    CHECK(client->CommandSync("ran", {"GET", "ran"})->str == "1");
  }

  TEST_CASE("Sentinel: the client follows the promoted replica after the primary is killed") {
    if (!HaveSentinel()) {
      MESSAGE("skipped: redis-server/redis-sentinel are not installed (scripts/deps/scale.apt)");
      return;
    }
    auto primary = std::make_unique<RedisServer>();
    REQUIRE_MESSAGE(primary->ok(), primary->log());
    RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(primary->port())});
    REQUIRE_MESSAGE(replica.ok(), replica.log());
    REQUIRE(PollUntil([&] { return RawCommand(replica.port(), "INFO replication").find("master_link_status:up") != std::string::npos; }, 30s));

    std::vector<std::unique_ptr<SentinelServer>> sentinels;
    std::string url = "redis+sentinel://";
    for (int i = 0; i < 3; ++i) {
      sentinels.push_back(std::make_unique<SentinelServer>("m", primary->port()));
      REQUIRE_MESSAGE(sentinels.back()->ok(), sentinels.back()->log());
      url += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(sentinels.back()->port());
    }
    url += "/m";
    // The sentinels know each other and the replica before the failover can be agreed on.
    REQUIRE(PollUntil(
        [&] {
          for (auto& s : sentinels) {
            const std::string info = RawCommand(s->port(), "INFO sentinel", 1000ms);
            if (info.find("slaves=1,sentinels=3") == std::string::npos) return false;
          }
          return true;
        },
        60s));

    auto client = OpenOrNull(url, 1000ms);
    REQUIRE(client);
    CHECK(client->Describe() == url + "/0");
    REQUIRE(client->CommandSync("k", {"SET", "k", "before"}).ok());
    REQUIRE(client->CommandSync("k", {"WAIT", "1", "2000"})->integer == 1);
    std::atomic<int> reconnects{0};
    std::atomic<int> messages{0};
    client->Subscribe("ch", [&](std::string_view) { ++messages; }, [&] { ++reconnects; });

    primary->Kill();
    // Commands fail (Unavailable) or succeed; never hang. After the failover they succeed on the old replica.
    REQUIRE(PollUntil(
        [&] {
          auto r = client->CommandSync("k", {"SET", "k", "after"});
          if (!r.ok()) CHECK(r.status().code() == Code::kUnavailable);
          return r.ok() && !r->is_error();
        },
        60s));
    CHECK(RawCommand(replica.port(), "ROLE").find("master") != std::string::npos);
    CHECK(RawCommand(replica.port(), "GET k").find("after") != std::string::npos);
    CHECK(PollUntil([&] { return client->Healthy(); }, 10s));
    REQUIRE(PollUntil([&] { return reconnects.load() >= 1; }, 30s));
    REQUIRE(PollUntil(
        [&] {
          (void)client->CommandSync("ch", {"PUBLISH", "ch", "x"});
          return messages.load() >= 1;
        },
        30s));
  }

  TEST_CASE("Sentinel: a manual failover (SENTINEL FAILOVER) is followed without losing the connection for good") {
    if (!HaveSentinel()) {
      MESSAGE("skipped: redis-server/redis-sentinel are not installed (scripts/deps/scale.apt)");
      return;
    }
    // One sentinel (quorum 1) so SENTINEL FAILOVER can be asked for directly. The old primary is
    // demoted while alive: the client must stop writing there (READONLY or a closed connection)
    // and find the new one.
    RedisServer a;
    REQUIRE_MESSAGE(a.ok(), a.log());
    RedisServer b({"--replicaof", "127.0.0.1", std::to_string(a.port())});
    REQUIRE_MESSAGE(b.ok(), b.log());
    REQUIRE(PollUntil([&] { return RawCommand(b.port(), "INFO replication").find("master_link_status:up") != std::string::npos; }, 30s));
    SentinelServer s("m", a.port(), 1);
    REQUIRE_MESSAGE(s.ok(), s.log());
    REQUIRE(PollUntil([&] { return RawCommand(s.port(), "INFO sentinel", 1000ms).find("slaves=1") != std::string::npos; }, 60s));

    auto client = OpenOrNull("redis+sentinel://127.0.0.1:" + std::to_string(s.port()) + "/m", 3000ms);
    REQUIRE(client);
    REQUIRE(client->CommandSync("n", {"SET", "n", "1"})->str == "OK");
    REQUIRE(client->CommandSync("n", {"WAIT", "1", "2000"})->integer == 1);
    REQUIRE(PollUntil([&] { return RawCommand(s.port(), "SENTINEL FAILOVER m").rfind("+OK", 0) == 0; }, 30s));
    REQUIRE(PollUntil([&] { return RawCommand(b.port(), "ROLE").find("master") != std::string::npos; }, 60s));
    REQUIRE(PollUntil([&] { return RawCommand(a.port(), "ROLE").find("slave") != std::string::npos; }, 60s));
    // Writes land on the new primary (b), never as an error reply from the demoted one.
    REQUIRE(PollUntil(
        [&] {
          auto r = client->CommandSync("n", {"SET", "n", "2"});
          if (r.ok() && r->is_error()) FAIL_CHECK("error reply: " << r->str);
          return r.ok() && !r->is_error() && RawCommand(b.port(), "GET n").find("\r\n2\r\n") != std::string::npos;
        },
        60s));
    CHECK(PollUntil([&] { return client->Healthy(); }, 10s));
  }
}
