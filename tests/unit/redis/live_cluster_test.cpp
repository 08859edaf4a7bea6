// Live: a 3-master Redis Cluster (redis-cli --cluster create, no replicas).
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "live_helpers.hpp"

using namespace std::chrono_literals;
using dsx::Result;
using namespace dsx::redis;
using namespace dsx::redis::test;

TEST_SUITE("live") {
  TEST_CASE("Cluster: keys across slots routed to their owners, MOVED followed, Eval and pub/sub") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisCluster cluster;
    REQUIRE_MESSAGE(cluster.ok(), cluster.create_output());

    // Seeded with one node only: the rest comes from CLUSTER SLOTS.
    auto client = OpenOrNull("redis+cluster://127.0.0.1:" + std::to_string(cluster.node(1).port()), 5000ms);
    REQUIRE(client);
    CHECK(PollUntil([&] { return client->Healthy(); }, 20s));

    // 300 keys over every master, pipelined; each is where its slot's owner says.
    constexpr int kKeys = 300;
    std::atomic<int> ok{0};
    std::atomic<int> bad{0};
    for (int i = 0; i < kKeys; ++i) {
      const std::string key = "key:" + std::to_string(i);
      client->Command(key, {"SET", key, std::to_string(i)}, [&](Result<Reply> r) {
        (r.ok() && !r->is_error() ? ok : bad)++;
      });
    }
    REQUIRE(PollUntil([&] { return ok.load() + bad.load() == kKeys; }, 60s));
    CHECK(bad.load() == 0);
    std::set<int> ports_used;
    for (int i = 0; i < kKeys; ++i) {
      const std::string key = "key:" + std::to_string(i);
      auto r = client->CommandSync(key, {"GET", key});
      REQUIRE(r.ok());
      CHECK(r->str == std::to_string(i));
      // Exactly one node has it, and it owns the key's slot.
      int holders = 0;
      for (size_t n = 0; n < cluster.size(); ++n) {
        const std::string reply = RawCommand(cluster.node(n).port(), "GET " + key);
        if (reply.rfind("$", 0) == 0 && reply.rfind("$-1", 0) != 0) {
          ++holders;
          ports_used.insert(cluster.node(n).port());
        }
      }
      CHECK(holders == 1);
    }
    CHECK(ports_used.size() == cluster.size());

    // MOVED: a client whose map is wrong. Route every key through a fresh client seeded with
    // one node only and ask the owner-less keys by a route key of another slot: the server
    // answers MOVED for the real key and the client follows it.
    for (int i = 0; i < 20; ++i) {
      const std::string key = "moved:" + std::to_string(i);
      auto r = client->CommandSync("another-route-key-" + std::to_string(i * 7), {"SET", key, "v"});
      REQUIRE(r.ok());
      CHECK_MESSAGE(!r->is_error(), r->str);
      CHECK(client->CommandSync(key, {"GET", key})->str == "v");
    }

    // Multi-key script in one slot ({tag}).
    const Script both = MakeScript("redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return redis.call('GET', KEYS[2])");
    auto e = EvalSync(*client, both, {"{stream/a}:meta", "{stream/a}:data"}, {"x"});
    REQUIRE(e.ok());
    CHECK_MESSAGE(e->str == "x", e->str);
    auto cross = EvalSync(*client, both, {"{a}1", "{b}2"}, {"x"});  // two slots: Redis refuses
    REQUIRE(cross.ok());
    CHECK(cross->is_error());

    // ASK: the key's slot is migrating from its owner to another node; a key the owner does not
    // have is answered with ASK, and the client retries once on the target behind ASKING.
    const std::string key = "ask:key";
    size_t owner = cluster.size();
    for (size_t n = 0; n < cluster.size(); ++n) {
      if (RawCommand(cluster.node(n).port(), "GET " + key).rfind("-MOVED", 0) != 0) owner = n;
    }
    REQUIRE(owner < cluster.size());
    const size_t target = (owner + 1) % cluster.size();
    auto id_of = [&](size_t n) {
      std::string id = Cli("-p " + std::to_string(cluster.node(n).port()) + " cluster myid");
      while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
      return id;
    };
    const std::string slot = std::to_string(KeySlot(key));
    const std::string owner_port = std::to_string(cluster.node(owner).port());
    const std::string target_port = std::to_string(cluster.node(target).port());
    REQUIRE(Cli("-p " + target_port + " cluster setslot " + slot + " importing " + id_of(owner)).find("OK") != std::string::npos);
    REQUIRE(Cli("-p " + owner_port + " cluster setslot " + slot + " migrating " + id_of(target)).find("OK") != std::string::npos);
    auto set = client->CommandSync(key, {"SET", key, "asked"});
    REQUIRE(set.ok());
    CHECK_MESSAGE(set->str == "OK", set->str);
    CHECK(RawCommand(cluster.node(owner).port(), "GET " + key).rfind("-ASK", 0) == 0);  // not on the owner
    auto get = client->CommandSync(key, {"GET", key});
    REQUIRE(get.ok());
    CHECK_MESSAGE(get->str == "asked", get->str);

    // Pub/sub: subscribed on one node, published through another.
    std::atomic<int> got{0};
    client->Subscribe("cluster-changes", [&](std::string_view p) { if (p == "hello") ++got; }, [] {});
    REQUIRE(PollUntil(
        [&] {
          (void)client->CommandSync("zzz", {"PUBLISH", "cluster-changes", "hello"});
          return got.load() >= 1;
        },
        20s));
  }
}

TEST_SUITE("live") {
  TEST_CASE("Cluster: a master killed: its keys fail with Unavailable; restarted: the client recovers by itself") {
    if (!HaveRedis()) {
      MESSAGE(kSkipMessage);
      return;
    }
    RedisCluster cluster;
    REQUIRE_MESSAGE(cluster.ok(), cluster.create_output());
    auto client = OpenOrNull(cluster.url(), 1000ms);
    REQUIRE(client);
    // A key on node 0 (the one whose GET is not a MOVED).
    std::string key;
    for (int i = 0; key.empty() && i < 1000; ++i) {
      const std::string k = std::to_string(i) + ":key";
      if (RawCommand(cluster.node(0).port(), "GET " + k).rfind("-MOVED", 0) != 0) key = k;
    }
    REQUIRE_FALSE(key.empty());
    REQUIRE(client->CommandSync(key, {"SET", key, "1"}).ok());

    cluster.node(0).Kill();
    REQUIRE(PollUntil(
        [&] {
          auto r = client->CommandSync(key, {"GET", key});
          return !r.ok() && r.status().code() == dsx::Code::kUnavailable;
        },
        30s));
    CHECK(PollUntil([&] { return !client->Healthy(); }, 10s));

    REQUIRE(cluster.node(0).Restart());  // same port and folder: nodes.conf brings it back into the cluster
    REQUIRE(PollUntil(
        [&] {
          auto r = client->CommandSync(key, {"SET", key, "2"});
          return r.ok() && !r->is_error();
        },
        60s));
    CHECK(client->CommandSync(key, {"GET", key})->str == "2");
    CHECK(PollUntil([&] { return client->Healthy(); }, 10s));
  }
}
