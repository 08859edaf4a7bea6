// The client against a scripted server (fake_redis.hpp): what a command that did not run and a
// command whose outcome is unknown become.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "fake_redis.hpp"
#include "live_helpers.hpp"

using namespace std::chrono_literals;
using dsx::Code;
using dsx::Result;
using namespace dsx::redis;
using namespace dsx::redis::test;

namespace {

const std::string kOk = "+OK\r\n";
const std::string kReadonly = "-READONLY You can't write against a read only replica.\r\n";

std::string Common(const std::vector<std::string>& c) {
  if (c[0] == "ROLE") return FakeRedis::MasterRole();
  if (c[0] == "PING") return "+PONG\r\n";
  return {};
}

Options SentinelOptions(int sentinel_port, std::chrono::milliseconds command_timeout = 3000ms) {
  Options o;
  o.mode = Options::Mode::kSentinel;
  o.endpoints = {{"127.0.0.1", static_cast<std::uint16_t>(sentinel_port)}};
  o.master_name = "m";
  o.command_timeout = command_timeout;
  return o;
}

Options SingleOptions(int port, std::chrono::milliseconds command_timeout = 3000ms) {
  Options o;
  o.endpoints = {{"127.0.0.1", static_cast<std::uint16_t>(port)}};
  o.command_timeout = command_timeout;
  return o;
}

}  // namespace

TEST_CASE("Sentinel: READONLY did not run the command: it is re-sent to the new primary, once") {
  std::atomic<int> primary{0};
  FakeRedis next([](const std::vector<std::string>& c) {
    auto common = Common(c);
    return common.empty() ? kOk : common;
  });
  FakeRedis old([&](const std::vector<std::string>& c) {
    auto common = Common(c);
    if (!common.empty()) return common;
    primary = next.port();  // demoted: the sentinels now name the other server
    return kReadonly;
  });
  primary = old.port();
  FakeRedis sentinel([&](const std::vector<std::string>& c) {
    return c[0] == "SENTINEL" ? FakeRedis::SentinelAnswer(primary.load()) : std::string("-ERR unknown\r\n");
  });
  auto client = Client::Open(SentinelOptions(sentinel.port()));
  REQUIRE_MESSAGE(client.ok(), client.status().message());
  auto r = (*client)->CommandSync("k", {"SET", "k", "v"});
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->str == "OK");
  CHECK(old.Count("SET") == 1);
  CHECK(next.Count("SET") == 1);
}

TEST_CASE("Sentinel: READONLY until the command timeout is Unavailable, not an error reply") {
  FakeRedis stuck([](const std::vector<std::string>& c) {
    auto common = Common(c);
    return common.empty() ? kReadonly : common;
  });
  FakeRedis sentinel([&](const std::vector<std::string>& c) {
    return c[0] == "SENTINEL" ? FakeRedis::SentinelAnswer(stuck.port()) : std::string("-ERR unknown\r\n");
  });
  auto client = Client::Open(SentinelOptions(sentinel.port(), 500ms));
  REQUIRE(client.ok());
  auto r = (*client)->CommandSync("k", {"SET", "k", "v"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK_MESSAGE(r.status().message().find("READONLY") != std::string::npos, r.status().message());
}

TEST_CASE("A connection lost after the command arrived: Unavailable, and never sent again") {
  for (bool sentinel_mode : {false, true}) {
    CAPTURE(sentinel_mode);
    std::atomic<bool> dropped{false};
    FakeRedis server([&](const std::vector<std::string>& c) {
      auto common = Common(c);
      if (!common.empty()) return common;
      if (c[0] == "INCR" && !dropped.exchange(true)) return FakeRedis::kClose;
      return c[0] == "INCR" ? std::string(":1\r\n") : kOk;
    });
    FakeRedis sentinel([&](const std::vector<std::string>& c) {
      return c[0] == "SENTINEL" ? FakeRedis::SentinelAnswer(server.port()) : std::string("-ERR unknown\r\n");
    });
    auto client = Client::Open(sentinel_mode ? SentinelOptions(sentinel.port()) : SingleOptions(server.port()));
    REQUIRE(client.ok());
    auto r = (*client)->CommandSync("k", {"INCR", "k"});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUnavailable);
    CHECK_MESSAGE(r.status().message().find("may have run") != std::string::npos, r.status().message());
    // The client reconnects by itself; the INCR was not re-sent meanwhile (order on one connection).
    REQUIRE(PollUntil([&] { return (*client)->CommandSync("k", {"SET", "k", "x"}).ok(); }, 20s));
    CHECK(server.Count("INCR") == 1);
    CHECK(server.connections() >= 2);
  }
}

TEST_CASE("A pipeline cut in the middle: replies before the cut stand, the rest fail; nothing is sent twice") {
  std::atomic<int> seen{0};
  FakeRedis server([&](const std::vector<std::string>& c) {
    auto common = Common(c);
    if (!common.empty()) return common;
    if (++seen == 50) return FakeRedis::kClose;
    return kOk;
  });
  auto client = Client::Open(SingleOptions(server.port()));
  REQUIRE(client.ok());
  constexpr int kCount = 200;
  std::mutex mu;
  std::vector<int> order;
  std::vector<bool> ok(kCount);
  for (int i = 0; i < kCount; ++i) {
    (*client)->Command("k", {"SET", std::to_string(i), "v"}, [&, i](Result<Reply> r) {
      std::lock_guard<std::mutex> l(mu);
      order.push_back(i);
      ok[i] = r.ok();
      if (!r.ok()) CHECK(r.status().code() == Code::kUnavailable);
    });
  }
  REQUIRE(PollUntil([&] { std::lock_guard<std::mutex> l(mu); return order.size() == kCount; }, 30s));
  std::lock_guard<std::mutex> l(mu);
  for (int i = 0; i < kCount; ++i) CHECK(order[i] == i);  // callbacks in submission order
  for (int i = 0; i < 49; ++i) CHECK(ok[i]);
  CHECK_FALSE(ok[49]);
  std::set<std::string> keys;
  int sets = 0;
  for (const auto& c : server.received()) {
    if (c[0] != "SET") continue;
    ++sets;
    keys.insert(c[1]);
  }
  CHECK(sets == static_cast<int>(keys.size()));  // no key sent twice
}

TEST_CASE("LOADING: Unavailable on a single server") {
  FakeRedis loading([](const std::vector<std::string>& c) {
    auto common = Common(c);
    return common.empty() ? std::string("-LOADING Redis is loading the dataset in memory\r\n") : common;
  });
  auto client = Client::Open(SingleOptions(loading.port()));
  REQUIRE(client.ok());
  auto r = (*client)->CommandSync("k", {"GET", "k"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message().find("LOADING") != std::string::npos);
}
